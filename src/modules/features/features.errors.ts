import { AppError } from '../../shared/errors.js';

export const featuresErrors = {
  /** Every unknown key is named, as a 422 names every failing field. */
  unknownKeys: (keys: string[], allowed: string[]) =>
    new AppError('ValidationError', 'features.unknown_key', `Unknown feature: ${keys.join(', ')}`, {
      details: keys.map((key) => ({
        loc: ['body', 'features', key],
        msg: `Not a feature of this service; allowed: ${allowed.join(', ')}`,
        type: 'value_error',
      })),
    }),
};
