import { AppError } from '../../shared/errors.js';

export const authErrors = {
  invalidCredentials: () =>
    new AppError('AuthenticationError', 'auth.invalid_credentials', 'Incorrect username or password', {
      headers: { 'www-authenticate': 'Bearer' },
    }),
  inactiveUser: () => new AppError('AuthorizationError', 'auth.inactive_user', 'Inactive user'),
};
