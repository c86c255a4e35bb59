import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { invitationEmail } from '../../src/modules/invitations/invitations.email.js';
import { createLogTransport } from '../../src/modules/mail/mail.transport.js';
import { createLogger } from '../../src/shared/logger.js';
import { CURRENT_USER_FIELDS, expectError, LogCapture, useTestApp } from '../helpers/test-app.js';

// invite_only: accounts come from invitations, and accepting one works whatever the sign-up mode.
const ctx = useTestApp(
  { REGISTRATION_MODE: 'invite_only', CLIENT_PORTAL_URL: 'https://portal.example.com', PROJECT_NAME: 'EnergyExe' },
  { smtp: true },
);

const DAY = 86_400_000;
const INVITATION_FIELDS = [
  'created_at',
  'email',
  'expires_at',
  'id',
  'invited_by_id',
  'invited_by_name',
  'is_expired',
  'is_used',
  'is_valid',
  'revoked_at',
  'role',
  'status',
  'used_at',
];

type Headers = { authorization: string };
const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, headers?: Headers, payload?: object) =>
  ctx.app.inject({
    method,
    url: `/api/v1/admin/invitations${url}`,
    ...(headers ? { headers } : {}),
    ...(payload ? { payload } : {}),
  });
const invite = (headers: Headers, payload: object) => admin('POST', '', headers, payload);
const check = (token: string) => ctx.app.inject({ method: 'GET', url: `/api/v1/auth/invitation/${token}` });
let accepted = 0;
const accept = (token: string, payload: object = {}) => {
  accepted += 1;
  return ctx.app.inject({
    method: 'POST',
    url: `/api/v1/auth/invitation/${token}/accept`,
    payload: {
      first_name: 'Nina',
      last_name: 'New',
      password: `a-long-password-${accepted}`,
      company_name: 'WindCo',
      ...payload,
    },
  });
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const auditOf = (event: string) =>
  ctx.database.query<{ actor_user_id: number | null; subject_user_id: number | null; details: object }>(
    'SELECT actor_user_id, subject_user_id, details FROM audit_events WHERE event = $1 ORDER BY id',
    [event],
  );

/** The invitation emails delivered to `address` over SMTP, oldest first, with the token of their link. */
async function invitationsTo(address: string) {
  await ctx.app.services.settle();
  const to = address.toLowerCase();
  return ctx
    .mailbox()
    .messages.filter((m) => JSON.stringify(m.to).includes(to) && /invited/.test(m.subject ?? ''))
    .map((mail) => ({ mail, token: /\/invitation\/([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1] ?? '' }));
}
async function tokenFor(address: string): Promise<string> {
  const token = (await invitationsTo(address)).at(-1)?.token;
  if (!token) throw new Error(`no invitation email to ${address}`);
  return token;
}

/** Access tokens expire with the test clock: after moving it days ahead, a user logs in again. */
const relogin = async (user: { username: string; password: string }) => ({
  authorization: `Bearer ${await ctx.login(user.username, user.password)}`,
});

/** An admin invites `email`; returns the invitation and the token of the link emailed. */
async function invited(email: string, headers?: Headers, role?: 'client' | 'admin') {
  const sender = headers ?? (await ctx.signIn({ role: 'admin' })).headers;
  const response = await invite(sender, { email, ...(role ? { role } : {}) });
  expect(response.statusCode).toBe(201);
  return { invitation: response.json() as { id: number }, token: await tokenFor(email), headers: sender };
}

describe('who may manage invitations', () => {
  it('answers 401 without a token and 403 auth.admin_required to a client, on every admin route', async () => {
    expectError(await admin('GET', ''), 401, 'AuthenticationError');
    const client = await ctx.signIn();
    for (const response of [
      await admin('GET', '', client.headers),
      await invite(client.headers, { email: 'x@example.com' }),
      await admin('POST', '/bulk', client.headers, { emails: ['x@example.com'] }),
      await admin('POST', '/1/resend', client.headers),
      await admin('DELETE', '/1', client.headers),
    ]) {
      expect(expectError(response, 403, 'AuthorizationError').code).toBe('auth.admin_required');
    }
    expect(await ctx.database.query('SELECT id FROM invitations')).toEqual([]);
  });

  it('lets an admin and a superuser (even one whose role is client) invite', async () => {
    const adminUser = await ctx.signIn({ role: 'admin' });
    const superuser = await ctx.signIn({ is_superuser: true });
    expect((await invite(adminUser.headers, { email: 'a@example.com' })).statusCode).toBe(201);
    expect((await invite(superuser.headers, { email: 'b@example.com' })).statusCode).toBe(201);
  });
});

describe('POST /api/v1/admin/invitations', () => {
  it('creates a client invitation, stores only the hash of its token (the FastAPI service kept it in plaintext), emails the link and audits it', async () => {
    const sender = await ctx.signIn({ role: 'admin', first_name: 'Ada', last_name: 'Admin' });
    const response = await invite(sender.headers, { email: '  New.Client@Example.COM ' });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(INVITATION_FIELDS);
    expect(body).toMatchObject({
      email: 'new.client@example.com',
      role: 'client',
      status: 'pending',
      invited_by_id: sender.user.id,
      invited_by_name: 'Ada Admin',
      used_at: null,
      revoked_at: null,
      is_expired: false,
      is_used: false,
      is_valid: true,
    });
    const lifetime = Date.parse(body.expires_at) - Date.parse(body.created_at);
    expect(lifetime).toBe(7 * DAY);

    const [{ mail, token } = { mail: undefined, token: '' }] = await invitationsTo('new.client@example.com');
    expect(mail?.subject).toBe("You've been invited to join EnergyExe by Ada Admin");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    expect(mail?.text).toContain(`https://portal.example.com/invitation/${token}`);
    expect(mail?.text).toContain('expires in 7 days');
    expect(mail?.html).toContain(`href="https://portal.example.com/invitation/${token}"`);

    const rows = await ctx.database.query<{ token_hash: string }>('SELECT token_hash FROM invitations');
    expect(rows).toEqual([{ token_hash: sha256(token) }]);
    const [{ n } = { n: -1 }] = await ctx.database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM invitations t WHERE t::text LIKE $1',
      [`%${token}%`],
    );
    expect(n).toBe(0);
    expect(await auditOf('invitation.created')).toEqual([
      {
        actor_user_id: sender.user.id,
        subject_user_id: null,
        details: { invitation_id: body.id, email: 'new.client@example.com', role: 'client' },
      },
    ]);
  });

  it('escapes every value of the email: an inviter named <b>Eve</b> & "co" is text, not markup', async () => {
    const sender = await ctx.signIn({ role: 'admin', first_name: '<b>Eve</b>', last_name: '& "co"' });
    await invite(sender.headers, { email: 'escaped@example.com' });
    const [{ mail } = { mail: undefined }] = await invitationsTo('escaped@example.com');
    expect(mail?.html).toContain('&lt;b&gt;Eve&lt;/b&gt; &amp; &quot;co&quot;');
    expect(mail?.html).not.toContain('<b>Eve');
    expect(mail?.text).toContain('<b>Eve</b> & "co" has invited you to EnergyExe.');
  });

  it('masks the link token when, in production without SMTP_HOST, the email goes to the log', async () => {
    const logs = new LogCapture();
    const token = 'a-secret-invitation-token-value';
    const mail = invitationEmail({
      to: 'x@example.com',
      inviterName: 'Ada',
      projectName: 'EnergyExe',
      link: `https://portal.example.com/invitation/${token}`,
      days: 7,
    });
    await createLogTransport(createLogger({ level: 'info' }, logs), true).send(mail);
    expect(logs.raw.join('\n')).not.toContain(token);
    expect(logs.raw.join('\n')).toContain('https://portal.example.com/invitation/[redacted]');
  });

  it('lets only a superuser invite an admin: 403 invitations.admin_role_forbidden for an admin, nothing sent', async () => {
    const adminUser = await ctx.signIn({ role: 'admin' });
    const response = await invite(adminUser.headers, { email: 'boss@example.com', role: 'admin' });
    expect(expectError(response, 403, 'AuthorizationError').code).toBe('invitations.admin_role_forbidden');
    expect(await ctx.database.query('SELECT id FROM invitations')).toEqual([]);
    expect(await invitationsTo('boss@example.com')).toEqual([]);

    const superuser = await ctx.signIn({ is_superuser: true });
    const ok = await invite(superuser.headers, { email: 'boss@example.com', role: 'admin' });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().role).toBe('admin');
    const created = await accept(await tokenFor('boss@example.com'));
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ role: 'admin', is_superuser: false, is_approved: true });
  });

  it('answers 409 for an address with an account (in any case) or a pending invitation', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    await ctx.createUser({ email: 'taken@example.com' });
    const taken = await invite(sender.headers, { email: 'TAKEN@example.com' });
    expect(expectError(taken, 409, 'ConflictError')).toMatchObject({
      code: 'invitations.user_exists',
      message: 'A user with this email already exists',
    });
    expect((await invite(sender.headers, { email: 'once@example.com' })).statusCode).toBe(201);
    const again = await invite(sender.headers, { email: 'Once@Example.com' });
    expect(expectError(again, 409, 'ConflictError')).toMatchObject({
      code: 'invitations.already_pending',
      message: 'A valid invitation already exists for this email',
    });
    expect(await ctx.database.query('SELECT email FROM invitations')).toEqual([{ email: 'once@example.com' }]);
  });

  it('invites an address again once its invitation expired or was revoked (the FastAPI service answered 500)', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    const first = await invited('again@example.com', sender.headers);
    const { invitation } = first;
    ctx.clock.advance(7 * DAY + 1000);
    const headers = await relogin(sender.user);
    // Each link is read as soon as it is delivered (the SMTP server may receive two queued emails in any order).
    const second = await invited('again@example.com', headers);
    expect((await admin('DELETE', `/${second.invitation.id}`, headers)).statusCode).toBe(200);
    const third = await invited('again@example.com', headers);
    const statuses = await admin('GET', '', headers);
    expect(statuses.json().map((i: { id: number; status: string }) => [i.id, i.status])).toEqual([
      [third.invitation.id, 'pending'],
      [second.invitation.id, 'revoked'],
      [invitation.id, 'expired'],
    ]);
    // Only the newest link works.
    expect(await invitationsTo('again@example.com')).toHaveLength(3);
    expect((await check(first.token)).json().message).toBe('This invitation has expired');
    expect((await check(second.token)).json().message).toBe('Invalid invitation token');
    expect((await check(third.token)).json()).toEqual({
      valid: true,
      email: 'again@example.com',
      message: null,
    });
  });

  it('of two invitations of one address at once, one is created and the other answers 409', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    const results = await Promise.all([
      invite(sender.headers, { email: 'race@example.com' }),
      invite(sender.headers, { email: 'race@example.com' }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    expect(await ctx.database.query('SELECT email FROM invitations')).toHaveLength(1);
  });

  it('answers 422 for a bad address, an unknown role or an unknown field, listing each', async () => {
    const sender = await ctx.signIn({ is_superuser: true });
    const response = await invite(sender.headers, { email: 'not-an-email', role: 'superuser', is_superuser: true });
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    const locs = error.details.map((d) => d.loc.join('.'));
    expect(locs).toEqual(expect.arrayContaining(['body.email', 'body.role', 'body.is_superuser']));
    expectError(await invite(sender.headers, {}), 422, 'ValidationError');
    expect(await ctx.database.query('SELECT id FROM invitations')).toEqual([]);
  });
});

describe('POST /api/v1/admin/invitations/bulk', () => {
  it('invites each address on its own and reports duplicates, accounts and pending invitations', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    await ctx.createUser({ email: 'member@example.com' });
    await invite(sender.headers, { email: 'pending@example.com' });
    const response = await admin('POST', '/bulk', sender.headers, {
      emails: ['one@example.com', 'member@example.com', 'Two@Example.com', 'ONE@example.com', 'pending@example.com'],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      successful: ['one@example.com', 'two@example.com'],
      failed: [
        {
          email: 'member@example.com',
          reason: 'A user with this email already exists',
          code: 'invitations.user_exists',
        },
        { email: 'one@example.com', reason: 'Duplicate email in the request', code: 'invitations.duplicate_email' },
        {
          email: 'pending@example.com',
          reason: 'A valid invitation already exists for this email',
          code: 'invitations.already_pending',
        },
      ],
      total_sent: 2,
      total_failed: 3,
    });
    const rows = await ctx.database.query<{ email: string; role: string }>(
      'SELECT email, role FROM invitations ORDER BY id',
    );
    expect(rows).toEqual([
      { email: 'pending@example.com', role: 'client' },
      { email: 'one@example.com', role: 'client' },
      { email: 'two@example.com', role: 'client' },
    ]);
    expect(await invitationsTo('one@example.com')).toHaveLength(1);
    expect(await invitationsTo('two@example.com')).toHaveLength(1);
    expect(await invitationsTo('member@example.com')).toHaveLength(0);
    expect(await auditOf('invitation.created')).toHaveLength(3);
  });

  it('answers 422 for an empty list, more than 100 addresses, or a malformed one (naming its index)', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    expectError(await admin('POST', '/bulk', sender.headers, { emails: [] }), 422, 'ValidationError');
    const many = Array.from({ length: 101 }, (_, i) => `u${i}@example.com`);
    expectError(await admin('POST', '/bulk', sender.headers, { emails: many }), 422, 'ValidationError');
    const bad = expectError(
      await admin('POST', '/bulk', sender.headers, { emails: ['ok@example.com', 'nope'] }),
      422,
      'ValidationError',
    ) as unknown as { details: { loc: (string | number)[] }[] };
    expect(bad.details.map((d) => d.loc)).toContainEqual(['body', 'emails', 1]);
    expect(await ctx.database.query('SELECT id FROM invitations')).toEqual([]);
  });

  it('takes 100 addresses in one request, and queues an invitation email to each', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    const emails = Array.from({ length: 100 }, (_, i) => `bulk${i}@example.com`);
    const response = await admin('POST', '/bulk', sender.headers, { emails });
    expect(response.json()).toMatchObject({ total_sent: 100, total_failed: 0 });
    const [row] = await ctx.database.query<{ n: number }>('SELECT count(*)::int AS n FROM invitations');
    expect(row?.n).toBe(100);
    const queued = await ctx.database.query<{ to_address: string }>(
      "SELECT to_address FROM email_outbox WHERE subject LIKE '%invited%'",
    );
    expect(queued.map((email) => email.to_address).sort()).toEqual([...emails].sort());
    // Their delivery is the outbox's (the tests above read delivered invitations): 100 SMTP deliveries would only
    // hold up the next test, which lets the outbox finish before it starts.
    await ctx.database.query("DELETE FROM email_outbox WHERE status = 'pending'");
  });
});

describe('GET /api/v1/admin/invitations', () => {
  it('lists newest first, paginated with X-Total-Count, filtered by status', async () => {
    const signedIn = await ctx.signIn({ role: 'admin' });
    const expired = await invited('expired@example.com', signedIn.headers);
    ctx.clock.advance(8 * DAY);
    const sender = { headers: await relogin(signedIn.user) };
    const used = await invited('used@example.com', sender.headers);
    expect((await accept(used.token)).statusCode).toBe(201);
    const revoked = await invited('revoked@example.com', sender.headers);
    await admin('DELETE', `/${revoked.invitation.id}`, sender.headers);
    ctx.clock.advance(1000);
    const pending = await invited('pending@example.com', sender.headers);

    const all = await admin('GET', '', sender.headers);
    expect(all.statusCode).toBe(200);
    expect(all.headers['x-total-count']).toBe('4');
    expect(all.json().map((i: { id: number }) => i.id)).toEqual([
      pending.invitation.id,
      revoked.invitation.id,
      used.invitation.id,
      expired.invitation.id,
    ]);
    for (const [status, id] of [
      ['pending', pending.invitation.id],
      ['used', used.invitation.id],
      ['expired', expired.invitation.id],
      ['revoked', revoked.invitation.id],
    ] as const) {
      const page = await admin('GET', `?status=${status}`, sender.headers);
      expect(page.headers['x-total-count']).toBe('1');
      const [item] = page.json();
      // The sender has no first or last name: their username stands in.
      expect(item).toMatchObject({
        id,
        status,
        is_valid: status === 'pending',
        invited_by_name: signedIn.user.username,
      });
    }
    const [usedItem] = (await admin('GET', '?status=used', sender.headers)).json();
    expect(usedItem).toMatchObject({ is_used: true, used_at: expect.any(String) });
    const [revokedItem] = (await admin('GET', '?status=revoked', sender.headers)).json();
    expect(revokedItem.revoked_at).toEqual(expect.any(String));

    const second = await admin('GET', '?skip=1&limit=1', sender.headers);
    expect(second.json().map((i: { id: number }) => i.id)).toEqual([revoked.invitation.id]);
    expect(second.headers['x-total-count']).toBe('4');
    expectError(await admin('GET', '?status=lost', sender.headers), 422, 'ValidationError');
    expectError(await admin('GET', '?limit=0', sender.headers), 422, 'ValidationError');
  });
});

describe('POST /api/v1/admin/invitations/{id}/resend', () => {
  it('sends a new link (the old one stops working) with a new expiry, keeps the original inviter (the FastAPI service showed the resender) and audits the resender', async () => {
    const first = await ctx.signIn({ role: 'admin', first_name: 'Ada' });
    const second = await ctx.signIn({ role: 'admin', first_name: 'Bob' });
    const { invitation, token: oldToken } = await invited('late@example.com', first.headers);
    ctx.clock.advance(3 * DAY);

    const response = await admin('POST', `/${invitation.id}/resend`, await relogin(second.user));
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ id: invitation.id, invited_by_id: first.user.id, invited_by_name: 'Ada' });
    expect(Date.parse(body.expires_at)).toBeGreaterThanOrEqual(ctx.clock.now().getTime() + 7 * DAY - 5000);

    const mails = await invitationsTo('late@example.com');
    expect(mails).toHaveLength(2);
    const newToken = mails[1]?.token as string;
    expect(newToken).not.toBe(oldToken);
    expect((await check(oldToken)).json()).toEqual({ valid: false, email: null, message: 'Invalid invitation token' });
    expect((await check(newToken)).json()).toMatchObject({ valid: true, email: 'late@example.com' });
    expect(mails[1]?.mail.subject).toBe("You've been invited to join EnergyExe by Ada");

    const [row] = await ctx.database.query('SELECT invited_by_id, token_hash FROM invitations WHERE id = $1', [
      invitation.id,
    ]);
    expect(row).toEqual({ invited_by_id: first.user.id, token_hash: sha256(newToken) });
    expect(await auditOf('invitation.resent')).toEqual([
      {
        actor_user_id: second.user.id,
        subject_user_id: null,
        details: { invitation_id: invitation.id, email: 'late@example.com', invited_by_id: first.user.id },
      },
    ]);
    // Still valid 6 days after the resend, 9 days after the first email.
    ctx.clock.advance(6 * DAY);
    expect((await accept(newToken)).statusCode).toBe(201);
  });

  it('revives an expired invitation', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    const { invitation } = await invited('revive@example.com', sender.headers);
    ctx.clock.advance(8 * DAY);
    const response = await admin('POST', `/${invitation.id}/resend`, await relogin(sender.user));
    expect(response.json()).toMatchObject({ status: 'pending', is_valid: true, is_expired: false });
    expect((await accept(await tokenFor('revive@example.com'))).statusCode).toBe(201);
  });

  it('answers 409 for a used or revoked invitation, 404 for an unknown one, 403 for an admin one to an admin', async () => {
    const sender = await ctx.signIn({ role: 'admin' });
    const used = await invited('u@example.com', sender.headers);
    await accept(used.token);
    expect(
      expectError(await admin('POST', `/${used.invitation.id}/resend`, sender.headers), 409, 'ConflictError'),
    ).toMatchObject({
      code: 'invitations.already_used',
      message: 'Cannot resend a used invitation',
    });
    const revoked = await invited('r@example.com', sender.headers);
    await admin('DELETE', `/${revoked.invitation.id}`, sender.headers);
    expect(
      expectError(await admin('POST', `/${revoked.invitation.id}/resend`, sender.headers), 409, 'ConflictError').code,
    ).toBe('invitations.already_revoked');
    expect(expectError(await admin('POST', '/999999/resend', sender.headers), 404, 'NotFoundError').code).toBe(
      'invitations.not_found',
    );
    expectError(await admin('POST', '/abc/resend', sender.headers), 422, 'ValidationError');

    const superuser = await ctx.signIn({ is_superuser: true });
    const forAdmin = await invited('next.admin@example.com', superuser.headers, 'admin');
    expect(
      expectError(await admin('POST', `/${forAdmin.invitation.id}/resend`, sender.headers), 403, 'AuthorizationError')
        .code,
    ).toBe('invitations.admin_role_forbidden');
    expect(await invitationsTo('u@example.com')).toHaveLength(1);
    expect(await auditOf('invitation.resent')).toEqual([]);
  });

  it('answers 409 when the address got an account meanwhile, or was invited again after this one expired', async () => {
    const { invitation, headers } = await invited('joined@example.com');
    await ctx.createUser({ email: 'joined@example.com' });
    expect(expectError(await admin('POST', `/${invitation.id}/resend`, headers), 409, 'ConflictError').code).toBe(
      'invitations.user_exists',
    );
    const sender = await ctx.signIn({ role: 'admin' });
    const old = await invited('twice@example.com', sender.headers);
    ctx.clock.advance(8 * DAY);
    const later = await relogin(sender.user);
    await invited('twice@example.com', later);
    expect(expectError(await admin('POST', `/${old.invitation.id}/resend`, later), 409, 'ConflictError').code).toBe(
      'invitations.already_pending',
    );
  });
});

describe('DELETE /api/v1/admin/invitations/{id}', () => {
  it('revokes: the link stops working, the record stays with revoked_at, the actor is audited', async () => {
    const { invitation, token, headers } = await invited('gone@example.com');
    const response = await admin('DELETE', `/${invitation.id}`, headers);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ message: 'Invitation revoked' });
    expect((await check(token)).json()).toEqual({ valid: false, email: null, message: 'Invalid invitation token' });
    expect(expectError(await accept(token), 400, 'BadRequestError')).toMatchObject({
      code: 'invitations.invalid_token',
      message: 'Invalid invitation token',
    });
    const [row] = await ctx.database.query<{ revoked_at: Date | null; used_at: Date | null }>(
      'SELECT revoked_at, used_at FROM invitations WHERE id = $1',
      [invitation.id],
    );
    expect(row?.revoked_at).toBeInstanceOf(Date);
    expect(row?.used_at).toBeNull();
    expect(await ctx.database.query("SELECT id FROM users WHERE email = 'gone@example.com'")).toEqual([]);
    const [audit] = await auditOf('invitation.revoked');
    expect(audit?.details).toEqual({ invitation_id: invitation.id, email: 'gone@example.com' });

    expect(expectError(await admin('DELETE', `/${invitation.id}`, headers), 409, 'ConflictError').code).toBe(
      'invitations.already_revoked',
    );
    expectError(await admin('DELETE', '/999999', headers), 404, 'NotFoundError');
  });

  it('answers 409 for a used invitation and keeps it used', async () => {
    const { invitation, token, headers } = await invited('kept@example.com');
    expect((await accept(token)).statusCode).toBe(201);
    expect(expectError(await admin('DELETE', `/${invitation.id}`, headers), 409, 'ConflictError')).toMatchObject({
      code: 'invitations.already_used',
      message: 'Cannot revoke a used invitation',
    });
  });
});

describe('GET /api/v1/auth/invitation/{token}', () => {
  it('always answers 200: valid with the email, or the FastAPI service’s message', async () => {
    const { token } = await invited('check@example.com');
    expect((await check(token)).json()).toEqual({ valid: true, email: 'check@example.com', message: null });
    const unknown = await check('no-such-token');
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toEqual({ valid: false, email: null, message: 'Invalid invitation token' });

    ctx.clock.advance(7 * DAY + 1000);
    expect((await check(token)).json()).toEqual({ valid: false, email: null, message: 'This invitation has expired' });
    ctx.clock.reset();
    await accept(token);
    expect((await check(token)).json()).toEqual({
      valid: false,
      email: null,
      message: 'This invitation has already been used',
    });
  });
});

describe('POST /api/v1/auth/invitation/{token}/accept', () => {
  it('creates a verified, approved client with the default features, who can log in at once', async () => {
    const { token, headers } = await invited('Nina.New+portal@example.com');
    const response = await accept(token, { phone: '+45 20 12 34 56', password: 'nina-password-1' });
    expect(response.statusCode).toBe(201);
    const user = response.json();
    expect(Object.keys(user).sort()).toEqual(CURRENT_USER_FIELDS);
    expect(user).toMatchObject({
      email: 'nina.new+portal@example.com',
      username: 'nina.newportal',
      first_name: 'Nina',
      last_name: 'New',
      company_name: 'WindCo',
      phone: '+45 20 12 34 56',
      role: 'client',
      is_active: true,
      is_superuser: false,
      email_verified: true,
      is_approved: true,
      approved_at: expect.any(String),
      features: { can_view_dashboard: true, can_view_reports: true, can_export_data: true, can_view_analytics: true },
    });
    const [stored] = await ctx.database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM user_features WHERE user_id = $1 AND enabled',
      [user.id],
    );
    expect(stored?.n).toBe(4);
    const token2 = await ctx.login('nina.new+portal@example.com', 'nina-password-1');
    const me = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${token2}` },
    });
    expect(me.json()).toMatchObject({ id: user.id, is_approved: true, email_verified: true });

    const inviterId = (await ctx.database.query<{ invited_by_id: number }>('SELECT invited_by_id FROM invitations'))[0]
      ?.invited_by_id;
    expect(await auditOf('invitation.accepted')).toEqual([
      {
        actor_user_id: user.id,
        subject_user_id: user.id,
        details: expect.objectContaining({ invited_by_id: inviterId }),
      },
    ]);
    // The link is spent.
    expect(expectError(await accept(token), 400, 'BadRequestError')).toMatchObject({
      code: 'invitations.token_used',
      message: 'This invitation has already been used',
    });
    // No verification email: the invitation proved the address.
    await ctx.app.services.settle();
    const toNina = ctx.mailbox().messages.filter((m) => JSON.stringify(m.to).includes('nina.new+portal@example.com'));
    expect(toNina).toHaveLength(1);
    expect(toNina[0]?.subject).toMatch(/^You've been invited/);
    expect((await admin('GET', '?status=used', headers)).headers['x-total-count']).toBe('1');
  });

  it('takes a chosen username (JSON or form), or derives a free one from the address', async () => {
    await ctx.createUser({ username: 'sam' });
    const first = await invited('sam@example.com');
    expect((await accept(first.token)).json().username).toBe('sam1');
    const second = await invited('other@example.com', first.headers);
    // Like the other /auth routes, a form works as well as JSON.
    const form = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/auth/invitation/${second.token}/accept`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'first_name=Ola&last_name=Other&password=ola-password-1&company_name=WindCo&username=Chosen_Name',
    });
    expect(form.statusCode).toBe(201);
    expect(form.json().username).toBe('Chosen_Name');
  });

  it('answers 409 for a taken username or an address registered meanwhile, and the link keeps working', async () => {
    await ctx.createUser({ username: 'taken_name' });
    const { token } = await invited('someone@example.com');
    expect(expectError(await accept(token, { username: 'TAKEN_NAME' }), 409, 'ConflictError').code).toBe(
      'users.username_taken',
    );
    expect((await check(token)).json().valid).toBe(true);

    const other = await invited('racer@example.com');
    await ctx.createUser({ email: 'racer@example.com' });
    expect(expectError(await accept(other.token), 409, 'ConflictError').code).toBe('users.email_taken');
    expect((await check(other.token)).json().valid).toBe(true);
    expect(await auditOf('invitation.accepted')).toEqual([]);
    expect((await accept(token, { username: 'free_name' })).statusCode).toBe(201);
  });

  it('answers 400 with a clear code for unknown, expired and revoked links, and creates nothing', async () => {
    expect(expectError(await accept('unknown-token'), 400, 'BadRequestError').code).toBe('invitations.invalid_token');
    const { token } = await invited('slow@example.com');
    ctx.clock.advance(7 * DAY + 1000);
    expect(expectError(await accept(token), 400, 'BadRequestError')).toMatchObject({
      code: 'invitations.token_expired',
      message: 'This invitation has expired',
    });
    expect(await ctx.database.query("SELECT id FROM users WHERE email = 'slow@example.com'")).toEqual([]);
  });

  it('applies the password and field rules (422, every field listed) and refuses extra fields', async () => {
    const { token } = await invited('rules@example.com');
    const response = await accept(token, {
      password: 'short',
      first_name: '',
      company_name: 'x'.repeat(256),
      phone: '1'.repeat(51),
      username: 'no spaces',
      is_superuser: true,
    });
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    expect(error.details.map((d) => d.loc.join('.')).sort()).toEqual([
      'body.company_name',
      'body.first_name',
      'body.is_superuser',
      'body.password',
      'body.phone',
      'body.username',
    ]);
    expect((await check(token)).json().valid).toBe(true);
  });

  it('of parallel accepts of one link, exactly one creates an account', async () => {
    const { token } = await invited('twin@example.com');
    const results = await Promise.all(['twin_a', 'twin_b', 'twin_c'].map((username) => accept(token, { username })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 400, 400]);
    for (const loser of results.filter((r) => r.statusCode === 400)) {
      expect(loser.json().error.code).toBe('invitations.token_used');
    }
    const [row] = await ctx.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM users WHERE email = 'twin@example.com'",
    );
    expect(row?.n).toBe(1);
    expect(await auditOf('invitation.accepted')).toHaveLength(1);
  });
});

describe('deleting an admin who invited someone (a 500 in the FastAPI service)', () => {
  it('answers 200; the invitation stays, without its sender, and its link still works', async () => {
    const inviter = await ctx.signIn({ role: 'admin' });
    const { invitation, token } = await invited('orphan@example.com', inviter.headers);
    const superuser = await ctx.signIn({ is_superuser: true });
    const response = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${inviter.user.id}`,
      headers: superuser.headers,
    });
    expect(response.statusCode).toBe(200);
    expect(await ctx.database.query('SELECT id, invited_by_id FROM invitations')).toEqual([
      { id: invitation.id, invited_by_id: null },
    ]);
    const [listed] = (await admin('GET', '', superuser.headers)).json();
    expect(listed).toMatchObject({ id: invitation.id, invited_by_id: null, invited_by_name: null });
    // Resent by someone else, the email names the resender.
    expect((await admin('POST', `/${invitation.id}/resend`, superuser.headers)).statusCode).toBe(200);
    const created = await accept(await tokenFor('orphan@example.com'));
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ is_approved: true, approved_at: expect.any(String) });
    expect(token).not.toBe(await tokenFor('orphan@example.com'));
  });
});

describe('the OpenAPI document', () => {
  it('names, tags and documents every invitation route', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<string, { operationId: string; tags: string[]; summary: string; responses: Record<string, unknown> }>
      >;
    };
    const expected = {
      'get /api/v1/admin/invitations': ['listInvitations', 'admin'],
      'post /api/v1/admin/invitations': ['createInvitation', 'admin'],
      'post /api/v1/admin/invitations/bulk': ['bulkCreateInvitations', 'admin'],
      'post /api/v1/admin/invitations/{invitation_id}/resend': ['resendInvitation', 'admin'],
      'delete /api/v1/admin/invitations/{invitation_id}': ['revokeInvitation', 'admin'],
      'get /api/v1/auth/invitation/{token}': ['getInvitation', 'auth'],
      'post /api/v1/auth/invitation/{token}/accept': ['acceptInvitation', 'auth'],
    };
    for (const [route, [operationId, tag]] of Object.entries(expected)) {
      const [method, path] = route.split(' ') as [string, string];
      const operation = doc.paths[path]?.[method];
      expect(operation, route).toMatchObject({ operationId, tags: [tag], summary: expect.any(String) });
      expect(Object.keys(operation?.responses ?? {}).length, route).toBeGreaterThan(1);
    }
  });
});
