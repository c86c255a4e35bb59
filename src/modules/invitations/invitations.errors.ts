import { AppError } from '../../shared/errors.js';

/** The FastAPI service's messages, which its front end shows as they are. */
export const INVALID_TOKEN_MESSAGE = 'Invalid invitation token';
export const USED_TOKEN_MESSAGE = 'This invitation has already been used';
export const EXPIRED_TOKEN_MESSAGE = 'This invitation has expired';

export const invitationsErrors = {
  notFound: () => new AppError('NotFoundError', 'invitations.not_found', 'Invitation not found'),
  /** Inviting (or resending, revoking) an admin hands out admin rights: superusers only. */
  adminRoleForbidden: () =>
    new AppError('AuthorizationError', 'invitations.admin_role_forbidden', 'Only a superuser can invite an admin'),
  userExists: () => new AppError('ConflictError', 'invitations.user_exists', 'A user with this email already exists'),
  alreadyPending: () =>
    new AppError('ConflictError', 'invitations.already_pending', 'A valid invitation already exists for this email'),
  alreadyUsed: (action: 'resend' | 'revoke') =>
    new AppError('ConflictError', 'invitations.already_used', `Cannot ${action} a used invitation`),
  alreadyRevoked: (action: 'resend' | 'revoke') =>
    new AppError(
      'ConflictError',
      'invitations.already_revoked',
      action === 'revoke'
        ? 'Invitation is already revoked'
        : 'Cannot resend a revoked invitation; invite the address again',
    ),
  /** Unknown and revoked links answer alike: a revoked link is simply no longer one. */
  invalidToken: () => new AppError('BadRequestError', 'invitations.invalid_token', INVALID_TOKEN_MESSAGE),
  tokenUsed: () => new AppError('BadRequestError', 'invitations.token_used', USED_TOKEN_MESSAGE),
  tokenExpired: () => new AppError('BadRequestError', 'invitations.token_expired', EXPIRED_TOKEN_MESSAGE),
};
