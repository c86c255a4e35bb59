import { AppError } from '../../shared/errors.js';

export const adminErrors = {
  /** Admins manage clients; only a superuser manages admins and superusers. */
  targetOutranks: () =>
    new AppError(
      'AuthorizationError',
      'admin.insufficient_privileges',
      'Only a superuser can manage admins and superusers',
    ),
  alreadyApproved: () => new AppError('ConflictError', 'admin.already_approved', 'User is already approved'),
  /** Reject removes an application; an approved account is deactivated or deleted instead. */
  notPending: () => new AppError('ConflictError', 'admin.not_pending', 'Cannot reject an already approved user'),
  alreadyInactive: () => new AppError('ConflictError', 'admin.already_inactive', 'User is already deactivated'),
  alreadyActive: () => new AppError('ConflictError', 'admin.already_active', 'User is already active'),
  cannotDeactivateSelf: () =>
    new AppError('BadRequestError', 'admin.cannot_deactivate_self', 'Cannot deactivate your own account'),
};
