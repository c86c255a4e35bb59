import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createUsersRepository } from '../../src/modules/users/users.repository.js';
import { createLogger } from '../../src/shared/logger.js';
import { tokenFrom } from '../helpers/smtp.js';
import { expectError, testConfig, testPasswordHasher, useTestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

// Battery item 5 (OWASP ASVS 5.0 V6.3.1, API4:2023): guessing spread over many addresses is stopped per
// account; guessing over many accounts from one address is stopped per address.

const MINUTE = 60_000;
/** The address every injected request comes from: the reverse proxy, when TRUST_PROXY trusts it. */
const PROXY = '127.0.0.1';

const ctx = useTestApp(
  {
    TRUST_PROXY: PROXY,
    LOGIN_MAX_FAILURES: '10',
    LOGIN_LOCKOUT_MAX_MINUTES: '15',
    RATE_LIMIT_LOGIN_PER_MINUTE: '30',
    RATE_LIMIT_PER_MINUTE: '600',
  },
  { smtp: true },
);

// The counters live in the app's memory for the whole file while the database is emptied before each test (so
// ids repeat): each test starts days after the last one, past every earlier window and lock.
let epoch = 0;
beforeEach(() => {
  epoch += 1;
  ctx.clock.advance(epoch * 24 * 60 * MINUTE);
});

let nextAddress = 0;
/** A client address of its own (TEST-NET-3 and 198.18/15), so the per-address limit never mixes tests up. */
const freshAddress = () => {
  nextAddress += 1;
  return `198.18.${Math.floor(nextAddress / 250)}.${(nextAddress % 250) + 1}`;
};

const login = (username: string, password: string, clientIp = freshAddress()) =>
  ctx.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    remoteAddress: PROXY,
    headers: { 'x-forwarded-for': clientIp },
    payload: { username, password },
  });

const envelope = (response: LightMyRequestResponse) => {
  const { request_id: _id, ...rest } = (response.json() as { error: Record<string, unknown> }).error;
  return rest;
};

const audit = (event: string) =>
  ctx.database.query<{ subject_user_id: number | null; ip: string | null; details: Record<string, unknown> }>(
    'SELECT subject_user_id, ip, details FROM audit_events WHERE event = $1 ORDER BY id',
    [event],
  );
const sessionCount = async (userId: number) =>
  (await ctx.database.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [userId]))[0]
    ?.n;

describe('30 wrong passwords for one account from 30 addresses', () => {
  it('are throttled per account after 10, and the right password is then refused with the same answer', async () => {
    const alice = await ctx.createUser({ username: 'alice', email: 'alice@example.com' });
    const statuses: number[] = [];
    let lastWrong: LightMyRequestResponse | undefined;
    for (let i = 0; i < 30; i++) {
      lastWrong = await login('alice', `wrong-guess-${i}`);
      statuses.push(lastWrong.statusCode);
    }
    expect(statuses).toEqual([...Array(10).fill(401), ...Array(20).fill(429)]);

    const right = await login('alice', alice.password);
    const error = expectError(right, 429, 'RateLimitError');
    expect(error.code).toBe('auth.login_throttled');
    expect(envelope(right)).toEqual(envelope(lastWrong as LightMyRequestResponse));
    const retryAfter = Number(right.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // No session was started, the lock is audited with the account and each client's own address.
    expect(await sessionCount(alice.id)).toBe(0);
    expect(await audit('auth.login.throttled')).toEqual([
      {
        subject_user_id: alice.id,
        ip: expect.stringMatching(/^198\.18\./),
        details: { failures: 10, lock_seconds: 60 },
      },
    ]);
    const failed = await audit('auth.login.failed');
    expect(failed.filter((row) => row.details.reason === 'throttled')).toHaveLength(21);
    expect(new Set(failed.map((row) => row.ip)).size).toBe(31);
  });

  it('count alice, ALICE and alice@example.com as one account', async () => {
    const alice = await ctx.createUser({ username: 'alice', email: 'alice@example.com' });
    const forms = ['alice', 'ALICE', 'alice@example.com', ' Alice@Example.COM'];
    for (let i = 0; i < 10; i++) {
      expect((await login(forms[i % forms.length] as string, `wrong-${i}`)).statusCode).toBe(401);
    }
    for (const form of forms) {
      expect(expectError(await login(form, alice.password), 429, 'RateLimitError').code).toBe('auth.login_throttled');
    }
  });

  it('leave every other account alone', async () => {
    const alice = await ctx.createUser({ username: 'alice' });
    const bob = await ctx.createUser({ username: 'bob' });
    for (let i = 0; i < 12; i++) await login('alice', `wrong-${i}`);
    expect((await login('alice', alice.password)).statusCode).toBe(429);
    expect((await login('bob', bob.password)).statusCode).toBe(200);
  });

  it('throttle an identifier that belongs to no account in exactly the same way', async () => {
    const alice = await ctx.createUser({ username: 'alice' });
    const known: LightMyRequestResponse[] = [];
    const unknown: LightMyRequestResponse[] = [];
    for (let i = 0; i < 11; i++) {
      known.push(await login('alice', `wrong-${i}`));
      unknown.push(await login('nobody-here', `wrong-${i}`));
    }
    expect(unknown.map((r) => r.statusCode)).toEqual(known.map((r) => r.statusCode));
    expect(envelope(unknown[10] as LightMyRequestResponse)).toEqual(envelope(known[10] as LightMyRequestResponse));
    expect(envelope(unknown[0] as LightMyRequestResponse)).toEqual(envelope(known[0] as LightMyRequestResponse));
    expect(alice.id).toBeGreaterThan(0);
    // The unknown identifier's lock is audited too, with no account named.
    expect((await audit('auth.login.throttled')).map((row) => row.subject_user_id)).toEqual([alice.id, null]);
  });

  it('start counting again after a successful login', async () => {
    const alice = await ctx.createUser({ username: 'alice' });
    for (let i = 0; i < 9; i++) expect((await login('alice', `wrong-${i}`)).statusCode).toBe(401);
    expect((await login('alice', alice.password)).statusCode).toBe(200);
    for (let i = 0; i < 9; i++) expect((await login('alice', `wrong-${i}`)).statusCode).toBe(401);
    expect((await login('alice', alice.password)).statusCode).toBe(200);
  });
});

describe('after the attacker stops', () => {
  it('the real user gets in once the lock runs out, and its end is audited', async () => {
    const alice = await ctx.createUser({ username: 'alice' });
    for (let i = 0; i < 30; i++) await login('alice', `wrong-${i}`);
    expect((await login('alice', alice.password)).statusCode).toBe(429);

    ctx.clock.advance(MINUTE + 1000);
    expect((await login('alice', alice.password)).statusCode).toBe(200);
    expect(await audit('auth.login.throttle_ended')).toEqual([
      { subject_user_id: alice.id, ip: expect.any(String), details: { reason: 'expired' } },
    ]);
  });

  it('the delay doubles with each further failure, and never exceeds LOGIN_LOCKOUT_MAX_MINUTES', async () => {
    const alice = await ctx.createUser({ username: 'alice' });
    for (let i = 0; i < 10; i++) await login('alice', `wrong-${i}`);
    const delays: number[] = [];
    for (let round = 0; round < 6; round++) {
      const refused = await login('alice', 'still-wrong');
      expect(refused.statusCode).toBe(429);
      const retryAfter = Number(refused.headers['retry-after']);
      delays.push(retryAfter);
      ctx.clock.advance(retryAfter * 1000 + 1000);
      expect((await login('alice', `wrong-again-${round}`)).statusCode).toBe(401);
    }
    // 1, 2, 4, 8 minutes, then the 15-minute cap.
    expect(delays.map((s) => Math.round(s / 60))).toEqual([1, 2, 4, 8, 15, 15]);

    ctx.clock.advance(15 * MINUTE + 1000);
    expect((await login('alice', alice.password)).statusCode).toBe(200);
  });

  it('a password reset ends the lock at once', async () => {
    const alice = await ctx.createUser({ username: 'alice', email: 'alice@example.com' });
    for (let i = 0; i < 10; i++) await login('alice', `wrong-${i}`);
    expect((await login('alice', alice.password)).statusCode).toBe(429);

    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/forgot-password',
      payload: { email: 'alice@example.com' },
    });
    const mail = await ctx
      .mailbox()
      .waitFor((m) => JSON.stringify(m.to).includes('alice@example.com') && /reset/i.test(m.subject ?? ''));
    const reset = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/reset-password',
      payload: { token: tokenFrom(mail), new_password: 'fresh-start-garden-42' },
    });
    expect(reset.statusCode).toBe(200);
    expect((await login('alice', 'fresh-start-garden-42')).statusCode).toBe(200);
    expect((await audit('auth.login.throttle_ended')).map((row) => row.details)).toEqual([
      { reason: 'password_reset' },
    ]);
  });
});

describe('credential stuffing: 50 accounts, one attempt each, from one address', () => {
  it('is stopped per address after RATE_LIMIT_LOGIN_PER_MINUTE attempts', async () => {
    const repository = createUsersRepository(ctx.database.handle.db);
    const hashedPassword = await testPasswordHasher().hash('their-real-password-1');
    for (let i = 0; i < 50; i++) {
      await repository.create({
        email: `victim${i}@example.com`,
        username: `victim${i}`,
        hashedPassword,
        firstName: null,
        lastName: null,
        isActive: true,
        isSuperuser: false,
        emailVerified: true,
      });
    }
    const attacker = freshAddress();
    const answers: LightMyRequestResponse[] = [];
    for (let i = 0; i < 50; i++) answers.push(await login(`victim${i}`, 'leaked-password-1', attacker));

    expect(answers.slice(0, 30).every((r) => r.statusCode === 401)).toBe(true);
    for (const refused of answers.slice(30)) {
      expect(expectError(refused, 429, 'RateLimitError').code).toBe('request.rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['ratelimit-remaining']).toBe('0');
    }
    // Refused before any password check: 30 failures audited, not 50, and no account is throttled.
    expect((await audit('auth.login.failed')).length).toBe(30);
    expect(await audit('auth.login.throttled')).toEqual([]);
    // Another address is not affected.
    expect((await login('victim0', 'their-real-password-1')).statusCode).toBe(200);
  });
});

describe('with TRUST_PROXY off (the default)', () => {
  let database: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await buildApp({
      config: testConfig({ RATE_LIMIT_LOGIN_PER_MINUTE: '5', RATE_LIMIT_PER_MINUTE: '40', LOGIN_MAX_FAILURES: '10' }),
      database: database.handle,
      logger: createLogger({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  const spoofed = (i: number, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress,
      headers: { 'x-forwarded-for': `203.0.113.${i + 1}`, 'x-real-ip': `203.0.113.${i + 1}` },
      payload: { username: `nobody${i}`, password: 'some-guess-1' },
    });

  it('a spoofed X-Forwarded-For changes neither the rate-limit key nor the audited address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await spoofed(i, '192.0.2.10')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const rows = await database.query<{ ip: string }>('SELECT DISTINCT ip FROM audit_events');
    expect(rows).toEqual([{ ip: '192.0.2.10' }]);
  });

  it('the global limit counts every route but the health probes, per address, with RateLimit headers', async () => {
    const client = '192.0.2.20';
    const get = (url: string, remoteAddress = client) =>
      app.inject({ method: 'GET', url, remoteAddress, headers: { 'x-forwarded-for': '203.0.113.99' } });
    const first = await get('/');
    expect(first.statusCode).toBe(200);
    expect(first.headers).toMatchObject({ 'ratelimit-limit': '40', 'ratelimit-remaining': '39' });
    for (let i = 1; i < 40; i++) expect((await get(i % 2 ? '/' : '/api/v1/nowhere')).statusCode).not.toBe(429);

    const refused = await get('/');
    const error = expectError(refused, 429, 'RateLimitError');
    expect(error.code).toBe('request.rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers).toMatchObject({ 'ratelimit-limit': '40', 'ratelimit-remaining': '0' });
    expect(refused.headers['x-frame-options']).toBe('DENY');

    expect((await get('/health')).statusCode).toBe(200);
    expect((await get('/health/ready')).statusCode).toBe(200);
    expect((await get('/', '192.0.2.21')).statusCode).toBe(200);
  });
});
