import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { openDatabase } from '../../src/db/client.js';
import { createLogger } from '../../src/shared/logger.js';
import { expectError, testConfig } from '../helpers/test-app.js';

describe('when the database is down', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    // Nothing listens on port 1: every connection attempt fails, as with a stopped server.
    const database = await openDatabase({
      databaseUrl: 'postgresql://postgres@127.0.0.1:1/test',
      connectTimeoutMs: 1000,
    });
    app = await buildApp({ config: testConfig(), database, logger: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    await app?.close();
    await app?.database.close();
  });

  it('answers 503 quickly instead of hanging', async () => {
    const started = Date.now();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'someone', password: 'something' },
    });
    expect(expectError(response, 503, 'ServiceUnavailableError').message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('says so on /health/ready, while /health stays up', async () => {
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'unavailable', checks: { database: 'unavailable' } });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
