import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createLogger } from '../src/shared/logger.js';
import { expectError, testConfig } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

// A copy of ../shared/fixtures/energyexe-head-era.sql: the FastAPI service's 2026 database, whose
// invitations kept their tokens in plaintext.
const FIXTURE = readFileSync(new URL('./fixtures/energyexe-head-era.sql', import.meta.url), 'utf8');
const VALID = 'invite-valid-token-0123456789abcdefghijklmnopq';
const USED = 'invite-used-token-0123456789abcdefghijklmnopqr';
const EXPIRED = 'invite-expired-token-0123456789abcdefghijklmno';
const STAFF = { username: 'ee_staff', password: 'ee-staff-pass-1' };
const RATE_LIMIT = 5;

describe('invitations sent by the FastAPI service, after adopting its 2026 database', () => {
  let database: TestDatabase;
  let app: FastifyInstance;

  const check = (token: string, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'GET', url: `/api/v1/auth/invitation/${token}`, remoteAddress });
  const accept = (token: string, remoteAddress = '127.0.0.1') =>
    app.inject({
      method: 'POST',
      url: `/api/v1/auth/invitation/${token}/accept`,
      remoteAddress,
      payload: { first_name: 'New', last_name: 'Person', password: 'harbour-gale-windmill-72', company_name: 'WindCo' },
    });

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    await database.query(FIXTURE);
    await database.handle.migrate();
    app = await buildApp({
      config: testConfig({ REGISTRATION_MODE: 'invite_only', RATE_LIMIT_LOGIN_PER_MINUTE: String(RATE_LIMIT) }),
      database: database.handle,
      logger: createLogger({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('keeps no plaintext token in the invitations table', async () => {
    const [found] = await database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM invitations t WHERE t::text LIKE '%invite-%'",
    );
    expect(found?.n).toBe(0);
  });

  it('answers the used and the expired link as such, and the pending one as valid', async () => {
    expect((await check(USED)).json()).toEqual({
      valid: false,
      email: null,
      message: 'This invitation has already been used',
    });
    expect((await check(EXPIRED)).json()).toEqual({
      valid: false,
      email: null,
      message: 'This invitation has expired',
    });
    expect((await check(VALID)).json()).toEqual({ valid: true, email: 'new.person@windco.example', message: null });
  });

  it('lists them for an admin with their status and sender', async () => {
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: STAFF });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/admin/invitations',
      headers: { authorization: `Bearer ${login.json().access_token}` },
    });
    expect(response.headers['x-total-count']).toBe('3');
    const byId = Object.fromEntries(
      response
        .json()
        .map((i: { id: number; status: string; invited_by_id: number }) => [i.id, [i.status, i.invited_by_id]]),
    );
    expect(byId).toEqual({ 1: ['pending', 2], 2: ['used', 1], 3: ['expired', 2] });
  });

  it('accepts the pending link once: an approved, verified client approved by its inviter', async () => {
    const response = await accept(VALID);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      email: 'new.person@windco.example',
      username: 'new.person',
      role: 'client',
      is_approved: true,
      email_verified: true,
    });
    const [row] = await database.query('SELECT approved_by_id FROM users WHERE email = $1', [
      'new.person@windco.example',
    ]);
    expect(row).toEqual({ approved_by_id: 2 });
    expect(expectError(await accept(VALID), 400, 'BadRequestError').code).toBe('invitations.token_used');
    expect(expectError(await accept(EXPIRED), 400, 'BadRequestError').code).toBe('invitations.token_expired');
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'new.person@windco.example', password: 'harbour-gale-windmill-72' },
    });
    expect(login.statusCode).toBe(200);
  });

  it('rate limits the public invitation routes per client IP, like the other credential routes', async () => {
    for (let i = 0; i < RATE_LIMIT; i++) expect((await check('guess', '10.9.9.9')).statusCode).toBe(200);
    const limited = await check('guess', '10.9.9.9');
    expectError(limited, 429, 'RateLimitError');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await check('guess', '10.9.9.10')).statusCode).toBe(200);

    for (let i = 0; i < RATE_LIMIT; i++) expect((await accept('guess', '10.9.9.11')).statusCode).toBe(400);
    expectError(await accept('guess', '10.9.9.11'), 429, 'RateLimitError');
  });
});
