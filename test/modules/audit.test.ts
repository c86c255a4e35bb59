import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

const list = (query: string, authorization: string) =>
  ctx.app.inject({ method: 'GET', url: `/api/v1/audit-events${query}`, headers: { authorization } });

describe('audit rows', () => {
  it('records logins, failures, updates and deletions with who, where and which request', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const user = await ctx.signIn();
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: user.user.username, password: 'wrong-password' },
      headers: { 'user-agent': 'curl/8', 'x-request-id': 'req-failed-login' },
    });
    await ctx.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${user.user.id}`,
      headers: admin.headers,
      payload: { first_name: 'Renamed', password: 'set-by-admin-1' },
    });
    await ctx.app.inject({ method: 'DELETE', url: `/api/v1/users/${user.user.id}`, headers: admin.headers });

    const rows = await ctx.database.query<{
      event: string;
      actor_user_id: number | null;
      subject_user_id: number | null;
      ip: string | null;
      user_agent: string | null;
      request_id: string | null;
      details: Record<string, unknown>;
    }>(
      'SELECT event, actor_user_id, subject_user_id, ip, user_agent, request_id, details FROM audit_events ORDER BY id',
    );
    const byEvent = (event: string) => rows.filter((r) => r.event === event);

    expect(byEvent('user.created')).toHaveLength(2);
    expect(byEvent('auth.login.succeeded')).toHaveLength(2);
    expect(byEvent('auth.login.failed')).toEqual([
      {
        event: 'auth.login.failed',
        actor_user_id: null,
        subject_user_id: user.user.id,
        ip: '127.0.0.1',
        user_agent: 'curl/8',
        request_id: 'req-failed-login',
        details: { reason: 'wrong_password' },
      },
    ]);
    expect(byEvent('user.updated')[0]).toMatchObject({
      actor_user_id: admin.user.id,
      subject_user_id: user.user.id,
      details: { fields: ['first_name'] },
    });
    expect(byEvent('user.password.changed')[0]).toMatchObject({ actor_user_id: admin.user.id });
    expect(byEvent('user.deleted')[0]).toMatchObject({ actor_user_id: admin.user.id, subject_user_id: user.user.id });

    // Never a secret, whatever the event.
    const everything = JSON.stringify(rows);
    for (const secret of [user.user.password, 'wrong-password', 'set-by-admin-1', user.token, user.refreshToken]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('records an unknown login without a subject', async () => {
    await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'ghost', password: 'x' } });
    const rows = await ctx.database.query('SELECT subject_user_id, details FROM audit_events');
    expect(rows).toEqual([{ subject_user_id: null, details: { reason: 'unknown_user' } }]);
  });
});

describe('GET /api/v1/audit-events', () => {
  it('lists newest first and pages with the before cursor', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    for (let i = 0; i < 4; i++) await ctx.createUser();
    const all = (await list('?limit=500', admin.headers.authorization)).json();
    const ids = all.map((e: { id: number }) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const first = await list('?limit=3', admin.headers.authorization);
    expect(first.json()).toHaveLength(3);
    const cursor = first.headers['x-next-before-id'];
    expect(cursor).toBe(String(ids[2]));
    const second = await list(`?limit=3&before=${cursor}`, admin.headers.authorization);
    expect(second.json().map((e: { id: number }) => e.id)).toEqual(ids.slice(3, 6));

    const last = await list(`?limit=500&before=${ids[ids.length - 2]}`, admin.headers.authorization);
    expect(last.json()).toHaveLength(1);
    expect(last.headers['x-next-before-id']).toBeUndefined();
  });

  it('filters by user, event and time', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const user = await ctx.signIn();
    const auth = admin.headers.authorization;

    const mine = (await list(`?user_id=${user.user.id}`, auth)).json();
    expect(mine.length).toBeGreaterThan(0);
    for (const e of mine) expect([e.subject_user_id, e.actor_user_id]).toContain(user.user.id);

    const logins = (await list('?event=auth.login.succeeded', auth)).json();
    expect(logins.map((e: { subject_user_id: number }) => e.subject_user_id).sort()).toEqual(
      [admin.user.id, user.user.id].sort(),
    );

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await list(`?since=${encodeURIComponent(future)}`, auth)).json()).toEqual([]);
    const total = (await list('?limit=500', auth)).json().length;
    expect((await list(`?until=${encodeURIComponent(future)}`, auth)).json()).toHaveLength(total);
    expect((await list(`?until=${encodeURIComponent('2020-01-01T00:00:00Z')}`, auth)).json()).toEqual([]);
  });

  it('answers 403 to a normal user and 422 to a bad query', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const user = await ctx.signIn();
    expectError(await list('', user.headers.authorization), 403, 'AuthorizationError');
    for (const query of ['?limit=0', '?limit=501', '?before=abc', '?since=yesterday', '?user_id=0']) {
      expectError(await list(query, admin.headers.authorization), 422, 'ValidationError');
    }
  });
});

describe('GET /api/v1/users/me/audit-events', () => {
  it("shows a user their own history, not anyone else's", async () => {
    await ctx.signIn();
    const user = await ctx.signIn();
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/me/audit-events',
      headers: user.headers,
    });
    expect(response.statusCode).toBe(200);
    const events = response.json();
    expect(events.map((e: { event: string }) => e.event)).toEqual(
      expect.arrayContaining(['user.created', 'auth.login.succeeded']),
    );
    for (const e of events) expect(e.subject_user_id).toBe(user.user.id);
  });
});
