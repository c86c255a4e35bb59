import { describe, expect, it } from 'vitest';
import { expectError, expectSignedOut, USER_FIELDS, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp(
  { REGISTRATION_MODE: 'approval', CLIENT_PORTAL_URL: 'https://portal.example.com', PROJECT_NAME: 'EnergyExe' },
  { smtp: true },
);

type Headers = { authorization: string };
const get = (url: string, headers: Headers) => ctx.app.inject({ method: 'GET', url: `/api/v1/admin${url}`, headers });
const post = (url: string, headers: Headers, payload?: object) =>
  ctx.app.inject({ method: 'POST', url: `/api/v1/admin${url}`, headers, ...(payload ? { payload } : {}) });
const keysOf = (body: object) => Object.keys(body).sort();
const adminSignIn = () => ctx.signIn({ role: 'admin' });
const pendingClient = (input: { email?: string; first_name?: string } = {}) =>
  ctx.createUser({ ...input, approved: false, company_name: 'WindCo' });
const auditOf = (event: string) =>
  ctx.database.query<{ actor_user_id: number; subject_user_id: number; details: Record<string, unknown> }>(
    'SELECT actor_user_id, subject_user_id, details FROM audit_events WHERE event = $1 ORDER BY id',
    [event],
  );
const outboxTo = (address: string) =>
  ctx.database.query<{ subject: string; text_body: string; html_body: string }>(
    // Sign-ups get a verification email first: only what the admin actions send counts here.
    "SELECT subject, text_body, html_body FROM email_outbox WHERE to_address = $1 AND subject NOT LIKE '%confirm your email%' ORDER BY id",
    [address],
  );

describe('who may use the admin routes', () => {
  it('answers 401 without a token and 403 auth.admin_required to a client', async () => {
    const target = await pendingClient();
    expectError(
      await ctx.app.inject({ method: 'GET', url: '/api/v1/admin/users/pending' }),
      401,
      'AuthenticationError',
    );
    const client = await ctx.signIn();
    for (const response of [
      await get('/users/pending', client.headers),
      await post(`/users/${target.id}/approve`, client.headers),
      await get(`/users/${target.id}/features`, client.headers),
    ]) {
      expect(expectError(response, 403, 'AuthorizationError').code).toBe('auth.admin_required');
    }
  });

  it('lets an admin and a superuser (even one whose role is client) in', async () => {
    const admin = await adminSignIn();
    const superuser = await ctx.signIn({ is_superuser: true });
    expect((await get('/users/pending', admin.headers)).statusCode).toBe(200);
    expect((await get('/users/pending', superuser.headers)).statusCode).toBe(200);
  });

  it('answers an admin acting on an admin or a superuser with 403, and lets a superuser do it', async () => {
    const admin = await adminSignIn();
    const otherAdmin = await ctx.createUser({ role: 'admin' });
    const superuser = await ctx.signIn({ is_superuser: true });
    for (const url of [
      `/users/${otherAdmin.id}/deactivate`,
      `/users/${superuser.user.id}/deactivate`,
      `/users/${superuser.user.id}/reactivate`,
    ]) {
      expect(expectError(await post(url, admin.headers), 403, 'AuthorizationError').code).toBe(
        'admin.insufficient_privileges',
      );
    }
    expectError(await get(`/users/${otherAdmin.id}/features`, admin.headers), 403, 'AuthorizationError');
    // Nothing changed: the superuser still works.
    expect(
      (await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: superuser.headers })).statusCode,
    ).toBe(200);
    expect((await post(`/users/${otherAdmin.id}/deactivate`, superuser.headers)).statusCode).toBe(200);
  });

  it('answers 404 for an unknown user and 422 for a malformed id', async () => {
    const admin = await adminSignIn();
    expect(expectError(await post('/users/999999/approve', admin.headers), 404, 'NotFoundError').code).toBe(
      'users.not_found',
    );
    expectError(await post('/users/abc/approve', admin.headers), 422, 'ValidationError');
  });
});

describe('GET /api/v1/admin/users/pending', () => {
  it('lists clients waiting for approval, newest first, with email_verified, paginated with X-Total-Count', async () => {
    const admin = await adminSignIn();
    const first = await pendingClient({ email: 'first@example.com' });
    ctx.clock.advance(1000);
    const second = await pendingClient({ email: 'second@example.com' });
    await ctx.database.query("UPDATE users SET created_at = created_at + interval '1 minute' WHERE id = $1", [
      second.id,
    ]);
    await ctx.createUser({ approved: false, is_superuser: true });
    await ctx.createUser({ approved: false, role: 'admin' });
    await ctx.createUser();

    const response = await get('/users/pending', admin.headers);
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-total-count']).toBe('2');
    const body = response.json() as { id: number; email_verified: boolean }[];
    expect(body.map((u) => u.id)).toEqual([second.id, first.id]);
    expect(keysOf(body[0] as object)).toEqual(USER_FIELDS);
    expect(body[0]?.email_verified).toBe(false);

    const page = await get('/users/pending?skip=1&limit=1', admin.headers);
    expect(page.json().map((u: { id: number }) => u.id)).toEqual([first.id]);
    expect(page.headers['x-total-count']).toBe('2');
    expectError(await get('/users/pending?limit=0', admin.headers), 422, 'ValidationError');
  });
});

describe('POST /api/v1/admin/users/{id}/approve', () => {
  it('approves, records who and when, grants the default features, emails the user and audits it', async () => {
    const admin = await adminSignIn();
    const client = await pendingClient({ email: 'wait@example.com', first_name: 'Wanda' });
    expect(
      expectError(
        await ctx.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username: client.username, password: client.password },
        }),
        403,
        'AuthorizationError',
      ).code,
    ).toBe('auth.pending_approval');

    const response = await post(`/users/${client.id}/approve`, admin.headers);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: client.id, is_approved: true, approved_at: expect.any(String) });
    const [row] = await ctx.database.query('SELECT approved_by_id FROM users WHERE id = $1', [client.id]);
    expect(row).toEqual({ approved_by_id: admin.user.id });
    const features = await ctx.database.query(
      'SELECT feature_key, enabled FROM user_features WHERE user_id = $1 ORDER BY feature_key',
      [client.id],
    );
    expect(features).toHaveLength(4);
    expect(await auditOf('user.approved')).toEqual([
      expect.objectContaining({ actor_user_id: admin.user.id, subject_user_id: client.id }),
    ]);
    const mail = await ctx
      .mailbox()
      .waitFor((m) => JSON.stringify(m.to).includes('wait@example.com') && /approved/.test(m.subject ?? ''));
    expect(mail.text).toContain('https://portal.example.com/login');

    // Now they can sign in.
    expect(await ctx.login(client.username, client.password)).toEqual(expect.any(String));
  });

  it('answers 409 admin.already_approved for an approved user, and sends nothing', async () => {
    const admin = await adminSignIn();
    const client = await ctx.createUser({ email: 'done@example.com' });
    expect(expectError(await post(`/users/${client.id}/approve`, admin.headers), 409, 'ConflictError').code).toBe(
      'admin.already_approved',
    );
    expect(await outboxTo('done@example.com')).toEqual([]);
  });

  it('of two approvals at once, one succeeds and the other answers 409', async () => {
    const admin = await adminSignIn();
    const client = await pendingClient();
    const results = await Promise.all([
      post(`/users/${client.id}/approve`, admin.headers),
      post(`/users/${client.id}/approve`, admin.headers),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect(await auditOf('user.approved')).toHaveLength(1);
  });

  it('answers 200 with everything committed even when the SMTP server is down (the email waits in the outbox)', async () => {
    const admin = await adminSignIn();
    const client = await pendingClient({ email: 'later@example.com' });
    ctx.mailbox().failNext(100);
    const response = await post(`/users/${client.id}/approve`, admin.headers);
    expect(response.statusCode).toBe(200);
    expect((await outboxTo('later@example.com')).map((m) => m.subject)).toEqual([
      'EnergyExe: your account is approved',
    ]);
    const [row] = await ctx.database.query('SELECT is_approved FROM users WHERE id = $1', [client.id]);
    expect(row).toEqual({ is_approved: true });
    ctx.mailbox().failNext(0);
  });
});

describe('POST /api/v1/admin/users/{id}/reject', () => {
  it('emails the reason (escaped), deletes the account and audits it with the actor', async () => {
    const admin = await adminSignIn();
    const client = await pendingClient({ email: 'no@example.com', first_name: '<b>Eve</b>' });
    const response = await post(`/users/${client.id}/reject`, admin.headers, { reason: 'Unknown company <script>' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ message: 'User application rejected' });
    expect(await ctx.database.query('SELECT id FROM users WHERE id = $1', [client.id])).toEqual([]);
    const [mail] = await outboxTo('no@example.com');
    expect(mail?.text_body).toContain('Reason: Unknown company <script>');
    expect(mail?.html_body).toContain('Reason: Unknown company &lt;script&gt;');
    expect(mail?.html_body).toContain('&lt;b&gt;Eve&lt;/b&gt;');
    expect(mail?.html_body).not.toContain('<script>');
    expect(await auditOf('user.rejected')).toEqual([
      expect.objectContaining({
        actor_user_id: admin.user.id,
        subject_user_id: client.id,
        details: { email: 'no@example.com', reason: 'Unknown company <script>' },
      }),
    ]);
  });

  it('takes an empty body, or no body at all', async () => {
    const admin = await adminSignIn();
    const a = await pendingClient();
    const b = await pendingClient();
    expect((await post(`/users/${a.id}/reject`, admin.headers, {})).statusCode).toBe(200);
    expect((await post(`/users/${b.id}/reject`, admin.headers)).statusCode).toBe(200);
  });

  it('refuses an approved user with 409 before sending any email, and keeps the account', async () => {
    const admin = await adminSignIn();
    const client = await ctx.createUser({ email: 'kept@example.com' });
    expect(
      expectError(await post(`/users/${client.id}/reject`, admin.headers, { reason: 'x' }), 409, 'ConflictError').code,
    ).toBe('admin.not_pending');
    expect(await outboxTo('kept@example.com')).toEqual([]);
    expect(await ctx.database.query('SELECT id FROM users WHERE id = $1', [client.id])).toHaveLength(1);
  });

  it('refuses with 409 users.referenced a user a foreign table still refers to: no email, nothing deleted', async () => {
    // A table this service does not own, referring to users without ON DELETE (as user_favorites does).
    await ctx.database.query(
      'CREATE TABLE IF NOT EXISTS test_favorites (id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id))',
    );
    const admin = await adminSignIn();
    const client = await pendingClient({ email: 'fan@example.com' });
    await ctx.database.query('INSERT INTO test_favorites (user_id) VALUES ($1)', [client.id]);
    const response = await post(`/users/${client.id}/reject`, admin.headers, { reason: 'x' });
    const error = expectError(response, 409, 'ConflictError');
    expect(error.code).toBe('users.referenced');
    expect(error.message).toContain('test_favorites');
    expect(await outboxTo('fan@example.com')).toEqual([]);
    expect(await ctx.database.query('SELECT id FROM users WHERE id = $1', [client.id])).toHaveLength(1);
    expect(await auditOf('user.rejected')).toEqual([]);
    await ctx.database.query('DROP TABLE test_favorites');
  });

  it('refuses a body with unknown keys with 422', async () => {
    const admin = await adminSignIn();
    const client = await pendingClient();
    expectError(
      await post(`/users/${client.id}/reject`, admin.headers, { reason: 'x', approved: false }),
      422,
      'ValidationError',
    );
  });
});

describe('POST /api/v1/admin/users/{id}/deactivate and /reactivate', () => {
  it('ends every session of the user at once, audits it, and reactivation lets them sign in again', async () => {
    const admin = await adminSignIn();
    const client = await ctx.signIn({ email: 'gone@example.com' });
    const response = await post(`/users/${client.user.id}/deactivate`, admin.headers);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ is_active: false });
    await expectSignedOut(ctx.app, client);
    expect(await auditOf('user.deactivated')).toEqual([
      expect.objectContaining({
        actor_user_id: admin.user.id,
        subject_user_id: client.user.id,
        details: { revoked: 1 },
      }),
    ]);
    expect(
      expectError(await post(`/users/${client.user.id}/deactivate`, admin.headers), 409, 'ConflictError').code,
    ).toBe('admin.already_inactive');

    const back = await post(`/users/${client.user.id}/reactivate`, admin.headers);
    expect(back.json()).toMatchObject({ is_active: true });
    expect(await auditOf('user.reactivated')).toHaveLength(1);
    expect(await ctx.login(client.user.username, client.user.password)).toEqual(expect.any(String));
    expect(
      expectError(await post(`/users/${client.user.id}/reactivate`, admin.headers), 409, 'ConflictError').code,
    ).toBe('admin.already_active');
  });

  it('refuses to deactivate yourself with 400', async () => {
    const admin = await adminSignIn();
    expect(
      expectError(await post(`/users/${admin.user.id}/deactivate`, admin.headers), 400, 'BadRequestError').code,
    ).toBe('admin.cannot_deactivate_self');
  });
});
