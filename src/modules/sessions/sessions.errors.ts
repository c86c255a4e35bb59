import { AppError } from '../../shared/errors.js';

const unauthenticated = (code: string, message: string) =>
  new AppError('AuthenticationError', code, message, { headers: { 'www-authenticate': 'Bearer' } });

export const sessionsErrors = {
  notFound: () => new AppError('NotFoundError', 'sessions.not_found', 'Session not found'),
  /** One message for unknown, expired and revoked tokens: the caller learns only that it must log in. */
  invalidRefreshToken: () => unauthenticated('auth.invalid_refresh_token', 'Invalid or expired refresh token'),
  refreshTokenReused: () =>
    unauthenticated('auth.refresh_token_reused', 'Refresh token was already used; the session has been revoked'),
};
