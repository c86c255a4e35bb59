import { describe, expect, it } from 'vitest';
import { prototypeKeys } from '../../src/shared/validation.js';
import { createActors } from '../helpers/actors.js';
import { expectError, useTestApp } from '../helpers/test-app.js';

// OWASP API3 (broken object property level authorization) and ASVS 5.0 V8: a caller sets the fields a
// route lists, never one more; the body is refused as a whole and nothing is stored.
const ctx = useTestApp();

/** Fields a user must never set on themselves, with values an attacker would send. */
const FORBIDDEN: [string, unknown][] = [
  ['is_superuser', true],
  ['is_active', true],
  ['id', 1],
  ['hashed_password', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo'],
  ['email_verified', true],
  ['created_at', '2000-01-01T00:00:00Z'],
];

/**
 * Prototype keys, written as JSON text: a JavaScript object literal with `__proto__` would set a prototype
 * instead of sending the key.
 */
const PROTOTYPE_BODIES: [string, string, (string | number)[]][] = [
  ['__proto__', '"__proto__": {"is_superuser": true}', ['body', '__proto__']],
  ['constructor', '"constructor": {"prototype": {"is_superuser": true}}', ['body', 'constructor']],
  ['a plain constructor key', '"constructor": "x"', ['body', 'constructor']],
  ['__proto__ spelled with an escape', '"__pr\\u006fto__": {"is_superuser": true}', ['body', '__proto__']],
  [
    '__proto__ nested in a value',
    '"last_name": {"__proto__": {"is_superuser": true}}',
    ['body', 'last_name', '__proto__'],
  ],
  [
    'constructor nested in an array',
    '"last_name": [{"constructor": {"prototype": {"is_superuser": true}}}]',
    ['body', 'last_name', 0, 'constructor'],
  ],
];

const locs = (response: Awaited<ReturnType<typeof ctx.app.inject>>) =>
  (expectError(response, 422, 'ValidationError') as unknown as { details: { loc: unknown[] }[] }).details.map(
    (d) => d.loc,
  );

const userRow = async (id: number) =>
  (await ctx.database.query('SELECT * FROM users WHERE id = $1', [id]))[0] as Record<string, unknown>;
const usersCount = async () => (await ctx.database.query<{ n: number }>('SELECT count(*)::int AS n FROM users'))[0]?.n;

const json = (method: 'POST' | 'PUT', url: string, payload: string, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method, url, payload, headers: { ...headers, 'content-type': 'application/json' } });

const registration = { email: 'mallory@example.com', username: 'mallory', password: 'correct-horse-battery' };
const registrationText = JSON.stringify(registration).slice(1, -1);

/** A user and their Authorization header, without an argon2 hash per test. */
async function signedIn() {
  const a = await createActors(ctx);
  return { user: a.user, headers: a.headers('user') };
}

/** Not polluted: what every object in the process inherits. */
function expectCleanPrototypes() {
  expect(({} as Record<string, unknown>).is_superuser).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('is_superuser');
}

describe('POST /api/v1/auth/register', () => {
  it.each(FORBIDDEN)('with %s, responds 422 naming it and creates nobody', async (field, value) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { ...registration, [field]: value },
    });
    expect(locs(response)).toEqual([['body', field]]);
    expect(await usersCount()).toBe(0);
  });

  it('with all of them at once, names every one', async () => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { ...registration, ...Object.fromEntries(FORBIDDEN) },
    });
    expect(locs(response)).toEqual(expect.arrayContaining(FORBIDDEN.map(([field]) => ['body', field])));
    expect(await usersCount()).toBe(0);
  });

  it.each(PROTOTYPE_BODIES)('with %s, responds 422 naming it and creates nobody', async (_name, text, loc) => {
    const response = await json('POST', '/api/v1/auth/register', `{${registrationText}, ${text}}`);
    expect(locs(response)).toEqual([loc]);
    expect(await usersCount()).toBe(0);
    expectCleanPrototypes();
  });

  it('as a form, with is_superuser or __proto__, responds 422 naming it and creates nobody', async () => {
    for (const field of ['is_superuser', '__proto__', 'constructor']) {
      const form = new URLSearchParams({ ...registration, [field]: 'true' }).toString();
      const response = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(locs(response), field).toEqual([['body', field]]);
    }
    expect(await usersCount()).toBe(0);
    expectCleanPrototypes();
  });

  it('the same body without the extra field registers a plain user: the refusals were about the field', async () => {
    const response = await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: registration });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ is_superuser: false, is_active: true, email_verified: false });
  });
});

describe('PUT /api/v1/users/me', () => {
  it.each(FORBIDDEN)('with %s, responds 422 naming it and leaves the row as it was', async (field, value) => {
    const { user, headers } = await signedIn();
    const before = await userRow(user.id);
    const response = await ctx.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers,
      payload: { first_name: 'Mallory', [field]: value },
    });
    expect(locs(response)).toEqual([['body', field]]);
    expect(await userRow(user.id)).toEqual(before);
  });

  it.each(PROTOTYPE_BODIES)('with %s, responds 422 naming it and leaves the row as it was', async (_n, text, loc) => {
    const { user, headers } = await signedIn();
    const before = await userRow(user.id);
    const response = await json('PUT', '/api/v1/users/me', `{"first_name": "Mallory", ${text}}`, headers);
    expect(locs(response)).toEqual([loc]);
    expect(await userRow(user.id)).toEqual(before);
    expectCleanPrototypes();
  });

  it('a superuser cannot set id, hashed_password, email_verified or a prototype key on another user either', async () => {
    const a = await createActors(ctx);
    const admin = { headers: a.headers('superuser') };
    const target = a.other;
    const before = await userRow(target.id);
    const response = await json(
      'PUT',
      `/api/v1/users/${target.id}`,
      '{"id": 99, "hashed_password": "x", "email_verified": true, "__proto__": {"is_superuser": true}}',
      admin.headers,
    );
    expect(locs(response)).toEqual([['body', '__proto__']]);
    const plain = await ctx.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${target.id}`,
      headers: admin.headers,
      payload: { id: 99, hashed_password: 'x', email_verified: true },
    });
    expect(locs(plain)).toEqual([
      ['body', 'id'],
      ['body', 'hashed_password'],
      ['body', 'email_verified'],
    ]);
    expect(await userRow(target.id)).toEqual(before);
  });
});

describe('every JSON route', () => {
  it('refuses prototype keys even where the route takes no body fields at all', async () => {
    const { headers } = await signedIn();
    const response = await json('POST', '/api/v1/auth/logout', '{"__proto__": {"is_superuser": true}}', headers);
    expect(locs(response)).toEqual([['body', '__proto__']]);
    // Refused before the handler: the session is still there.
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers })).statusCode).toBe(200);
  });
});

describe('prototypeKeys', () => {
  it('finds a key at the bottom of a 100,000-deep body without overflowing the stack', () => {
    let body: unknown = { constructor: { prototype: {} } };
    for (let i = 0; i < 100_000; i += 1) body = [body];
    const [found] = prototypeKeys(body);
    expect(found?.loc).toHaveLength(100_002);
    expect(found?.loc.at(-1)).toBe('constructor');
  });
});
