import { AppError } from '../../shared/errors.js';

export const usersErrors = {
  notFound: () => new AppError('NotFoundError', 'users.not_found', 'User not found'),
  emailTaken: () => new AppError('ConflictError', 'users.email_taken', 'User with this email already exists'),
  usernameTaken: () => new AppError('ConflictError', 'users.username_taken', 'User with this username already exists'),
  cannotDeleteSelf: () => new AppError('BadRequestError', 'users.cannot_delete_self', 'Cannot delete your own account'),
  cannotDemoteSelf: () =>
    new AppError('BadRequestError', 'users.cannot_demote_self', 'Cannot remove your own superuser status'),
  cannotDeactivateSelf: () =>
    new AppError('BadRequestError', 'users.cannot_deactivate_self', 'Cannot deactivate your own account'),
  currentPasswordRequired: () =>
    new AppError(
      'ValidationError',
      'users.current_password_required',
      'current_password is required to change the password',
      {
        details: [{ loc: ['body', 'current_password'], msg: 'Field required to change the password', type: 'missing' }],
      },
    ),
  skipWithAfterId: () =>
    new AppError('ValidationError', 'users.skip_with_after_id', 'Use either skip or after_id, not both', {
      details: [{ loc: ['query', 'skip'], msg: 'Not allowed together with after_id', type: 'value_error' }],
    }),
  /** A table this service does not own refers to the user without an ON DELETE rule (user_favorites). */
  referenced: (table: string) =>
    new AppError(
      'ConflictError',
      'users.referenced',
      `User cannot be deleted: other records refer to it${table ? ` (${table})` : ''}; remove them or deactivate the user instead`,
    ),
  currentPasswordIncorrect: () =>
    new AppError('BadRequestError', 'users.current_password_incorrect', 'Current password is incorrect'),
};
