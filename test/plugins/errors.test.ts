import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { toAppError } from '../../src/plugins/errors.js';
import { AppError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import { expectError, LogCapture, testConfig, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

interface Detail {
  loc: (string | number)[];
  msg: string;
  type: string;
}
const detailsOf = (error: object) => (error as { details: Detail[] }).details;

describe('an unknown route', () => {
  it('answers 404 NotFoundError with the envelope and the request id of the response', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/nothing-here',
      headers: { 'x-request-id': 'client-trace-404' },
    });
    const error = expectError(response, 404, 'NotFoundError');
    expect(error).toEqual({
      type: 'NotFoundError',
      code: 'route.not_found',
      message: 'Route GET /api/v1/nothing-here not found',
      request_id: 'client-trace-404',
    });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('answers 404 outside the API prefix too', async () => {
    expectError(await ctx.app.inject({ method: 'POST', url: '/nothing/here' }), 404, 'NotFoundError');
  });
});

describe('a known path with a method it does not take', () => {
  it('answers 405 MethodNotAllowedError with Allow listing the methods the path takes', async () => {
    const response = await ctx.app.inject({ method: 'DELETE', url: '/api/v1/auth/login' });
    expect(expectError(response, 405, 'MethodNotAllowedError').code).toBe('route.method_not_allowed');
    expect(response.headers.allow).toBe('POST');
  });

  it('answers PATCH /health with 405 and Allow: GET, HEAD, with or without a trailing slash', async () => {
    for (const url of ['/health', '/health/']) {
      const response = await ctx.app.inject({ method: 'PATCH', url });
      expectError(response, 405, 'MethodNotAllowedError');
      expect(response.headers.allow).toBe('GET, HEAD');
    }
  });

  it('answers PATCH /api/v1/users/me with 405, listing what /users/me and /users/{user_id} take', async () => {
    const response = await ctx.app.inject({ method: 'PATCH', url: '/api/v1/users/me' });
    expectError(response, 405, 'MethodNotAllowedError');
    // "me" also matches /users/{user_id}, which takes DELETE (and then fails its integer rule).
    expect(response.headers.allow).toBe('DELETE, GET, HEAD, PUT');
  });
});

describe('a request body the API cannot take', () => {
  it('answers a 2 MiB JSON body with 413 PayloadTooLargeError', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: JSON.stringify({ email: 'a@example.com', username: 'big', password: 'x'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    const error = expectError(response, 413, 'PayloadTooLargeError');
    expect(error.code).toBe('request.payload_too_large');
    // The /auth routes take at most 64 KiB (the rest of the API 1 MiB: test/security/resource-limits.test.ts).
    expect(error.message).toBe('Request body is larger than 65536 bytes');
  });

  it('answers a text/plain body on a JSON route with 415 UnsupportedMediaTypeError', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    const error = expectError(response, 415, 'UnsupportedMediaTypeError');
    expect(error.code).toBe('request.unsupported_media_type');
    expect(error.message).toContain('text/plain');
  });

  it('answers a form on PUT /api/v1/users/me with 415, since only the auth routes take forms', async () => {
    const { user, headers } = await ctx.signIn();
    const form = await ctx.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      payload: 'first_name=Mallory',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(form, 415, 'UnsupportedMediaTypeError');
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: new URLSearchParams({ username: user.username, password: user.password }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(login.statusCode).toBe(200);
  });

  it('answers malformed JSON with 422 ValidationError, located at the body', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: '{"username": ',
      headers: { 'content-type': 'application/json' },
    });
    const error = expectError(response, 422, 'ValidationError');
    expect(error.code).toBe('request.validation_failed');
    expect(detailsOf(error)).toEqual([{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }]);
  });

  it('answers an empty JSON body with 422', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
    });
    expect(detailsOf(expectError(response, 422, 'ValidationError'))).toEqual([
      { loc: ['body'], msg: 'Request body is empty', type: 'missing' },
    ]);
  });
});

describe('a request that fails its schema', () => {
  it('lists every failing field in one 422, each with where it is', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'nope', username: 'a b', password: 'short' },
    });
    const details = detailsOf(expectError(response, 422, 'ValidationError'));
    expect(details).toHaveLength(3);
    expect(details.map((d) => d.loc)).toEqual([
      ['body', 'email'],
      ['body', 'username'],
      ['body', 'password'],
    ]);
    expect(details[0]).toEqual({
      loc: ['body', 'email'],
      msg: 'value is not a valid email address',
      type: 'value_error',
    });
    expect(details[2]).toMatchObject({ loc: ['body', 'password'], type: 'string_too_short' });
  });

  it('reports a missing field as missing', async () => {
    const response = await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'x' } });
    expect(detailsOf(expectError(response, 422, 'ValidationError'))).toEqual([
      { loc: ['body', 'password'], msg: 'Field required', type: 'missing' },
    ]);
  });

  it('locates query string and path parameter failures at query and path', async () => {
    const { headers } = await ctx.signIn({ is_superuser: true });
    const list = await ctx.app.inject({ method: 'GET', url: '/api/v1/users?skip=-1&limit=0', headers });
    expect(
      detailsOf(expectError(list, 422, 'ValidationError'))
        .map((d) => d.loc)
        .sort(),
    ).toEqual([
      ['query', 'limit'],
      ['query', 'skip'],
    ]);
    const one = await ctx.app.inject({ method: 'GET', url: '/api/v1/users/abc', headers });
    expect(detailsOf(expectError(one, 422, 'ValidationError')).map((d) => d.loc)).toEqual([['path', 'user_id']]);
  });
});

describe('a URL the router cannot read', () => {
  it('answers a malformed percent-encoding with 400 in the envelope, with the usual headers', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/%E0%A4%A',
      headers: { 'x-request-id': 'bad-url-1' },
    });
    expect(expectError(response, 400, 'BadRequestError')).toMatchObject({
      code: 'request.bad_url',
      request_id: 'bad-url-1',
    });
    expect(response.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'strict-origin-when-cross-origin',
      'cache-control': 'no-store',
    });
    expect(response.headers['x-process-time']).toMatch(/^\d+\.\d{4}$/);
    expect(ctx.logs.lines).toEqual([
      expect.objectContaining({ msg: 'request completed', request_id: 'bad-url-1', status_code: 400 }),
    ]);
  });

  it('answers a path parameter longer than any id with 404 in the envelope', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: `/api/v1/users/${'9'.repeat(200)}` });
    expectError(response, 404, 'NotFoundError');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });
});

describe('toAppError', () => {
  it('hides an unexpected error behind a generic 500, without its text', () => {
    const error = toAppError(new Error('relation "users" does not exist at character 15'));
    expect(error).toMatchObject({ statusCode: 500, type: 'InternalServerError', message: 'Internal server error' });
  });

  it('turns a lost database connection into 503', () => {
    const error = toAppError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    expect(error).toMatchObject({ statusCode: 503, type: 'ServiceUnavailableError' });
    expect(error.message).not.toContain('127.0.0.1');
  });

  it('looks for the driver error inside a wrapped one', () => {
    const wrapped = Object.assign(new Error('Failed query'), { cause: { code: '57P01', message: 'terminating' } });
    expect(toAppError(wrapped).statusCode).toBe(503);
  });

  it('passes AppErrors through', () => {
    const original = new AppError('ConflictError', 'users.email_taken', 'taken');
    expect(toAppError(original)).toBe(original);
  });
});

describe('an unexpected error in a route', () => {
  const logs = new LogCapture();
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp({
      config: testConfig(),
      database: ctx.database.handle,
      logger: createLogger({ level: 'info' }, logs),
    });
    // A route of this test app only, failing the way a bug in a query would.
    app.get('/api/v1/boom', async () => {
      throw Object.assign(new Error('syntax error at or near "SELEC" in SELECT secret FROM internals'), {
        code: '42601',
      });
    });
  });
  afterAll(() => app?.close());

  it('answers 500 InternalServerError with a generic message and nothing of the error', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/boom', headers: { 'x-request-id': 'boom-1' } });
    const error = expectError(response, 500, 'InternalServerError');
    expect(response.json()).toEqual({
      error: {
        type: 'InternalServerError',
        code: 'internal_error',
        message: 'Internal server error',
        request_id: 'boom-1',
      },
    });
    expect(error.message).toBe('Internal server error');
    for (const leak of ['SELECT', 'internals', '42601', 'stack', 'errors.test.ts', '    at ']) {
      expect(response.body).not.toContain(leak);
    }
    expect(response.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
  });

  it('logs the error, with its text, at error level for the operator', async () => {
    logs.clear();
    await app.inject({ method: 'GET', url: '/api/v1/boom', headers: { 'x-request-id': 'boom-2' } });
    const errorLines = logs.lines.filter((line) => line.level === 'error');
    expect(errorLines.length).toBeGreaterThan(0);
    expect(errorLines.some((line) => JSON.stringify(line).includes('SELECT secret FROM internals'))).toBe(true);
    expect(logs.lines.find((line) => line.msg === 'request completed')).toMatchObject({
      level: 'error',
      status_code: 500,
      request_id: 'boom-2',
    });
    for (const line of logs.lines) expect(line.request_id).toBe('boom-2');
  });
});
