import { AppError } from '../../shared/errors.js';

export const metricsErrors = {
  invalidToken: () =>
    new AppError('AuthenticationError', 'metrics.invalid_token', 'A valid metrics token is required', {
      headers: { 'www-authenticate': 'Bearer' },
    }),
  /** A worker could not gather the other workers' figures in time (cluster mode). */
  unavailable: (cause: unknown) =>
    new AppError('ServiceUnavailableError', 'metrics.unavailable', 'Metrics are unavailable, try again later', {
      headers: { 'retry-after': '1' },
      cause,
    }),
};
