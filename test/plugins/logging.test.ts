import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { serializeError } from '../../src/shared/logger.js';
import { useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

const completedLines = () => ctx.logs.lines.filter((line) => line.msg === 'request completed');

describe('request logging', () => {
  it('writes exactly one line for a request, with what an operator needs', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-1' } });
    expect(response.statusCode).toBe(200);
    expect(ctx.logs.lines).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'request completed',
        request_id: 'trace-1',
        method: 'GET',
        url: '/health',
        status_code: 200,
        duration_ms: expect.any(Number),
      }),
    ]);
  });

  it('writes one "request completed" line per request, whatever its status', async () => {
    const requests = [
      { method: 'GET', url: '/' },
      { method: 'GET', url: '/api/v1/users/me' },
      { method: 'GET', url: '/api/v1/unknown' },
      { method: 'PATCH', url: '/health' },
      { method: 'POST', url: '/api/v1/auth/login', payload: { username: 'x' } },
      { method: 'POST', url: '/api/v1/auth/login', payload: { username: 'nobody', password: 'wrong-password' } },
    ] as const;
    const ids: string[] = [];
    const statuses: number[] = [];
    for (const request of requests) {
      const response = await ctx.app.inject(request);
      ids.push(String(response.headers['x-request-id']));
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([200, 401, 404, 405, 422, 401]);
    expect(completedLines().map((line) => [line.request_id, line.method, line.url, line.status_code])).toEqual(
      requests.map((request, i) => [ids[i], request.method, request.url, statuses[i]]),
    );
  });

  it('puts the request id of the response on every line a request writes, and the user id on its line', async () => {
    const { user, headers } = await ctx.signIn();
    ctx.logs.clear();
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers });
    expect(response.statusCode).toBe(200);
    const id = response.headers['x-request-id'];
    expect(ctx.logs.lines.length).toBeGreaterThan(0);
    for (const line of ctx.logs.lines) expect(line.request_id).toBe(id);
    expect(completedLines()).toEqual([expect.objectContaining({ user_id: user.id, status_code: 200 })]);
  });

  it('never writes a password, a token or the Authorization header', async () => {
    const password = 'very-secret-password-123';
    const wrong = 'wrong-but-still-secret';
    const register = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'quiet@example.com', username: 'quiet', password },
    });
    expect(register.statusCode).toBe(201);
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'quiet', password },
    });
    expect(login.statusCode).toBe(200);
    const { access_token: token, refresh_token: refresh } = login.json();
    const formLogin = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: new URLSearchParams({ grant_type: 'password', username: 'quiet', password }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(formLogin.statusCode).toBe(200);
    const authorization = `Bearer ${token}`;
    await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization } });
    await ctx.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers: { authorization },
      payload: { password: 'another-secret-pass-456', current_password: wrong },
    });
    await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: refresh } });
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'quiet', password: wrong },
    });
    await ctx.app.services.settle();

    expect(ctx.logs.lines.length).toBeGreaterThanOrEqual(7);
    const secrets = [
      password,
      wrong,
      'another-secret-pass-456',
      token,
      refresh,
      formLogin.json().access_token,
      authorization,
      'Bearer',
    ];
    for (const raw of ctx.logs.raw) {
      for (const secret of secrets) expect(raw).not.toContain(secret);
      expect(raw).not.toContain('$argon2');
    }
  });
});

describe('serializeError', () => {
  it('keeps the query and the driver reason of a failed query, but not its parameters', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const error = new DrizzleQueryError(
      'insert into "users" ("email", "hashed_password") values ($1, $2)',
      ['someone@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'],
      cause,
    );
    const serialized = serializeError(error) as Record<string, unknown>;
    const text = JSON.stringify(serialized);
    expect(text).not.toContain('$argon2id');
    expect(text).not.toContain('someone@example.com');
    expect(serialized.message).toContain('insert into "users"');
    expect(serialized.message).toContain('ECONNREFUSED');
    expect(serialized.stack).toContain('params: [redacted]');
  });

  it('leaves other errors as pino writes them', () => {
    const serialized = serializeError(Object.assign(new Error('boom'), { code: 'E_BOOM' })) as Record<string, unknown>;
    expect(serialized).toMatchObject({ type: 'Error', message: 'boom', code: 'E_BOOM' });
  });
});
