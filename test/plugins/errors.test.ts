import { describe, expect, it } from 'vitest';
import { toAppError } from '../../src/plugins/errors.js';
import { AppError } from '../../src/shared/errors.js';
import { expectError, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

describe('the error envelope', () => {
  it('answers an unknown route with 404', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(expectError(response, 404, 'NotFoundError').code).toBe('route.not_found');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const response = await ctx.app.inject({ method: 'PATCH', url: '/api/v1/users/me' });
    expect(expectError(response, 405, 'MethodNotAllowedError').code).toBe('route.method_not_allowed');
    // DELETE is allowed through /users/{user_id}, which "me" also matches (then fails its integer rule).
    expect(response.headers.allow).toBe('DELETE, GET, HEAD, PUT');
    expect((await ctx.app.inject({ method: 'PATCH', url: '/health/' })).statusCode).toBe(405);
  });

  it('answers a 2 MiB body with 413', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: JSON.stringify({ email: 'a@example.com', username: 'big', password: 'x'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(expectError(response, 413, 'PayloadTooLargeError').message).toContain('1048576');
  });

  it('answers a text/plain body with 415, and a form outside the auth routes too', async () => {
    const text = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expectError(text, 415, 'UnsupportedMediaTypeError');
    const { headers } = await ctx.signIn();
    const form = await ctx.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      payload: 'first_name=x',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(form, 415, 'UnsupportedMediaTypeError');
  });

  it('answers malformed JSON with 422', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: '{"username": ',
      headers: { 'content-type': 'application/json' },
    });
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { type: string }[] };
    expect(error.details[0]?.type).toBe('json_invalid');
  });

  it('lists every failing field in a 422, with where it is', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'nope', username: 'a b', password: 'short' },
    });
    const error = expectError(response, 422, 'ValidationError') as unknown as {
      details: { loc: string[]; msg: string; type: string }[];
    };
    expect(error.details.map((d) => d.loc)).toEqual([
      ['body', 'email'],
      ['body', 'username'],
      ['body', 'password'],
    ]);
    expect(error.details[0]).toEqual({
      loc: ['body', 'email'],
      msg: 'value is not a valid email address',
      type: 'value_error',
    });
  });

  it('reports a missing field as missing', async () => {
    const response = await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'x' } });
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: unknown[] };
    expect(error.details).toEqual([{ loc: ['body', 'password'], msg: 'Field required', type: 'missing' }]);
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
  it('answers 500 with the envelope, logs it at error level, and leaks nothing', async () => {
    // A route of a test app that fails the way a bug would.
    const { buildApp } = await import('../../src/app.js');
    const { createLogger } = await import('../../src/shared/logger.js');
    const { LogCapture, testConfig } = await import('../helpers/test-app.js');
    const logs = new LogCapture();
    const app = await buildApp({
      config: testConfig(),
      database: ctx.database.handle,
      logger: createLogger({ level: 'info' }, logs),
    });
    app.get('/boom', async () => {
      throw new Error('SELECT secret FROM internals failed');
    });
    const response = await app.inject({ method: 'GET', url: '/boom' });
    await app.close();
    expect(expectError(response, 500, 'InternalServerError').message).toBe('Internal server error');
    expect(response.body).not.toContain('SELECT');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(logs.lines.some((l) => l.level === 'error' && JSON.stringify(l).includes('SELECT secret'))).toBe(true);
  });
});
