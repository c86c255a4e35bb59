export interface ErrorDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export type ErrorType =
  | 'ValidationError'
  | 'BadRequestError'
  | 'AuthenticationError'
  | 'AuthorizationError'
  | 'NotFoundError'
  | 'MethodNotAllowedError'
  | 'ConflictError'
  | 'PayloadTooLargeError'
  | 'UnsupportedMediaTypeError'
  | 'InvalidHostError'
  | 'RateLimitError'
  | 'ServiceUnavailableError'
  | 'InternalServerError';

const STATUS: Record<ErrorType, number> = {
  ValidationError: 422,
  BadRequestError: 400,
  AuthenticationError: 401,
  AuthorizationError: 403,
  NotFoundError: 404,
  MethodNotAllowedError: 405,
  ConflictError: 409,
  PayloadTooLargeError: 413,
  UnsupportedMediaTypeError: 415,
  InvalidHostError: 400,
  RateLimitError: 429,
  ServiceUnavailableError: 503,
  InternalServerError: 500,
};

/**
 * The one error class of the service. `code` is stable (`module.snake_case`) so clients can branch on it;
 * `message` is for humans. The error handler turns it into the contract's envelope.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly statusCode: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.statusCode = STATUS[type];
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  readonly details: ErrorDetail[] | undefined;
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

/** Factories for the errors the cross-cutting layers raise; modules keep theirs in `<module>.errors.ts`. */
export const errors = {
  validation: (details: ErrorDetail[], message = 'Request validation failed') =>
    new AppError('ValidationError', 'request.validation_failed', message, { details }),
  unauthenticated: (message = 'Could not validate credentials', code = 'auth.invalid_token') =>
    new AppError('AuthenticationError', code, message, { headers: { 'www-authenticate': 'Bearer' } }),
  forbidden: (message = 'Not enough permissions', code = 'auth.forbidden') =>
    new AppError('AuthorizationError', code, message),
  routeNotFound: (method: string, url: string) =>
    new AppError('NotFoundError', 'route.not_found', `Route ${method} ${url} not found`),
  methodNotAllowed: (method: string, allow: string[]) =>
    new AppError('MethodNotAllowedError', 'route.method_not_allowed', `Method ${method} not allowed`, {
      headers: { allow: allow.join(', ') },
    }),
  payloadTooLarge: (limit?: number) =>
    new AppError(
      'PayloadTooLargeError',
      'request.payload_too_large',
      limit === undefined ? 'Request body is too large' : `Request body is larger than ${limit} bytes`,
    ),
  unsupportedMediaType: (contentType: string | undefined) =>
    new AppError(
      'UnsupportedMediaTypeError',
      'request.unsupported_media_type',
      `Unsupported Content-Type ${JSON.stringify(contentType ?? '')}; use application/json`,
    ),
  invalidHost: () => new AppError('InvalidHostError', 'request.invalid_host', 'Invalid host header'),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError('RateLimitError', 'request.rate_limited', 'Too many requests, try again later', {
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  serviceUnavailable: (message = 'A dependency is unavailable, try again later', cause?: unknown) =>
    new AppError('ServiceUnavailableError', 'service.unavailable', message, { cause }),
  /** Load shedding: past the event-loop or memory threshold, better a quick retry elsewhere than a queue. */
  overloaded: (retryAfterSeconds: number) =>
    new AppError('ServiceUnavailableError', 'service.overloaded', 'The service is overloaded, try again later', {
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  /** Not serving yet (migrations pending) or any more (the process is shutting down). */
  notServing: (message: string, retryAfterSeconds: number) =>
    new AppError('ServiceUnavailableError', 'service.unavailable', message, {
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  internal: () => new AppError('InternalServerError', 'internal_error', 'Internal server error'),
};
