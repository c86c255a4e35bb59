import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { isDatabaseUnavailable } from '../db/errors.js';
import { AppError, type ErrorDetail, errors } from '../shared/errors.js';
import { logRequestCompleted } from '../shared/logger.js';
import { MAX_ERROR_DETAILS } from '../shared/schemas.js';
import { setSecurityHeaders } from './security-headers.js';

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

const LOCATION: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

const DETAIL_TYPE: Record<string, string> = {
  required: 'missing',
  additionalProperties: 'extra_forbidden',
  minLength: 'string_too_short',
  maxLength: 'string_too_long',
  pattern: 'string_pattern_mismatch',
  format: 'value_error',
  type: 'type_error',
  minimum: 'greater_than_equal',
  maximum: 'less_than_equal',
  exclusiveMinimum: 'greater_than',
  exclusiveMaximum: 'less_than',
  enum: 'enum',
  const: 'literal_error',
};

function decodePointer(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** Ajv's errors in the FastAPI shape: one entry per failing field, with where it is and why. */
export function toValidationDetails(validation: AjvError[], context: string | undefined): ErrorDetail[] {
  const root = LOCATION[context ?? 'body'] ?? context ?? 'body';
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const e of validation) {
    const loc: (string | number)[] = [root, ...decodePointer(e.instancePath)];
    let msg = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      loc.push(String(e.params.missingProperty));
      msg = 'Field required';
    } else if (e.keyword === 'additionalProperties') {
      loc.push(String(e.params.additionalProperty));
      msg = 'Extra inputs are not permitted';
    } else if (e.keyword === 'format' && e.params.format === 'email') {
      msg = 'value is not a valid email address';
    }
    const key = `${loc.join('.')}|${e.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (details.length === MAX_ERROR_DETAILS) break;
    details.push({ loc, msg, type: DETAIL_TYPE[e.keyword] ?? e.keyword });
  }
  return details;
}

/** What the request adds to some messages: the configured body limit, the Content-Type it sent. */
export interface ErrorContext {
  bodyLimit?: number;
  contentType?: string | undefined;
}

/** Maps anything thrown in a request to the one AppError the envelope is built from. */
export function toAppError(error: FastifyError | Error, context: ErrorContext = {}): AppError {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError & { validation?: AjvError[] };
  if (fe.validation) return errors.validation(toValidationDetails(fe.validation, fe.validationContext));
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(context.bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(context.contentType);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.validation([{ loc: ['body'], msg: 'Request body is empty', type: 'missing' }]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.validation([{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }]);
  }
  if (error instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return errors.validation([{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }]);
  }
  if (fe.statusCode === 429) return errors.rateLimited(60);
  if (isDatabaseUnavailable(error)) return errors.serviceUnavailable('The database is unavailable, try again later');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (bad URL encoding, ...): their messages are safe and useful.
    return new AppError('BadRequestError', 'request.bad_request', fe.message);
  }
  return errors.internal();
}

function send(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  reply.code(error.statusCode).headers(error.headers);
  reply.type('application/json; charset=utf-8');
  return reply.send({
    error: {
      type: error.type,
      code: error.code,
      message: error.message,
      request_id: request.id,
      ...(error.details ? { details: error.details } : {}),
    },
  });
}

/**
 * Fastify's `frameworkErrors`: the router's own failures (a malformed percent-encoding, an over-long path
 * parameter) are answered before any hook runs, so this handler gives them what the hooks give every other
 * response: the envelope, the request id, the security headers and the request's log line.
 */
export function createFrameworkErrorHandler(apiPrefix: string) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const path = request.url.split('?', 1)[0] ?? '/';
    let appError: AppError;
    if (error.code === 'FST_ERR_BAD_URL') {
      appError = new AppError('BadRequestError', 'request.bad_url', 'The URL is not correctly percent-encoded');
    } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      // Longer than any id or name a route takes: nothing can be found there.
      appError = errors.routeNotFound(request.method, path);
    } else {
      request.log.error({ err: error }, 'unhandled error');
      appError = errors.internal();
    }
    reply.raw.once('finish', () => logRequestCompleted(request, reply));
    reply.header('x-request-id', request.id);
    setSecurityHeaders(reply, request.url, apiPrefix);
    reply.header('x-process-time', (reply.elapsedTime / 1000).toFixed(4));
    send(request, reply, appError);
  };
}

/**
 * Fastify's `clientErrorHandler`: errors Node's HTTP parser raises before there is a request (headers over the
 * size limit, a request not received in time, garbage) still get the envelope, a request id and the security
 * headers, written straight to the socket, which is then closed.
 */
export function createClientErrorHandler(logger: FastifyBaseLogger) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    let appError: AppError;
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      appError = new AppError(
        'RequestHeaderFieldsTooLargeError',
        'request.headers_too_large',
        'Request headers are too large',
      );
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      appError = new AppError('RequestTimeoutError', 'request.timeout', 'The request was not received in time');
    } else {
      appError = new AppError('BadRequestError', 'request.malformed', 'Malformed HTTP request');
    }
    const requestId = randomUUID();
    logger.info({ request_id: requestId, code: error.code, status: appError.statusCode }, 'client error');
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({
      error: { type: appError.type, code: appError.code, message: appError.message, request_id: requestId },
    });
    const head = [
      `HTTP/1.1 ${appError.statusCode} ${STATUS_CODES[appError.statusCode]}`,
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(body)}`,
      `x-request-id: ${requestId}`,
      'x-content-type-options: nosniff',
      'x-frame-options: DENY',
      'referrer-policy: strict-origin-when-cross-origin',
      'cache-control: no-store',
      'x-process-time: 0.0000',
      'connection: close',
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  };
}

/**
 * The one place errors become responses: every non-2xx answer is the contract's envelope. Unknown paths
 * answer 404 and known paths with the wrong method 405, for which a router of every registered route
 * is kept (Fastify itself answers 404 for both).
 */
export const errorsPlugin = fp<{ bodyLimit: number }>(
  async (app, { bodyLimit }) => {
    const known = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true });
    const methods = new Set<HTTPMethod>();
    app.addHook('onRoute', (route) => {
      // Catch-all routes (CORS preflight's `OPTIONS *`) would make every unknown path look known.
      if (route.url.includes('*')) return;
      for (const method of [route.method].flat() as HTTPMethod[]) {
        methods.add(method);
        try {
          known.on(method, route.url, () => {});
        } catch {
          // Already known (Fastify registers a route once per trailing-slash variant).
        }
      }
    });

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const appError = toAppError(error, {
        bodyLimit: request.routeOptions.bodyLimit ?? bodyLimit,
        contentType: request.headers['content-type'],
      });
      if (appError.statusCode >= 500) {
        request.log.error({ err: error }, appError.statusCode === 503 ? 'dependency unavailable' : 'unhandled error');
      }
      return send(request, reply, appError);
    });

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?', 1)[0] ?? '/';
      const allow = [...methods].filter((m) => m !== request.method && known.find(m, path) !== null);
      if (allow.length > 0) return send(request, reply, errors.methodNotAllowed(request.method, allow.sort()));
      return send(request, reply, errors.routeNotFound(request.method, path));
    });
  },
  { name: 'errors', fastify: '5.x' },
);
