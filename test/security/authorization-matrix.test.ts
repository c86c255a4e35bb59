import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashOpaqueToken } from '../../src/shared/tokens.js';
import { ACTORS, type ActorName, type Actors, createActors } from '../helpers/actors.js';
import { expectError, useTestApp } from '../helpers/test-app.js';

// ASVS 5.0 V8 (authorization) and OWASP API1/API5 (object and function level authorization), checked on
// every route the app registers: the list below is compared with the app's own route table.
const ctx = useTestApp();

/** Expected status for [anonymous, user, inactive user, superuser]. */
type Expected = readonly [number, number, number, number];
const ANYONE = (status: number): Expected => [status, status, status, status];
/** Any signed-in, active account; a deactivated one's token stops working. */
const SIGNED_IN: Expected = [401, 200, 401, 200];
const SUPERUSER: Expected = [401, 403, 401, 200];

type Build<T> = (a: Actors, actor: ActorName) => T | Promise<T>;
interface Entry {
  expect: Expected;
  /** The path to call; by default the route's, with `:user_id` = the other user. */
  url?: Build<string>;
  /** A body valid for the route, so that a refusal is about who calls, never about the input. */
  body?: Build<object>;
  form?: boolean;
}

const NEW_PASSWORD = 'a-brand-new-password-42';
const opaque = 'x'.repeat(43);

// Requests the routes below need to succeed: real ids, a real refresh token, valid bodies.
const register: Build<object> = (_, who) => ({
  email: `reg-${who}@example.com`,
  username: `reg-${who}`,
  password: NEW_PASSWORD,
});
const otherLogin: Build<object> = (a) => ({ username: a.other.username, password: a.password });
const otherLoginByEmail: Build<object> = (a) => ({ username: a.other.email, password: a.password });
const otherEmail: Build<object> = (a) => ({ email: a.other.email });
const freshRefreshToken: Build<object> = async (a) => ({
  refresh_token: (await a.startSession(a.other.id)).refreshToken,
});
const unknownToken: Build<object> = () => ({ token: opaque });
const resetWithUnknownToken: Build<object> = () => ({ token: opaque, new_password: NEW_PASSWORD });
const changeOwnPassword: Build<object> = (a) => ({ current_password: a.password, new_password: NEW_PASSWORD });
const clientSignUp: Build<object> = (_, who) => ({
  email: `client-${who}@example.com`,
  password: NEW_PASSWORD,
  first_name: 'Client',
  last_name: 'Matrix',
  company_name: 'WindCo',
});
/** An account in a given state, made for one call (an approval or reactivation needs one that waits for it). */
const freshAccount =
  (state: { approved?: boolean; active?: boolean }): Build<string> =>
  async (_, who) => {
    const [row] = await ctx.database.query<{ id: number }>(
      'INSERT INTO users (email, username, hashed_password, is_approved, is_active) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [`${who}-${randomUUID()}@example.com`, `acct-${randomUUID()}`, 'x', state.approved ?? true, state.active ?? true],
    );
    return `/api/v1/admin/users/${row?.id}`;
  };
const pendingAccount =
  (action: string): Build<string> =>
  async (a, who) =>
    `${await freshAccount({ approved: false })(a, who)}/${action}`;
const inactiveAccount: Build<string> = async (a, who) => `${await freshAccount({ active: false })(a, who)}/reactivate`;
/** A pending invitation made for one call; its link's token is returned with its id. */
async function pendingInvitation(who: ActorName): Promise<{ id: number; token: string }> {
  const token = `matrix-${who}-${randomUUID()}`;
  const [row] = await ctx.database.query<{ id: number }>(
    "INSERT INTO invitations (email, token_hash, role, expires_at) VALUES ($1, $2, 'client', now() + interval '7 days') RETURNING id",
    [`invited-${randomUUID()}@example.com`, hashOpaqueToken(token)],
  );
  return { id: Number(row?.id), token };
}
const invitationUrl =
  (suffix = ''): Build<string> =>
  async (_, who) =>
    `/api/v1/admin/invitations/${(await pendingInvitation(who)).id}${suffix}`;
const acceptUrl: Build<string> = async (_, who) =>
  `/api/v1/auth/invitation/${encodeURIComponent((await pendingInvitation(who)).token)}/accept`;
const invitationAccept: Build<object> = () => ({
  first_name: 'Invited',
  last_name: 'Matrix',
  password: NEW_PASSWORD,
  company_name: 'WindCo',
});
/** A second session of the caller (of the other user for an anonymous call): ending one's own session. */
const ownSecondSession: Build<string> = async (a, who) =>
  `/api/v1/auth/sessions/${(await a.startSession(who === 'anonymous' ? a.other.id : a[who].id)).sessionId}`;

/**
 * Every route of the app, one line each. A route added without a line here fails the first test below:
 * add `'METHOD /full/path/:param': { expect: SIGNED_IN | SUPERUSER | ANYONE(status) | [a, u, i, s], ... }`,
 * with `url`/`body` when the route needs a valid id or body to succeed.
 */
// biome-ignore format: one line per route keeps the table readable
const MATRIX: Record<string, Entry> = {
  'GET /':                                    { expect: ANYONE(200) },
  'GET /health':                              { expect: ANYONE(200) },
  'GET /health/ready':                        { expect: ANYONE(200) },
  'GET /docs':                                { expect: ANYONE(200) },
  'GET /docs/json':                           { expect: ANYONE(200) },
  'GET /docs/yaml':                           { expect: ANYONE(200) },
  'GET /docs/static/index.html':              { expect: ANYONE(302) },
  'GET /docs/static/swagger-initializer.js':  { expect: ANYONE(200) },
  'GET /redoc':                               { expect: ANYONE(200) },
  'GET /redoc/redoc.standalone.js':           { expect: ANYONE(200) },
  'GET /api/v1/openapi.json':                 { expect: ANYONE(200) },
  'POST /api/v1/auth/register':               { expect: ANYONE(201), body: register },
  'POST /api/v1/auth/login':                  { expect: ANYONE(200), body: otherLogin },
  'POST /api/v1/auth/token':                  { expect: ANYONE(200), body: otherLoginByEmail, form: true },
  'POST /api/v1/auth/refresh':                { expect: ANYONE(200), body: freshRefreshToken },
  'POST /api/v1/auth/logout':                 { expect: SIGNED_IN },
  'POST /api/v1/auth/logout-all':             { expect: SIGNED_IN },
  'POST /api/v1/auth/forgot-password':        { expect: ANYONE(202), body: otherEmail },
  'POST /api/v1/auth/reset-password':         { expect: ANYONE(400), body: resetWithUnknownToken },
  'POST /api/v1/auth/verify-email':           { expect: ANYONE(400), body: unknownToken },
  'POST /api/v1/auth/resend-verification':    { expect: ANYONE(202), body: otherEmail },
  'GET /api/v1/auth/sessions':                { expect: SIGNED_IN },
  'DELETE /api/v1/auth/sessions/:session_id': { expect: SIGNED_IN, url: ownSecondSession },
  'GET /api/v1/users/me':                     { expect: SIGNED_IN },
  'PUT /api/v1/users/me':                     { expect: SIGNED_IN, body: () => ({ first_name: 'Renamed' }) },
  'POST /api/v1/users/me/password':           { expect: SIGNED_IN, body: changeOwnPassword },
  'GET /api/v1/users/me/audit-events':        { expect: SIGNED_IN },
  'GET /api/v1/users':                        { expect: SUPERUSER, url: () => '/api/v1/users?limit=5&search=matrix' },
  'GET /api/v1/users/:user_id':               { expect: SUPERUSER },
  'PUT /api/v1/users/:user_id':               { expect: SUPERUSER, body: () => ({ is_superuser: true, is_active: false }) },
  'DELETE /api/v1/users/:user_id':            { expect: SUPERUSER },
  'GET /api/v1/users/:user_id/sessions':      { expect: SUPERUSER },
  'DELETE /api/v1/users/:user_id/sessions':   { expect: SUPERUSER },
  'GET /api/v1/audit-events':                 { expect: SUPERUSER, url: () => '/api/v1/audit-events?limit=5' },
  'POST /api/v1/auth/client/register':        { expect: ANYONE(201), body: clientSignUp },
  'GET /api/v1/consents/me':                  { expect: SIGNED_IN },
  'POST /api/v1/consents/me/accept':          { expect: SIGNED_IN, body: () => ({ terms_version: '', privacy_version: '' }) },
  // Admin routes: a superuser passes as an admin does (test/modules/admin.test.ts covers the admin role itself).
  'GET /api/v1/admin/users/pending':          { expect: SUPERUSER },
  'POST /api/v1/admin/users/:user_id/approve':    { expect: SUPERUSER, url: pendingAccount('approve') },
  'POST /api/v1/admin/users/:user_id/reject':     { expect: SUPERUSER, url: pendingAccount('reject'), body: () => ({ reason: 'matrix' }) },
  'POST /api/v1/admin/users/:user_id/deactivate': { expect: SUPERUSER },
  'POST /api/v1/admin/users/:user_id/reactivate': { expect: SUPERUSER, url: inactiveAccount },
  'GET /api/v1/admin/users/:user_id/features':    { expect: SUPERUSER },
  'PUT /api/v1/admin/users/:user_id/features':    { expect: SUPERUSER, body: () => ({ features: { can_export_data: false } }) },
  'GET /api/v1/admin/invitations':                      { expect: SUPERUSER },
  'POST /api/v1/admin/invitations':                     { expect: [401, 403, 401, 201], body: (_, who) => ({ email: `invite-${who}-${randomUUID()}@example.com` }) },
  'POST /api/v1/admin/invitations/bulk':                { expect: SUPERUSER, body: (_, who) => ({ emails: [`bulk-${who}-${randomUUID()}@example.com`] }) },
  'POST /api/v1/admin/invitations/:invitation_id/resend': { expect: SUPERUSER, url: invitationUrl('/resend') },
  'DELETE /api/v1/admin/invitations/:invitation_id':    { expect: SUPERUSER, url: invitationUrl() },
  'GET /api/v1/auth/invitation/:token':                 { expect: ANYONE(200), url: () => `/api/v1/auth/invitation/${randomUUID()}` },
  'POST /api/v1/auth/invitation/:token/accept':         { expect: ANYONE(201), url: acceptUrl, body: invitationAccept },
};

/** What a refused request must leave exactly as it was: the accounts and the sessions. */
async function snapshot() {
  return {
    users: await ctx.database.query('SELECT * FROM users ORDER BY id'),
    sessions: await ctx.database.query('SELECT id, user_id, revoked_at FROM sessions ORDER BY id'),
  };
}

interface Prepared {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  payload?: string | object;
}

/** The request an actor makes on a route; arranging its ids and body may itself write to the database. */
async function prepare(route: string, entry: Entry, a: Actors, who: ActorName): Promise<Prepared> {
  const [method, path] = route.split(' ') as [Prepared['method'], string];
  const url = entry.url ? await entry.url(a, who) : path.replace(':user_id', String(a.other.id));
  const body = entry.body ? await entry.body(a, who) : undefined;
  const headers = a.headers(who);
  if (body === undefined) return { method, url, headers };
  if (!entry.form) return { method, url, headers, payload: body };
  const form = { ...headers, 'content-type': 'application/x-www-form-urlencoded' };
  return { method, url, headers: form, payload: new URLSearchParams(body as Record<string, string>).toString() };
}

const routeKeys = () => ctx.app.routeTable.map((r) => `${r.method} ${r.url}`);

describe('the authorization matrix', () => {
  it('has an entry for every route of the app, and no entry for a route that is gone', () => {
    const routes = routeKeys();
    const missing = routes.filter((key) => !(key in MATRIX));
    const stale = Object.keys(MATRIX).filter((key) => !routes.includes(key));
    expect(
      missing,
      `routes without an entry in MATRIX (test/security/authorization-matrix.test.ts): ${missing.join(', ')}. ` +
        'Add one line per route saying what anonymous, user, inactive user and superuser get.',
    ).toEqual([]);
    expect(stale, `entries in MATRIX for routes the app no longer has: ${stale.join(', ')}`).toEqual([]);
  });

  it.each(Object.entries(MATRIX))('%s', async (route, entry) => {
    const a = await createActors(ctx);
    const got: Record<string, number> = {};
    for (const who of ACTORS) {
      const request = await prepare(route, entry, a, who);
      const before = await snapshot();
      const response = await ctx.app.inject(request);
      got[who] = response.statusCode;
      if (response.statusCode === 401) {
        expectError(response, 401, 'AuthenticationError');
        expect(response.headers['www-authenticate']).toBe('Bearer');
      }
      if (response.statusCode === 403) expectError(response, 403, 'AuthorizationError');
      // A refused request changed nothing: its handler never ran, or ran and refused as a whole.
      if (response.statusCode >= 400) expect(await snapshot(), `${route} as ${who}`).toEqual(before);
    }
    expect(got).toEqual(Object.fromEntries(ACTORS.map((who, i) => [who, entry.expect[i]])));
  });
});

describe('object level: a user acts on their own things only', () => {
  let a: Actors;
  const as = (who: ActorName, method: string, url: string, payload?: object) =>
    ctx.app.inject({ method: method as 'GET', url, headers: a.headers(who), ...(payload ? { payload } : {}) });

  it('can neither read, change nor delete another user, nor raise themselves through the admin route', async () => {
    a = await createActors(ctx);
    const before = await snapshot();
    const other = `/api/v1/users/${a.other.id}`;
    for (const [method, url, payload] of [
      ['GET', other],
      ['PUT', other, { first_name: 'Mallory', is_active: false }],
      ['DELETE', other],
      ['GET', `${other}/sessions`],
      ['DELETE', `${other}/sessions`],
      ['PUT', `/api/v1/users/${a.user.id}`, { is_superuser: true }],
      ['GET', `/api/v1/users/${a.user.id}`],
    ] as const) {
      const response = await as('user', method, url, payload);
      expect(expectError(response, 403, 'AuthorizationError').code, `${method} ${url}`).toBe('auth.superuser_required');
    }
    expect(await snapshot()).toEqual(before);
  });

  it("another user's session id is answered exactly like one that does not exist, and stays active", async () => {
    a = await createActors(ctx);
    const theirs = await as('user', 'DELETE', `/api/v1/auth/sessions/${a.other.sessionId}`);
    const nobodys = await as('user', 'DELETE', `/api/v1/auth/sessions/${randomUUID()}`);
    const { request_id: _a, ...theirError } = expectError(theirs, 404, 'NotFoundError');
    const { request_id: _b, ...nobodysError } = expectError(nobodys, 404, 'NotFoundError');
    expect(theirError).toEqual(nobodysError);
    expect(Object.keys(theirs.headers).sort()).toEqual(Object.keys(nobodys.headers).sort());

    const [row] = await ctx.database.query<{ revoked_at: Date | null }>(
      'SELECT revoked_at FROM sessions WHERE id = $1',
      [a.other.sessionId],
    );
    expect(row?.revoked_at).toBeNull();
    const stillIn = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${a.other.token}` },
    });
    expect(stillIn.json()).toMatchObject({ id: a.other.id });
  });

  it('lists only their own sessions and their own history', async () => {
    a = await createActors(ctx);
    await a.startSession(a.other.id);
    await as('superuser', 'PUT', `/api/v1/users/${a.other.id}`, { first_name: 'Audited' });

    const sessions = (await as('user', 'GET', '/api/v1/auth/sessions')).json() as { id: string }[];
    expect(sessions.map((s) => s.id)).toEqual([a.user.sessionId]);
    const history = (await as('user', 'GET', '/api/v1/users/me/audit-events')).json() as { subject_user_id: number }[];
    expect(history.every((e) => e.subject_user_id === a.user.id)).toBe(true);
    const theirHistory = (await as('superuser', 'GET', `/api/v1/audit-events?user_id=${a.other.id}`)).json();
    expect(theirHistory).not.toEqual([]);
  });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request written byte for byte: an HTTP client (and inject) would normalise the path first. */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, 'host: localhost', 'connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const hasBody = method === 'POST' || method === 'PUT';
  if (hasBody) lines.push('content-type: application/json', 'content-length: 2');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body: rest.join('\r\n\r\n') });
    });
    // Not `end()`: a client that half-closes before the answer may get none.
    socket.write(`${lines.join('\r\n')}\r\n\r\n${hasBody ? '{}' : ''}`);
  });
}

describe('path and method tricks, over a real socket', () => {
  let port: number;
  let a: Actors;
  beforeAll(async () => {
    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    port = (ctx.app.server.address() as { port: number }).port;
  });

  const send = (who: ActorName, method: string, target: string, headers: Record<string, string> = {}) =>
    raw(port, method, target, { ...a.headers(who), ...headers });

  it('spellings of a superuser route never let a user through', async () => {
    a = await createActors(ctx);
    const id = a.other.id;
    const before = await snapshot();
    const tricks: [string, string, number][] = [
      ['GET', '/API/V1/USERS', 404],
      ['GET', '/Api/V1/Users', 404],
      ['GET', '//api/v1//users', 403],
      ['GET', '/api/v1/users/', 403],
      ['GET', '/api/v1%2Fusers', 404],
      ['GET', '/api%2Fv1%2Fusers', 404],
      ['GET', `/api/v1/users%2F${id}`, 404],
      ['GET', '/api/v1/users/me.', 403],
      ['GET', '/api/v1/users/me/..', 404],
      ['GET', '/api/v1/users/me/%2E%2E', 404],
      ['GET', '/api/v1/users/me/../', 404],
      ['GET', `/api/v1/users/me/../${id}`, 404],
      ['GET', `/api/v1/users/${id}.`, 403],
      ['GET', `/api/v1/users/${id};x=1`, 403],
      ['GET', `/api/v1/users;/${id}`, 404],
      ['GET', '/api/v1/users;jsessionid=1', 404],
      ['GET', '/api/v1/./users', 404],
      ['GET', '/api/v1/users/me/../../users', 404],
      ['DELETE', `/API/V1/USERS/${id}`, 404],
      ['DELETE', `//api/v1//users//${id}`, 403],
      ['DELETE', `/api/v1/users/${id}%2F`, 403],
      // The absolute form (RFC 9112 3.2.2) is the same route, with the same rules.
      ['GET', 'http://localhost/api/v1/users', 403],
    ];
    const got = [];
    for (const [method, target] of tricks) got.push([method, target, (await send('user', method, target)).status]);
    expect(got).toEqual(tricks);
    expect(await snapshot()).toEqual(before);
  });

  it('a superuser reaches no handler through a path that is not the route', async () => {
    a = await createActors(ctx);
    const id = a.other.id;
    const before = await snapshot();
    for (const target of [
      `/api/v1/users/${id}.`,
      `/api/v1/users/${id};x`,
      `/api/v1/users/${id}%00`,
      `/api/v1/users/${id}%2F..`,
      `/API/V1/USERS/${id}`,
      `/api/v1/users/${id}/..`,
    ]) {
      const response = await send('superuser', 'DELETE', target);
      expect([404, 422], `${target} -> ${response.status}`).toContain(response.status);
      expect(JSON.parse(response.body)).toHaveProperty('error');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a method override header or parameter never turns a request into a DELETE', async () => {
    a = await createActors(ctx);
    const id = a.other.id;
    const overrides: Record<string, string>[] = [
      { 'x-http-method-override': 'DELETE' },
      { 'x-http-method': 'DELETE' },
      { 'x-method-override': 'DELETE' },
    ];
    const before = await snapshot();
    for (const headers of overrides) {
      // A GET stays a GET: the superuser reads the user, who is still there.
      const read = await send('superuser', 'GET', `/api/v1/users/${id}`, headers);
      expect(read.status).toBe(200);
      expect(JSON.parse(read.body)).toMatchObject({ id });
      // POST has no route at these paths: 405, whatever the header asks for.
      expect((await send('superuser', 'POST', `/api/v1/users/${id}`, headers)).status).toBe(405);
      expect((await send('user', 'POST', `/api/v1/auth/sessions/${a.user.sessionId}`, headers)).status).toBe(405);
      expect((await send('superuser', 'POST', `/api/v1/users/${id}?_method=DELETE`, headers)).status).toBe(405);
    }
    expect(await snapshot()).toEqual(before);
    // And a user asking for their own account with an override header still gets just that.
    const me = await send('user', 'GET', '/api/v1/users/me', { 'x-http-method-override': 'DELETE' });
    expect(JSON.parse(me.body)).toMatchObject({ id: a.user.id });
  });

  it('rewrite headers do not change which route answers', async () => {
    a = await createActors(ctx);
    for (const name of ['x-original-url', 'x-rewrite-url', 'x-forwarded-uri', 'x-forwarded-prefix']) {
      const response = await send('user', 'GET', '/api/v1/users/me', { [name]: `/api/v1/users/${a.other.id}` });
      expect(response.status, name).toBe(200);
      expect(JSON.parse(response.body), name).toMatchObject({ id: a.user.id });
    }
  });
});
