import { AppError, type ErrorDetail } from '../../shared/errors.js';

export const consentsErrors = {
  /** The versions the client showed are not the current ones: it must fetch and show them again. */
  versionMismatch: (details: ErrorDetail[]) =>
    new AppError(
      'ValidationError',
      'consent.version_mismatch',
      'Submitted document version does not match the current one',
      { details },
    ),
};
