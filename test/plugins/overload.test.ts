import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { expectError, testConfig } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const SAMPLE_MS = 100;

const busyWait = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Holding the event loop, as a CPU-bound burst of work would.
  }
};

describe('under overload (@fastify/under-pressure)', () => {
  let database: TestDatabase | undefined;
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    await database?.close();
  });

  async function start(config: Config) {
    database = await createTestDatabase();
    app = await buildApp({
      config,
      database: database.handle,
      logger: createLogger({ level: 'silent' }),
      overloadSampleIntervalMs: SAMPLE_MS,
    });
    await app.ready();
    // Past the start-up grace and at least one measure.
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS * 4));
    return app;
  }

  it('answers 503 with Retry-After in the envelope while the heap is above OVERLOAD_MAX_HEAP_USED_MB; probes answer', async () => {
    const server = await start(testConfig({ OVERLOAD_MAX_HEAP_USED_MB: '1' }));
    const refused = await server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: {} });
    const error = expectError(refused, 503, 'ServiceUnavailableError');
    expect(error.code).toBe('service.overloaded');
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.headers['x-frame-options']).toBe('DENY');
    expect((await server.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const ready = await server.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
  });

  it('answers 503 while the event loop is held past OVERLOAD_MAX_EVENT_LOOP_DELAY_MS, and serves again after', async () => {
    const server = await start(testConfig({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '10' }));
    // Short holds, many per measure: a loop that is busy all the time, not one long stall.
    const stall = setInterval(() => busyWait(40), 45);
    try {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS * 6));
      const refused = await server.inject({ method: 'GET', url: '/api/v1/users/me' });
      expect(expectError(refused, 503, 'ServiceUnavailableError').code).toBe('service.overloaded');
      expect(refused.headers['retry-after']).toBe('5');
      expect((await server.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      clearInterval(stall);
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS * 6));
    // Past the overload: the route's own answer again (no token: 401).
    expect((await server.inject({ method: 'GET', url: '/api/v1/users/me' })).statusCode).toBe(401);
  });

  it('never refuses with the thresholds at 0', async () => {
    const server = await start(testConfig({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_HEAP_USED_MB: '0' }));
    const stall = setInterval(() => busyWait(40), 45);
    try {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS * 6));
      expect((await server.inject({ method: 'GET', url: '/api/v1/users/me' })).statusCode).toBe(401);
    } finally {
      clearInterval(stall);
    }
  });
});
