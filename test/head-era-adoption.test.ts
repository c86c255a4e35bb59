import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createLogger } from '../src/shared/logger.js';
import { expectError, testConfig } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

// A copy of ../shared/fixtures/energyexe-head-era.sql: the FastAPI service's 2026 database (client portal).
const FIXTURE = readFileSync(new URL('./fixtures/energyexe-head-era.sql', import.meta.url), 'utf8');

const ACCOUNTS = {
  admin: { username: 'ee_admin', password: 'ee-admin-pass-1' },
  staff: { username: 'ee_staff', password: 'ee-staff-pass-1' },
  client: { username: 'client_ok', password: 'client-ok-pass-1' },
  pending: { username: 'client_pending', password: 'client-pending-pass-1' },
  unverified: { username: 'client_unverified', password: 'client-unverified-pass-1' },
  off: { username: 'client_off', password: 'client-off-pass-1' },
  mixed: { username: 'Mixed.Case', email: 'Mixed.Case@Example.com', password: 'mixed-case-pass-1' },
};
const LEGACY_VERIFY_TOKEN = 'legacy-verify-token-0123456789abcdefghijklmnop';
const LEGACY_INVITE_TOKENS = [
  'invite-valid-token-0123456789abcdefghijklmnopq',
  'invite-used-token-0123456789abcdefghijklmnopqr',
  'invite-expired-token-0123456789abcdefghijklmno',
];
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Tables of the FastAPI service that this service does not own: checksummed before and after. */
const UNTOUCHED: Record<string, string> = {
  audit_logs: "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) AS sum FROM audit_logs t",
  windfarms: "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) AS sum FROM windfarms t",
  user_favorites: "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) AS sum FROM user_favorites t",
  alembic_version: "SELECT md5(string_agg(t::text, E'\\n' ORDER BY version_num)) AS sum FROM alembic_version t",
};
const STRUCTURE = `SELECT table_name, md5(string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, ''), ',' ORDER BY ordinal_position)) AS sum
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN ('audit_logs', 'windfarms', 'user_favorites', 'alembic_version')
  GROUP BY table_name ORDER BY table_name`;

describe('adopting the FastAPI service 2026 database (client portal)', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const before: Record<string, unknown> = {};

  const checksums = async () => {
    const out: Record<string, unknown> = {};
    for (const [table, query] of Object.entries(UNTOUCHED)) out[table] = (await database.query(query))[0];
    out.structure = await database.query(STRUCTURE);
    return out;
  };
  const login = (username: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  const tokenOf = async (account: { username: string; password: string }) => {
    const response = await login(account.username, account.password);
    expect(response.statusCode).toBe(200);
    return { authorization: `Bearer ${response.json().access_token}` };
  };

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    await database.query(FIXTURE);
    Object.assign(before, await checksums());
    await database.handle.migrate();
    app = await buildApp({
      config: testConfig({ REGISTRATION_MODE: 'approval' }),
      database: database.handle,
      logger: createLogger({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('keeps every user with their role, approval, verification, company and phone', async () => {
    const rows = await database.query(
      'SELECT id, username, role, is_superuser, is_active, is_approved, email_verified, company_name, phone, approved_by_id FROM users ORDER BY id',
    );
    expect(rows).toEqual([
      {
        id: 1,
        username: 'ee_admin',
        role: 'admin',
        is_superuser: true,
        is_active: true,
        is_approved: true,
        email_verified: true,
        company_name: null,
        phone: null,
        approved_by_id: null,
      },
      {
        id: 2,
        username: 'ee_staff',
        role: 'admin',
        is_superuser: false,
        is_active: true,
        is_approved: true,
        email_verified: true,
        company_name: null,
        phone: null,
        approved_by_id: null,
      },
      {
        id: 3,
        username: 'client_ok',
        role: 'client',
        is_superuser: false,
        is_active: true,
        is_approved: true,
        email_verified: true,
        company_name: 'WindCo',
        phone: '+45 20 12 34 56',
        approved_by_id: 1,
      },
      {
        id: 4,
        username: 'client_pending',
        role: 'client',
        is_superuser: false,
        is_active: true,
        is_approved: false,
        email_verified: true,
        company_name: 'SolarCo',
        phone: null,
        approved_by_id: null,
      },
      {
        id: 5,
        username: 'client_unverified',
        role: 'client',
        is_superuser: false,
        is_active: true,
        is_approved: false,
        email_verified: false,
        company_name: 'HydroCo',
        phone: null,
        approved_by_id: null,
      },
      {
        id: 6,
        username: 'client_off',
        role: 'client',
        is_superuser: false,
        is_active: false,
        is_approved: true,
        email_verified: true,
        company_name: 'WindCo',
        phone: null,
        approved_by_id: 1,
      },
      {
        id: 7,
        username: 'Mixed.Case',
        role: 'client',
        is_superuser: false,
        is_active: true,
        is_approved: true,
        email_verified: true,
        company_name: null,
        phone: null,
        approved_by_id: 2,
      },
    ]);
  });

  it('reads the naive timestamps as UTC, and every timestamp column of its tables is timestamptz', async () => {
    const [row] = await database.query<{ approved_at: Date | string; created_at: Date | string }>(
      'SELECT approved_at, created_at FROM users WHERE id = 3',
    );
    expect(new Date(row?.approved_at as string).toISOString()).toBe('2026-02-02T10:30:00.000Z');
    const naive = await database.query(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'timestamp without time zone' AND table_name IN ('users', 'invitations', 'user_features', 'user_consents') ORDER BY 1, 2",
    );
    expect(naive).toEqual([]);
  });

  it('leaves audit_logs, the energy tables and alembic_version exactly as they were', async () => {
    expect(await checksums()).toEqual(before);
  });

  it('keeps no plaintext token: the users columns are gone, invitations hold the SHA-256 of theirs', async () => {
    const columns = await database.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN ('users', 'invitations') AND column_name LIKE '%token%' ORDER BY 1",
    );
    expect(columns.map((c) => c.column_name)).toEqual(['token_hash']);
    const invitations = await database.query<{ id: number; token_hash: string; invited_by_id: number }>(
      'SELECT id, token_hash, invited_by_id, role, revoked_at FROM invitations ORDER BY id',
    );
    expect(invitations).toEqual(
      LEGACY_INVITE_TOKENS.map((token, i) => ({
        id: i + 1,
        token_hash: sha256(token),
        invited_by_id: i === 1 ? 1 : 2,
        role: 'client',
        revoked_at: null,
      })),
    );
    for (const table of ['users', 'invitations', 'one_time_tokens']) {
      const [found] = await database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} t WHERE t::text LIKE '%-token-0123456789%'`,
      );
      expect(found?.n).toBe(0);
    }
  });

  it('logs bcrypt users in (username case kept, email in any case) and re-hashes them with argon2id', async () => {
    await tokenOf(ACCOUNTS.mixed);
    const [row] = await database.query<{ h: string }>('SELECT hashed_password AS h FROM users WHERE id = 7');
    expect(row?.h).toMatch(/^\$argon2id\$/);
    expect((await login(ACCOUNTS.mixed.email, ACCOUNTS.mixed.password)).statusCode).toBe(200);
    expect((await login('mixed.case', ACCOUNTS.mixed.password)).statusCode).toBe(200);
  });

  it('keeps a client’s feature flags and consents, and admins administer', async () => {
    const client = await tokenOf(ACCOUNTS.client);
    const me = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: client });
    expect(me.json()).toMatchObject({
      username: 'client_ok',
      role: 'client',
      is_approved: true,
      company_name: 'WindCo',
      phone: '+45 20 12 34 56',
      approved_at: '2026-02-02T10:30:00.000Z',
      features: { can_view_dashboard: true, can_view_reports: true, can_export_data: false, can_view_analytics: true },
    });
    const consents = await database.query(
      "SELECT document_type, document_version, to_char(accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS at FROM user_consents WHERE user_id = 3 ORDER BY id",
    );
    expect(consents).toEqual([
      { document_type: 'terms', document_version: '2026-05-13', at: '2026-05-22 09:14:03' },
      { document_type: 'privacy', document_version: '2026-05-13', at: '2026-05-22 09:14:03' },
    ]);

    const staff = await tokenOf(ACCOUNTS.staff);
    const staffMe = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: staff });
    expect(staffMe.json()).toMatchObject({ role: 'admin', is_superuser: false });
    const superuser = await tokenOf(ACCOUNTS.admin);
    const list = await app.inject({ method: 'GET', url: '/api/v1/users', headers: superuser });
    expect(list.headers['x-total-count']).toBe('7');
  });

  it('keeps the pending client waiting (403 auth.pending_approval) and the deactivated one out', async () => {
    expect(
      expectError(await login(ACCOUNTS.pending.username, ACCOUNTS.pending.password), 403, 'AuthorizationError').code,
    ).toBe('auth.pending_approval');
    expectError(await login(ACCOUNTS.pending.username, 'wrong-password'), 401, 'AuthenticationError');
    expect(
      expectError(await login(ACCOUNTS.off.username, ACCOUNTS.off.password), 403, 'AuthorizationError').message,
    ).toBe('Inactive user');
  });

  it('honours the verification link sent before the move, once', async () => {
    const verify = () =>
      app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: LEGACY_VERIFY_TOKEN } });
    expect((await verify()).statusCode).toBe(200);
    const [row] = await database.query<{ email_verified: boolean }>('SELECT email_verified FROM users WHERE id = 5');
    expect(row?.email_verified).toBe(true);
    expectError(await verify(), 400, 'BadRequestError');
  });

  it('refuses with 409 to delete a user that user_favorites refers to, and changes nothing', async () => {
    const superuser = await tokenOf(ACCOUNTS.admin);
    const response = await app.inject({ method: 'DELETE', url: '/api/v1/users/3', headers: superuser });
    expect(expectError(response, 409, 'ConflictError').code).toBe('users.referenced');
    const [row] = await database.query<{ n: number }>(
      'SELECT (SELECT count(*) FROM users WHERE id = 3)::int + (SELECT count(*) FROM user_features WHERE user_id = 3)::int + (SELECT count(*) FROM user_consents WHERE user_id = 3)::int AS n',
    );
    expect(row?.n).toBe(1 + 4 + 2);
    expect(await checksums()).toEqual(before);
  });

  it('deletes an admin who approved and invited others: their invitations and approvals stay, without them', async () => {
    const superuser = await tokenOf(ACCOUNTS.admin);
    const response = await app.inject({ method: 'DELETE', url: '/api/v1/users/2', headers: superuser });
    expect(response.statusCode).toBe(200);
    const invitations = await database.query('SELECT id, invited_by_id FROM invitations ORDER BY id');
    expect(invitations).toEqual([
      { id: 1, invited_by_id: null },
      { id: 2, invited_by_id: 1 },
      { id: 3, invited_by_id: null },
    ]);
    const [mixed] = await database.query('SELECT is_approved, approved_by_id FROM users WHERE id = 7');
    expect(mixed).toEqual({ is_approved: true, approved_by_id: null });
  });

  it('running the migrations again changes nothing', async () => {
    await database.handle.migrate();
    const [row] = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    expect(row?.n).toBe(6);
  });
});
