import { AppError } from '../../shared/errors.js';

export const authErrors = {
  invalidCredentials: () =>
    new AppError('AuthenticationError', 'auth.invalid_credentials', 'Incorrect username or password', {
      headers: { 'www-authenticate': 'Bearer' },
    }),
  /**
   * An account with too many recent failures: the same answer whatever the password and whether the account
   * exists, so it tells neither.
   */
  loginThrottled: (retryAfterSeconds: number) =>
    new AppError('RateLimitError', 'auth.login_throttled', 'Too many failed login attempts, try again later', {
      headers: { 'retry-after': String(retryAfterSeconds) },
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
