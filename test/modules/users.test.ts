import { SignJWT } from 'jose';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expectError, TEST_SECRET, USER_FIELDS, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

const keysOf = (value: object) => Object.keys(value).sort();
const get = (url: string, headers: Record<string, string> = {}) => ctx.app.inject({ method: 'GET', url, headers });
const put = (url: string, payload: object, headers: Record<string, string>) =>
  ctx.app.inject({ method: 'PUT', url, payload, headers });

async function sessionIdOf(token: string): Promise<string> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).sid;
}

async function mint(claims: Record<string, unknown>, options: { alg?: string; secret?: string; exp?: number } = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuedAt(iat)
    .setExpirationTime(options.exp ?? iat + 600)
    .sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

describe('GET /api/v1/users/me', () => {
  it('returns exactly the contract user fields, never the password hash', async () => {
    const { user, headers } = await ctx.signIn({ first_name: 'Ada', last_name: 'Lovelace' });
    const response = await get('/api/v1/users/me', headers);
    expect(response.statusCode).toBe(200);
    expect(keysOf(response.json())).toEqual(USER_FIELDS);
    expect(response.json()).toMatchObject({ id: user.id, username: user.username, first_name: 'Ada' });
    expect(response.body).not.toMatch(/hashed_password|argon2/);
  });

  it('answers with or without a trailing slash', async () => {
    const { headers } = await ctx.signIn();
    expect((await get('/api/v1/users/me/', headers)).statusCode).toBe(200);
  });

  it.each([
    ['no header', {}],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a malformed token', { authorization: 'Bearer not.a.jwt' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('answers 401 with WWW-Authenticate for %s', async (_name, headers) => {
    const response = await get('/api/v1/users/me', headers);
    expectError(response, 401, 'AuthenticationError');
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it('refuses a token signed with another key, another algorithm, or none', async () => {
    const { user, token } = await ctx.signIn();
    const sid = await sessionIdOf(token);
    const claims = { sub: String(user.id), sid };
    const forged = [
      await mint(claims, { secret: 'another-secret-of-sufficient-length-000' }),
      await mint(claims, { alg: 'HS512' }),
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${token.split('.')[1]}.`,
    ];
    for (const bad of forged) {
      expectError(await get('/api/v1/users/me', { authorization: `Bearer ${bad}` }), 401, 'AuthenticationError');
    }
    // The same claims with the right key and algorithm work: the refusals above are about the signature.
    expect((await get('/api/v1/users/me', { authorization: `Bearer ${await mint(claims)}` })).statusCode).toBe(200);
  });

  it('refuses an expired token with its own code', async () => {
    const { user, token } = await ctx.signIn();
    const expired = await mint({ sub: String(user.id), sid: await sessionIdOf(token) }, { exp: 1_000_000 });
    const response = await get('/api/v1/users/me', { authorization: `Bearer ${expired}` });
    expect(expectError(response, 401, 'AuthenticationError').code).toBe('auth.token_expired');
  });

  it('refuses the token once the access token lifetime has passed', async () => {
    const { headers } = await ctx.signIn();
    ctx.clock.advance(31 * 60_000);
    expectError(await get('/api/v1/users/me', headers), 401, 'AuthenticationError');
  });

  it('refuses the token of a user who has since been deactivated or deleted', async () => {
    const deactivated = await ctx.signIn();
    const deleted = await ctx.signIn();
    await ctx.database.query('UPDATE users SET is_active = false WHERE id = $1', [deactivated.user.id]);
    await ctx.database.query('DELETE FROM users WHERE id = $1', [deleted.user.id]);
    expectError(await get('/api/v1/users/me', deactivated.headers), 401, 'AuthenticationError');
    expectError(await get('/api/v1/users/me', deleted.headers), 401, 'AuthenticationError');
  });
});

describe('PUT /api/v1/users/me', () => {
  it('updates only the fields given, normalising the email', async () => {
    const { user, headers } = await ctx.signIn({ first_name: 'Old', last_name: 'Name' });
    const response = await put('/api/v1/users/me', { email: '  New@Example.COM ', first_name: 'New' }, headers);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      email: 'new@example.com',
      first_name: 'New',
      last_name: 'Name',
      username: user.username,
    });
    expect(keysOf(response.json())).toEqual(USER_FIELDS);
    expect(new Date(response.json().updated_at).getTime()).toBeGreaterThan(user.updatedAt.getTime());
  });

  it('clears a name with null', async () => {
    const { headers } = await ctx.signIn({ first_name: 'Someone' });
    expect((await put('/api/v1/users/me', { first_name: null }, headers)).json().first_name).toBeNull();
  });

  it('changes the password only together with the right current password', async () => {
    const { user, headers } = await ctx.signIn();
    const missing = await put('/api/v1/users/me', { password: 'brand-new-password' }, headers);
    const error = expectError(missing, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    expect(error.details[0]?.loc).toEqual(['body', 'current_password']);

    const wrong = await put('/api/v1/users/me', { password: 'brand-new-password', current_password: 'nope' }, headers);
    expectError(wrong, 400, 'BadRequestError');

    const ok = await put(
      '/api/v1/users/me',
      { password: 'brand-new-password', current_password: user.password },
      headers,
    );
    expect(ok.statusCode).toBe(200);
    expect(await ctx.login(user.username, 'brand-new-password')).toEqual(expect.any(String));
    await expect(ctx.login(user.username, user.password)).rejects.toThrow(/401/);
  });

  it('refuses fields a user may not set, naming every one of them', async () => {
    const { headers } = await ctx.signIn();
    const response = await put(
      '/api/v1/users/me',
      { is_superuser: true, is_active: false, id: 7, hashed_password: 'x', nickname: 'y' },
      headers,
    );
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    expect(error.details.map((d) => d.loc.join('.')).sort()).toEqual(
      ['body.hashed_password', 'body.id', 'body.is_active', 'body.is_superuser', 'body.nickname'].sort(),
    );
  });

  it('refuses invalid values with 422', async () => {
    const { headers } = await ctx.signIn();
    for (const payload of [
      { email: 'not-an-email' },
      { username: 'ab' },
      { username: 'has space' },
      { last_name: 'x'.repeat(101) },
    ]) {
      expectError(await put('/api/v1/users/me', payload, headers), 422, 'ValidationError');
    }
  });

  it('answers 409 naming the field when the email or username is taken, whatever the case', async () => {
    await ctx.createUser({ email: 'taken@example.com', username: 'TakenName' });
    const { headers } = await ctx.signIn();
    const email = await put('/api/v1/users/me', { email: 'TAKEN@example.com' }, headers);
    expect(expectError(email, 409, 'ConflictError').message).toBe('User with this email already exists');
    const username = await put('/api/v1/users/me', { username: 'takenname' }, headers);
    expect(expectError(username, 409, 'ConflictError').message).toBe('User with this username already exists');
  });
});

describe('GET /api/v1/users', () => {
  it('is for superusers only', async () => {
    const { headers } = await ctx.signIn();
    expectError(await get('/api/v1/users', headers), 403, 'AuthorizationError');
    expectError(await get('/api/v1/users'), 401, 'AuthenticationError');
  });

  it('lists users by id with X-Total-Count, skip and limit, with or without a trailing slash', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    for (let i = 0; i < 4; i++) await ctx.createUser();
    const all = await get('/api/v1/users/', admin.headers);
    expect(all.statusCode).toBe(200);
    expect(all.headers['x-total-count']).toBe('5');
    const ids = all.json().map((u: { id: number }) => u.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const user of all.json()) expect(keysOf(user)).toEqual(USER_FIELDS);

    const page = await get('/api/v1/users?skip=1&limit=2', admin.headers);
    expect(page.json().map((u: { id: number }) => u.id)).toEqual(ids.slice(1, 3));
    expect(page.headers['x-total-count']).toBe('5');
  });

  it('searches username, email, first and last name, case-insensitively, taking % and _ literally', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    await ctx.createUser({ username: 'turbine_ann', email: 'ann@wind.example' });
    await ctx.createUser({ username: 'bob', first_name: 'Turbine', email: 'bob@example.com' });
    await ctx.createUser({ username: 'carol', last_name: 'TURBINES', email: 'carol@example.com' });
    await ctx.createUser({ username: 'dan', email: 'dan@TurBine.example' });
    await ctx.createUser({ username: 'percent', first_name: '100%' });

    const found = await get('/api/v1/users?search=turbine', admin.headers);
    expect(
      found
        .json()
        .map((u: { username: string }) => u.username)
        .sort(),
    ).toEqual(['bob', 'carol', 'dan', 'turbine_ann']);
    expect(found.headers['x-total-count']).toBe('4');
    expect(
      (await get('/api/v1/users?search=%25', admin.headers)).json().map((u: { username: string }) => u.username),
    ).toEqual(['percent']);
    // `_` would match any one character in LIKE: "b_b" must not find "bob".
    expect((await get('/api/v1/users?search=b_b', admin.headers)).json()).toEqual([]);
    expect((await get('/api/v1/users?search=e_ann', admin.headers)).json()).toHaveLength(1);
  });

  it.each(['limit=0', 'limit=1001', 'skip=-1', 'limit=abc'])('answers 422 to %s', async (query) => {
    const admin = await ctx.signIn({ is_superuser: true });
    expectError(await get(`/api/v1/users?${query}`, admin.headers), 422, 'ValidationError');
  });
});

describe('/api/v1/users/{user_id}', () => {
  it('gets, updates and deletes a user', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const target = await ctx.signIn();
    const url = `/api/v1/users/${target.user.id}`;

    const got = await get(url, admin.headers);
    expect(keysOf(got.json())).toEqual(USER_FIELDS);

    const updated = await put(url, { is_superuser: true, password: 'set-by-an-admin', last_name: 'X' }, admin.headers);
    expect(updated.json()).toMatchObject({ is_superuser: true, last_name: 'X' });
    expect(keysOf(updated.json())).toEqual(USER_FIELDS);
    expect(await ctx.login(target.user.username, 'set-by-an-admin')).toEqual(expect.any(String));

    const deleted = await ctx.app.inject({ method: 'DELETE', url, headers: admin.headers });
    expect(deleted.json()).toEqual({ message: 'User deleted successfully' });
    expect(await ctx.database.query('SELECT id FROM users WHERE id = $1', [target.user.id])).toEqual([]);
    expectError(await get(url, admin.headers), 404, 'NotFoundError');
    expectError(await get('/api/v1/users/me', target.headers), 401, 'AuthenticationError');
  });

  it('deactivates a user, who then cannot log in', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const target = await ctx.createUser();
    await put(`/api/v1/users/${target.id}`, { is_active: false }, admin.headers);
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: target.username, password: target.password },
    });
    expect(expectError(login, 403, 'AuthorizationError').message).toBe('Inactive user');
  });

  it('does not let a superuser delete, demote or deactivate themselves', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const url = `/api/v1/users/${admin.user.id}`;
    const del = await ctx.app.inject({ method: 'DELETE', url, headers: admin.headers });
    expect(expectError(del, 400, 'BadRequestError').message).toBe('Cannot delete your own account');
    expectError(await put(url, { is_superuser: false }, admin.headers), 400, 'BadRequestError');
    expectError(await put(url, { is_active: false }, admin.headers), 400, 'BadRequestError');
    expect((await get('/api/v1/users/me', admin.headers)).json()).toMatchObject({
      is_superuser: true,
      is_active: true,
    });
  });

  it('answers 404 for unknown ids and 422 for ids that are not user ids', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    expectError(await get('/api/v1/users/999999', admin.headers), 404, 'NotFoundError');
    expectError(await put('/api/v1/users/999999', { first_name: 'x' }, admin.headers), 404, 'NotFoundError');
    expectError(
      await ctx.app.inject({ method: 'DELETE', url: '/api/v1/users/999999', headers: admin.headers }),
      404,
      'NotFoundError',
    );
    for (const id of ['abc', '0', '-1', '99999999999', '1.5']) {
      expectError(await get(`/api/v1/users/${id}`, admin.headers), 422, 'ValidationError');
    }
  });

  it('is for superusers only', async () => {
    const other = await ctx.createUser();
    const { headers } = await ctx.signIn();
    expectError(await get(`/api/v1/users/${other.id}`, headers), 403, 'AuthorizationError');
    expectError(await put(`/api/v1/users/${other.id}`, { first_name: 'x' }, headers), 403, 'AuthorizationError');
  });
});

describe('registration', () => {
  const register = (email: string, username: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email, username, password: 'parallel-pass' },
    });

  it('creates exactly one user out of 20 parallel registrations of one email (in any case)', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register(i % 2 ? 'race@example.com' : 'RACE@Example.com', `racer${i}`)),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const rows = await ctx.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM users WHERE email = 'race@example.com'",
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('refuses a username taken in another case with 409', async () => {
    await register('one@example.com', 'Casey');
    const response = await register('two@example.com', 'casey');
    expect(expectError(response, 409, 'ConflictError').message).toBe('User with this username already exists');
  });

  it('refuses is_superuser and unknown keys on register', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'x@example.com', username: 'xavier', password: 'long-enough', is_superuser: true },
    });
    expectError(response, 422, 'ValidationError');
    expect(await ctx.database.query('SELECT id FROM users')).toEqual([]);
  });

  it('counts all 128 characters of a long password', async () => {
    const password = `${'a'.repeat(127)}b`;
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'long@example.com', username: 'longpw', password },
    });
    expect(await ctx.login('longpw', password)).toEqual(expect.any(String));
    await expect(ctx.login('longpw', `${'a'.repeat(127)}c`)).rejects.toThrow(/401/);
    const tooLong = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'longer@example.com', username: 'longerpw', password: 'a'.repeat(129) },
    });
    expectError(tooLong, 422, 'ValidationError');
  });
});

describe('keyset pagination of GET /api/v1/users', () => {
  it('walks every user with after_id and X-Next-After-Id', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    for (let i = 0; i < 4; i++) await ctx.createUser();
    const seen: number[] = [];
    let cursor: string | undefined = '0';
    while (cursor !== undefined) {
      const page = await get(`/api/v1/users?limit=2&after_id=${cursor}`, admin.headers);
      expect(page.headers['x-total-count']).toBe('5');
      seen.push(...page.json().map((u: { id: number }) => u.id));
      cursor = page.headers['x-next-after-id'] as string | undefined;
    }
    const all = (await get('/api/v1/users', admin.headers)).json().map((u: { id: number }) => u.id);
    expect(seen).toEqual(all);
  });

  it('refuses skip together with after_id', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    expectError(await get('/api/v1/users?skip=1&after_id=1', admin.headers), 422, 'ValidationError');
  });
});

describe('search indexes', () => {
  const trgmAvailable = async () =>
    (await ctx.database.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).length > 0;

  it('are a trigram index where pg_trgm exists (PostgreSQL), and absent, not failing, where it does not (PGlite)', async () => {
    const indexes = await ctx.database.query(
      "SELECT indexname FROM pg_indexes WHERE indexname = 'users_search_trgm_idx'",
    );
    expect(indexes).toHaveLength((await trgmAvailable()) ? 1 : 0);
  });

  it('serve the search the API runs, on PostgreSQL', async () => {
    if (!ctx.database.url || !(await trgmAvailable())) return;
    const admin = await ctx.signIn({ is_superuser: true });
    await ctx.createUser({ username: 'indexed_user' });
    // With sequential scans off (on one connection), the plan shows whether the repository's expression
    // matches the index.
    const client = new pg.Client({ connectionString: ctx.database.url });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = await client.query(
        "EXPLAIN SELECT id FROM users WHERE (coalesce(username, '') || chr(31) || coalesce(email, '') || chr(31) || coalesce(first_name, '') || chr(31) || coalesce(last_name, '')) ILIKE '%indexed%'",
      );
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('users_search_trgm_idx');
    } finally {
      await client.end();
    }
    const found = await get('/api/v1/users?search=INDEXED', admin.headers);
    expect(found.json().map((u: { username: string }) => u.username)).toEqual(['indexed_user']);
  });
});
