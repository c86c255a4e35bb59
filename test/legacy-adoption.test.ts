import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createLogger } from '../src/shared/logger.js';
import { expectError, testConfig } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

// A copy of ../shared/fixtures/fastapi-era-users.sql: the users table as the FastAPI service left it.
const FIXTURE = readFileSync(new URL('./fixtures/fastapi-era-users.sql', import.meta.url), 'utf8');

const LEGACY = {
  alice: { username: 'legacy_alice', email: 'alice@legacy.example', password: 'alice-legacy-pass-1' },
  admin: { username: 'legacy_admin', email: 'admin@legacy.example', password: 'admin-legacy-pass-1' },
  inactive: { username: 'legacy_inactive', email: 'inactive@legacy.example', password: 'inactive-legacy-pass-1' },
};

describe('adopting the FastAPI-era database', () => {
  let database: TestDatabase;
  let app: FastifyInstance;

  const login = (username: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  const storedHash = async (username: string) =>
    (await database.query<{ h: string }>(`SELECT hashed_password AS h FROM users WHERE username = '${username}'`))[0]
      ?.h;

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    await database.query(FIXTURE);
    // A row restored with an explicit id, as dumps do, leaves the serial sequence behind it.
    await database.query(
      "INSERT INTO users (id, email, username, hashed_password, is_active, is_superuser, created_at, updated_at) VALUES (10, 'restored@legacy.example', 'legacy_restored', 'not-a-hash', true, false, '2025-08-01 00:00:00', '2025-08-01 00:00:00')",
    );
    await database.handle.migrate();
    app = await buildApp({
      config: testConfig(),
      database: database.handle,
      logger: createLogger({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('keeps every row with its id, and reads the naive timestamps as UTC', async () => {
    const rows = await database.query<{ id: number; username: string; created_at: Date | string }>(
      'SELECT id, username, created_at FROM users ORDER BY id',
    );
    expect(rows.map((r) => [r.id, r.username])).toEqual([
      [1, 'legacy_alice'],
      [2, 'legacy_admin'],
      [3, 'legacy_inactive'],
      [10, 'legacy_restored'],
    ]);
    expect(new Date(rows[0]?.created_at as string).toISOString()).toBe('2025-07-20T10:00:00.000Z');
  });

  it('makes the adopted accounts approved clients: they signed in before, they still do', async () => {
    const rows = await database.query('SELECT role, is_approved, approved_at FROM users ORDER BY id');
    expect(rows).toEqual(Array(4).fill({ role: 'client', is_approved: true, approved_at: null }));
  });

  it("keeps the FastAPI service's unique indexes and adds case-insensitive ones", async () => {
    const indexes = await database.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY indexname",
    );
    expect(indexes.map((i) => i.indexname)).toEqual(
      expect.arrayContaining([
        'ix_users_email',
        'ix_users_id',
        'ix_users_username',
        'users_email_lower_key',
        'users_username_lower_key',
        'users_pkey',
      ]),
    );
  });

  it('running the migrations again changes nothing', async () => {
    await database.handle.migrate();
    const [{ n }] = (await database.query<{ n: number }>('SELECT count(*)::int AS n FROM users')) as [{ n: number }];
    expect(n).toBe(4);
  });

  it('logs a legacy user in with their passlib bcrypt password and re-hashes it with argon2id', async () => {
    expect(await storedHash(LEGACY.alice.username)).toMatch(/^\$2b\$12\$/);
    const response = await login(LEGACY.alice.username, LEGACY.alice.password);
    expect(response.statusCode).toBe(200);
    expect(await storedHash(LEGACY.alice.username)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    // The new hash works, by email too, and the profile is intact.
    const again = await login(LEGACY.alice.email.toUpperCase(), LEGACY.alice.password);
    expect(again.statusCode).toBe(200);
    const me = await app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${again.json().access_token}` },
    });
    expect(me.json()).toMatchObject({
      id: 1,
      username: 'legacy_alice',
      first_name: 'Alice',
      last_name: 'Legacy',
      created_at: '2025-07-20T10:00:00.000Z',
      updated_at: '2025-07-20T10:00:00.000Z',
    });
  });

  it('refuses a wrong password on a legacy hash with 401 and leaves the hash alone', async () => {
    const response = await login(LEGACY.admin.username, 'not-the-password');
    expectError(response, 401, 'AuthenticationError');
    expect(await storedHash(LEGACY.admin.username)).toMatch(/^\$2b\$/);
  });

  it('lets the legacy superuser administer users', async () => {
    const token = (await login(LEGACY.admin.username, LEGACY.admin.password)).json().access_token;
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-total-count']).toBe('4');
  });

  it('answers 403 "Inactive user" to the inactive legacy user with the right password', async () => {
    const response = await login(LEGACY.inactive.username, LEGACY.inactive.password);
    expect(expectError(response, 403, 'AuthorizationError').message).toBe('Inactive user');
  });

  it('gives the next new user an id past every adopted one', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'new@example.com', username: 'newcomer', password: 'a-new-password' },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json().id).toBe(11);
  });

  it('treats a legacy email in another case as taken', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'ALICE@legacy.example', username: 'alice2', password: 'a-new-password' },
    });
    expectError(response, 409, 'ConflictError');
  });
});
