import { AppError } from '../../shared/errors.js';

export const authErrors = {
  invalidCredentials: () =>
    new AppError('AuthenticationError', 'auth.invalid_credentials', 'Incorrect username or password', {
      headers: { 'www-authenticate': 'Bearer' },
    }),
  inactiveUser: () => new AppError('AuthorizationError', 'auth.inactive_user', 'Inactive user'),
  pendingApproval: () =>
    new AppError(
      'AuthorizationError',
      'auth.pending_approval',
      "Your account is awaiting admin approval. You'll receive an email once your account is approved.",
    ),
  registrationClosed: () =>
    new AppError('AuthorizationError', 'auth.registration_closed', 'Registration is by invitation only'),
  emailNotVerified: () => new AppError('AuthorizationError', 'auth.email_not_verified', 'Email not verified'),
  /** One answer for unknown, used and expired links: nothing to learn by probing. */
  invalidOneTimeToken: () => new AppError('BadRequestError', 'auth.invalid_one_time_token', 'Invalid or expired token'),
};
