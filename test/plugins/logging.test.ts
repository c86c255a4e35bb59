import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

describe('request logging', () => {
  it('writes one line per request, with what an operator needs', async () => {
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

  it('puts the request id on every line a request writes, and the user id on its request line', async () => {
    const { user, headers } = await ctx.signIn();
    ctx.logs.clear();
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers });
    const id = response.headers['x-request-id'];
    expect(ctx.logs.lines.length).toBeGreaterThan(0);
    for (const line of ctx.logs.lines) expect(line.request_id).toBe(id);
    expect(ctx.logs.lines.at(-1)).toMatchObject({ user_id: user.id, status_code: 200 });
  });

  it('never writes a password, a token or the Authorization header', async () => {
    const password = 'very-secret-password-123';
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'quiet@example.com', username: 'quiet', password },
    });
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'quiet', password },
    });
    const { access_token: token, refresh_token: refresh } = login.json();
    await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${token}` } });
    await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: refresh } });
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'quiet', password: 'wrong-but-still-secret' },
    });
    const everything = ctx.logs.raw.join('\n');
    expect(ctx.logs.lines.length).toBeGreaterThanOrEqual(5);
    for (const secret of [password, 'wrong-but-still-secret', token, refresh, 'Bearer']) {
      expect(everything).not.toContain(secret);
    }
  });
});
