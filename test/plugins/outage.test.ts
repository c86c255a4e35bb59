import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { createLogger } from '../../src/shared/logger.js';
import { recordResponses } from '../helpers/response-recorder.js';
import { expectError, LogCapture, testConfig } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const FAST_MS = 5000;

describe('when PostgreSQL cannot be reached', () => {
  const logs = new LogCapture();
  let app: FastifyInstance;
  let database: DatabaseHandle;
  let authorization: string;

  beforeAll(async () => {
    // Nothing listens on port 1: every connection attempt fails, as with a stopped server.
    database = await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 1000 });
    app = await buildApp({ config: testConfig(), database, logger: createLogger({ level: 'info' }, logs) });
    recordResponses(app);
    // A token as /auth/login would have issued it before the outage, signed with the test secret.
    const token = await app.services.accessTokens.issue({ userId: 1, sessionId: randomUUID() });
    authorization = `Bearer ${token.access_token}`;
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('answers GET /api/v1/users/me with a valid token with 503 quickly, instead of hanging', async () => {
    const started = Date.now();
    const response = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization } });
    expect(Date.now() - started).toBeLessThan(FAST_MS);
    const error = expectError(response, 503, 'ServiceUnavailableError');
    expect(error.code).toBe('service.unavailable');
    expect(response.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|select|users/i);
    expect(response.headers).toMatchObject({ 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
  });

  it('answers a login with 503 quickly', async () => {
    const started = Date.now();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'someone', password: 'something-secret' },
    });
    expect(Date.now() - started).toBeLessThan(FAST_MS);
    expectError(response, 503, 'ServiceUnavailableError');
  });

  it('logs the failure with the request id, but not the values of the failed query', async () => {
    logs.clear();
    const password = 'outage-password-123';
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'outage@example.com', username: 'outage', password },
    });
    expectError(response, 503, 'ServiceUnavailableError');
    const id = response.headers['x-request-id'];
    const lines = logs.lines.filter((line) => line.request_id === id);
    expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({ level: 'error', status_code: 503 });
    expect(lines.some((line) => line.level === 'error' && JSON.stringify(line).includes('ECONNREFUSED'))).toBe(true);
    // The INSERT of the new user carried its password hash as a parameter.
    for (const raw of logs.raw) {
      expect(raw).not.toContain('$argon2');
      expect(raw).not.toContain(password);
    }
  });

  it('says so on /health/ready, while /health stays up', async () => {
    const started = Date.now();
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(Date.now() - started).toBeLessThan(FAST_MS);
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'unavailable', checks: { database: 'unavailable' } });
    const live = await app.inject({ method: 'GET', url: '/health' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'healthy' });
  });
});

describe('when the database goes away while the service runs', () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let app: FastifyInstance;

  beforeAll(async () => {
    database = await createTestDatabase();
    // On PostgreSQL the app gets a pool of its own to close; the file's database stays for cleaning up.
    handle = database.url ? await openDatabase({ databaseUrl: database.url, poolMax: 2 }) : database.handle;
    app = await buildApp({ config: testConfig(), database: handle, logger: createLogger({ level: 'silent' }) });
    recordResponses(app);
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('answers 503 instead of 500 once it is closed, on the API and on /health/ready', async () => {
    await app.services.users.create({
      email: 'before@example.com',
      username: 'before',
      password: 'password-before-1',
      first_name: null,
      last_name: null,
      is_superuser: false,
    });
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'before', password: 'password-before-1' },
    });
    expect(login.statusCode).toBe(200);
    const headers = { authorization: `Bearer ${login.json().access_token}` };
    expect((await app.inject({ method: 'GET', url: '/api/v1/users/me', headers })).statusCode).toBe(200);

    await handle.close();

    const started = Date.now();
    const me = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers });
    expect(Date.now() - started).toBeLessThan(FAST_MS);
    expectError(me, 503, 'ServiceUnavailableError');
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'unavailable', checks: { database: 'unavailable' } });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
