import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();
const DAY = 86_400_000;

const refresh = (refresh_token: string) =>
  ctx.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token } });
const me = (authorization: string) =>
  ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization } });
const bearer = (token: string) => `Bearer ${token}`;
const events = async (event: string) =>
  ctx.database.query<{ subject_user_id: number; details: Record<string, unknown> }>(
    'SELECT subject_user_id, details FROM audit_events WHERE event = $1 ORDER BY id',
    [event],
  );

describe('login', () => {
  it('returns a refresh token beside the access token, and stores only its hash', async () => {
    const { user, refreshToken } = await ctx.signIn();
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/); // at least 256 bits, URL-safe
    const stored = await ctx.database.query<{ token_hash: string }>('SELECT token_hash FROM refresh_tokens');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.token_hash).not.toContain(refreshToken);
    const sessions = await ctx.database.query<{ user_id: number }>('SELECT user_id FROM sessions');
    expect(sessions).toEqual([{ user_id: user.id }]);
  });

  it('creates a session through the OAuth2 token form too', async () => {
    const user = await ctx.createUser();
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: `grant_type=password&username=${user.username}&password=${encodeURIComponent(user.password)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().refresh_token).toEqual(expect.any(String));
  });

  it('puts the session id in the access token as sid, and the user id as sub', async () => {
    const { user, token } = await ctx.signIn();
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    const [session] = await ctx.database.query<{ id: string }>('SELECT id FROM sessions');
    expect(claims).toMatchObject({ sub: String(user.id), sid: session?.id });
    expect(claims.exp - claims.iat).toBe(30 * 60);
    expect(claims.jti).toEqual(expect.any(String));
  });
});

describe('POST /api/v1/auth/refresh', () => {
  it('rotates: a new access and refresh token, the old refresh token spent', async () => {
    const { refreshToken } = await ctx.signIn();
    const response = await refresh(refreshToken);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 1800 });
    expect(body.refresh_token).not.toBe(refreshToken);
    expect((await me(bearer(body.access_token))).statusCode).toBe(200);
    expect((await refresh(body.refresh_token)).statusCode).toBe(200);
  });

  it('when a rotated refresh token comes back, revokes the whole session and answers 401', async () => {
    const { user, refreshToken } = await ctx.signIn();
    const next = (await refresh(refreshToken)).json();

    const reuse = await refresh(refreshToken);
    expect(expectError(reuse, 401, 'AuthenticationError').code).toBe('auth.refresh_token_reused');
    expect(reuse.headers['www-authenticate']).toBe('Bearer');

    // The legitimate holder's newer tokens die with the family.
    expect((await refresh(next.refresh_token)).statusCode).toBe(401);
    expect((await me(bearer(next.access_token))).statusCode).toBe(401);
    expect(await events('auth.refresh.reused')).toEqual([expect.objectContaining({ subject_user_id: user.id })]);
  });

  it('lets exactly one of two parallel refreshes with the same token succeed', async () => {
    const { refreshToken } = await ctx.signIn();
    const results = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('answers 401 to an unknown refresh token', async () => {
    const response = await refresh('not-a-token-we-issued');
    expect(expectError(response, 401, 'AuthenticationError').code).toBe('auth.invalid_refresh_token');
  });

  it('answers 422 without a refresh token', async () => {
    expectError(
      await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: {} }),
      422,
      'ValidationError',
    );
  });

  it('refuses a refresh token older than REFRESH_TOKEN_EXPIRE_DAYS', async () => {
    const { refreshToken } = await ctx.signIn();
    ctx.clock.advance(14 * DAY + 1000);
    expectError(await refresh(refreshToken), 401, 'AuthenticationError');
  });

  it('keeps a session alive by refreshing, but never past SESSION_MAX_DAYS', async () => {
    let { refreshToken } = await ctx.signIn();
    for (let day = 10; day < 30; day += 10) {
      ctx.clock.advance(10 * DAY);
      const response = await refresh(refreshToken);
      expect(response.statusCode).toBe(200);
      refreshToken = response.json().refresh_token;
    }
    ctx.clock.advance(10 * DAY); // day 30: the session's absolute end
    expectError(await refresh(refreshToken), 401, 'AuthenticationError');
  });

  it('gives a deactivated user no new tokens', async () => {
    const { user, refreshToken } = await ctx.signIn();
    await ctx.database.query('UPDATE users SET is_active = false WHERE id = $1', [user.id]);
    expectError(await refresh(refreshToken), 401, 'AuthenticationError');
  });
});

describe('logout', () => {
  it('ends the current session on the very next request, and only that one', async () => {
    const { user, headers } = await ctx.signIn();
    const other = await ctx.login(user.username, user.password);

    const response = await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers });
    expect(response.statusCode).toBe(200);
    expectError(await me(headers.authorization), 401, 'AuthenticationError');
    expect((await me(bearer(other))).statusCode).toBe(200);
    expect(await events('auth.logout')).toHaveLength(1);
  });

  it('logout-all ends every session of the user', async () => {
    const { user, headers } = await ctx.signIn();
    const other = await ctx.login(user.username, user.password);
    const response = await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/logout-all', headers });
    expect(response.statusCode).toBe(200);
    expect((await me(headers.authorization)).statusCode).toBe(401);
    expect((await me(bearer(other))).statusCode).toBe(401);
  });

  it('needs a token', async () => {
    expectError(await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/logout' }), 401, 'AuthenticationError');
  });
});

describe('GET /api/v1/auth/sessions', () => {
  it('lists my active sessions, newest first, marking the current one', async () => {
    const { user, headers } = await ctx.signIn();
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: user.username, password: user.password },
      headers: { 'user-agent': 'second-device/1.0' },
    });
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers });
    expect(response.statusCode).toBe(200);
    const sessions = response.json();
    expect(sessions).toHaveLength(2);
    expect(Object.keys(sessions[0]).sort()).toEqual(
      ['created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent'].sort(),
    );
    expect(sessions[0]).toMatchObject({ user_agent: 'second-device/1.0', current: false, ip: '127.0.0.1' });
    expect(sessions[1]).toMatchObject({ current: true });
  });

  it("does not show other users' sessions", async () => {
    await ctx.signIn();
    const { headers } = await ctx.signIn();
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers });
    expect(response.json()).toHaveLength(1);
  });
});

describe('DELETE /api/v1/auth/sessions/{id}', () => {
  it('revokes one of my sessions', async () => {
    const { user, headers } = await ctx.signIn();
    const other = await ctx.login(user.username, user.password);
    const list = (await ctx.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers })).json();
    const target = list.find((s: { current: boolean }) => !s.current);
    const response = await ctx.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${target.id}`, headers });
    expect(response.statusCode).toBe(200);
    expect((await me(bearer(other))).statusCode).toBe(401);
    expect((await me(headers.authorization)).statusCode).toBe(200);
  });

  it("answers 404 for someone else's session, and leaves it alone", async () => {
    const victim = await ctx.signIn();
    const { headers } = await ctx.signIn();
    const [session] = await ctx.database.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [
      victim.user.id,
    ]);
    const response = await ctx.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${session?.id}`, headers });
    expectError(response, 404, 'NotFoundError');
    expect((await me(victim.headers.authorization)).statusCode).toBe(200);
  });

  it('answers 422 for an id that is not a UUID', async () => {
    const { headers } = await ctx.signIn();
    expectError(
      await ctx.app.inject({ method: 'DELETE', url: '/api/v1/auth/sessions/42', headers }),
      422,
      'ValidationError',
    );
  });
});

describe('sessions of a user, for a superuser', () => {
  it('lists and revokes them', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const target = await ctx.signIn();
    const list = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/users/${target.user.id}/sessions`,
      headers: admin.headers,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toHaveLength(1);

    const revoke = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${target.user.id}/sessions`,
      headers: admin.headers,
    });
    expect(revoke.json()).toEqual({ message: 'Sessions revoked', revoked: 1 });
    expect((await me(target.headers.authorization)).statusCode).toBe(401);
    expect(await events('user.sessions.revoked')).toEqual([
      expect.objectContaining({ subject_user_id: target.user.id, details: { revoked: 1 } }),
    ]);
  });

  it('is forbidden to a normal user, and 404 for an unknown user', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const user = await ctx.signIn();
    expectError(
      await ctx.app.inject({ method: 'GET', url: `/api/v1/users/${admin.user.id}/sessions`, headers: user.headers }),
      403,
      'AuthorizationError',
    );
    expectError(
      await ctx.app.inject({ method: 'DELETE', url: '/api/v1/users/999999/sessions', headers: admin.headers }),
      404,
      'NotFoundError',
    );
  });

  it('deactivating a user ends their sessions at once', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const target = await ctx.signIn();
    await ctx.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${target.user.id}`,
      headers: admin.headers,
      payload: { is_active: false },
    });
    const revoked = await ctx.database.query<{ revoked_reason: string }>(
      'SELECT revoked_reason FROM sessions WHERE user_id = $1',
      [target.user.id],
    );
    expect(revoked).toEqual([{ revoked_reason: 'user_deactivated' }]);
  });

  it('deleting a user deletes their sessions', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const target = await ctx.signIn();
    await ctx.app.inject({ method: 'DELETE', url: `/api/v1/users/${target.user.id}`, headers: admin.headers });
    expect(await ctx.database.query('SELECT id FROM sessions WHERE user_id = $1', [target.user.id])).toEqual([]);
    expectError(await me(target.headers.authorization), 401, 'AuthenticationError');
  });
});

describe('POST /api/v1/users/me/password', () => {
  it('changes the password, keeps the current session and ends every other one', async () => {
    const { user, headers } = await ctx.signIn();
    const other = await ctx.login(user.username, user.password);
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      headers,
      payload: { current_password: user.password, new_password: 'a-brand-new-password' },
    });
    expect(response.statusCode).toBe(200);
    expect((await me(headers.authorization)).statusCode).toBe(200);
    expect((await me(bearer(other))).statusCode).toBe(401);
    expect((await ctx.loginPair(user.username, 'a-brand-new-password')).access_token).toEqual(expect.any(String));
    expect(await events('user.password.changed')).toHaveLength(1);
  });

  it('answers 400, not 401, to a wrong current password', async () => {
    const { headers } = await ctx.signIn();
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      headers,
      payload: { current_password: 'not-my-password', new_password: 'a-brand-new-password' },
    });
    expect(expectError(response, 400, 'BadRequestError').message).toBe('Current password is incorrect');
  });

  it('answers 422 to a new password that is too short', async () => {
    const { user, headers } = await ctx.signIn();
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      headers,
      payload: { current_password: user.password, new_password: 'short' },
    });
    expectError(response, 422, 'ValidationError');
  });
});

describe('a password set by a superuser', () => {
  it("ends every session of the user, but not the superuser's own when it is their own account", async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const target = await ctx.signIn();
    const put = (id: number) =>
      ctx.app.inject({
        method: 'PUT',
        url: `/api/v1/users/${id}`,
        headers: admin.headers,
        payload: { password: 'set-by-the-admin-1' },
      });
    expect((await put(target.user.id)).statusCode).toBe(200);
    expect((await me(target.headers.authorization)).statusCode).toBe(401);
    expect((await put(admin.user.id)).statusCode).toBe(200);
    expect((await me(admin.headers.authorization)).statusCode).toBe(200);
  });
});
