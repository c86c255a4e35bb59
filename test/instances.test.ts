import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, requestOnNewConnection, type ServerProcess, startServer } from './helpers/server-process.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';
import { createThrowawayRedis, type ThrowawayRedis } from './helpers/throwaway-services.js';

/**
 * Two real server processes, as two replicas behind a load balancer, over one PostgreSQL and one Redis (a Redis of
 * this file's own, so the rate-limit counters of the other test files running at once cannot interfere).
 */
describe.skipIf(!process.env.TEST_DATABASE_URL)('two instances over one database and one Redis', () => {
  let database: TestDatabase;
  let redis: ThrowawayRedis;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    redis = await createThrowawayRedis();
    const env = {
      DATABASE_URL: database.url as string,
      REDIS_URL: redis.url,
      MIGRATE_ON_START: 'true',
      RATE_LIMIT_LOGIN_PER_MINUTE: '6',
      SECRET_KEY: 'instances-test-secret-key-of-32-characters-or-more',
    };
    // Started at once on an empty database: both run the migrations.
    [a, b] = await Promise.all([
      startServer({ ...env, DATA_DIR: mkdtempSync(join(tmpdir(), 'energyexe-a-')) }),
      startServer({ ...env, DATA_DIR: mkdtempSync(join(tmpdir(), 'energyexe-b-')) }),
    ]);
  }, 60_000);
  afterAll(async () => {
    for (const server of [a, b]) server?.child.kill('SIGTERM');
    await Promise.all([a?.exited, b?.exited]);
    killAll();
    await redis?.destroy();
    await database?.close();
  });

  const post = (server: ServerProcess, path: string, body: unknown, token?: string) =>
    requestOnNewConnection(`${server.url}/api/v1${path}`, {
      method: 'POST',
      body,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  const me = (server: ServerProcess, token: string) =>
    requestOnNewConnection(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });

  it('applied the migrations once, though both processes started them at once', async () => {
    const files = readdirSync(new URL('../src/db/migrations', import.meta.url)).filter((f) => f.endsWith('.sql'));
    const applied = await database.query<{ count: string }>(
      'SELECT count(*) AS count FROM drizzle.__drizzle_migrations',
    );
    expect(Number(applied[0]?.count)).toBe(files.length);
  });

  it('accepts a token issued by one on the other, and refuses it on the other right after logout on the first', async () => {
    const credentials = { username: 'replica', password: 'replica-password-1' };
    expect((await post(a, '/auth/register', { ...credentials, email: 'replica@example.com' })).status).toBe(201);
    const login = await post(a, '/auth/login', credentials);
    expect(login.status).toBe(200);
    const token = JSON.parse(login.body).access_token as string;
    const fromB = await me(b, token);
    expect(fromB.status).toBe(200);
    expect(JSON.parse(fromB.body).username).toBe('replica');

    expect((await post(a, '/auth/logout', {}, token)).status).toBe(200);
    const after = await me(b, token);
    expect(after.status).toBe(401);
    expect(JSON.parse(after.body).error.type).toBe('AuthenticationError');
  });

  it('shares the rate-limit counters: attempts on either count toward one limit', async () => {
    const attempt = (server: ServerProcess) =>
      post(server, '/auth/login', { username: 'nobody', password: 'wrong-password' });
    // Six per minute per client address, spread over both: with the login of the test above, five more pass.
    const statuses = [];
    for (const server of [b, a, b, a, b]) statuses.push((await attempt(server)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const limited = await attempt(a);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await attempt(b)).status).toBe(429);
  });
});
