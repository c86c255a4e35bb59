import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { REDIS_CLIENT_OPTIONS } from '../../src/shared/counter-store.js';
import { createLogger } from '../../src/shared/logger.js';
import { recordResponses } from '../helpers/response-recorder.js';
import { expectError, testConfig, useTestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** An address of this run's own: counters of other runs sharing the Redis server never meet it. */
const uniqueIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

const attempt = (app: FastifyInstance, ip: string, url = '/api/v1/auth/login') =>
  app.inject({
    method: 'POST',
    url,
    remoteAddress: ip,
    payload: { username: 'nobody', password: 'nothing-at-all' },
  });

/** Options of the server's own Redis client (src/server.ts). */
const REDIS_OPTIONS = REDIS_CLIENT_OPTIONS;

/** REDIS_URL when set (CI); else a local Redis only if one answers. */
async function findRedis(): Promise<string | undefined> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const url = 'redis://127.0.0.1:6379';
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await probe.connect();
    await probe.ping();
    return url;
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}

const redisUrl = await findRedis();

describe('rate limiting in memory, RATE_LIMIT_LOGIN_PER_MINUTE=3', () => {
  const ctx = useTestApp({ RATE_LIMIT_LOGIN_PER_MINUTE: '3' });

  it('answers the 4th login attempt from one address within a minute with 429 and Retry-After', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) expect((await attempt(ctx.app, ip)).statusCode).toBe(401);
    const limited = await attempt(ctx.app, ip);
    const error = expectError(limited, 429, 'RateLimitError');
    expect(error.code).toBe('request.rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers['x-frame-options']).toBe('DENY');
  });

  it('counts each address on its own', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 4; i++) await attempt(ctx.app, ip);
    expectError(await attempt(ctx.app, ip), 429, 'RateLimitError');
    expect((await attempt(ctx.app, uniqueIp())).statusCode).toBe(401);
  });

  it('limits the OAuth2 token route as well', async () => {
    const ip = uniqueIp();
    const form = () =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        remoteAddress: ip,
        payload: 'username=nobody&password=nothing-at-all',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    for (let i = 0; i < 3; i++) expect((await form()).statusCode).toBe(401);
    expectError(await form(), 429, 'RateLimitError');
  });

  it('leaves routes without credentials alone', async () => {
    for (let i = 0; i < 10; i++) expect((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

describe('with RATE_LIMIT_LOGIN_PER_MINUTE=0', () => {
  const ctx = useTestApp({ RATE_LIMIT_LOGIN_PER_MINUTE: '0' });

  it('never limits login attempts', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 6; i++) expect((await attempt(ctx.app, ip)).statusCode).toBe(401);
  });
});

describe('when Redis is down', () => {
  let redis: Redis;
  let database: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    // Nothing listens on port 1.
    redis = new Redis('redis://127.0.0.1:1', REDIS_OPTIONS);
    redis.on('error', () => {});
    database = await createTestDatabase();
    app = await buildApp({
      config: testConfig({ RATE_LIMIT_LOGIN_PER_MINUTE: '3' }),
      database: database.handle,
      logger: createLogger({ level: 'silent' }),
      redis,
    });
    recordResponses(app);
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    redis?.disconnect();
  });

  it('still limits logins, counting in memory, and never waits on Redis', async () => {
    const ip = uniqueIp();
    const started = Date.now();
    for (let i = 0; i < 3; i++) expect((await attempt(app, ip)).statusCode).toBe(401);
    expectError(await attempt(app, ip), 429, 'RateLimitError');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports Redis unavailable on /health/ready, and stays ready: the limits work without it', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'unavailable' } });
  });
});

// Runs where a Redis server is (CI sets REDIS_URL); skipped, not faked, elsewhere.
describe.skipIf(!redisUrl)('rate limiting through Redis', () => {
  const ip = uniqueIp();
  let redis: Redis;
  let database: TestDatabase;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    redis = new Redis(redisUrl as string, REDIS_OPTIONS);
    // Without an offline queue, commands sent before the connection is up are counted in memory instead.
    if (redis.status !== 'ready') await once(redis, 'ready');
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const app = await buildApp({
        config: testConfig({ RATE_LIMIT_LOGIN_PER_MINUTE: '3' }),
        database: database.handle,
        logger: createLogger({ level: 'silent' }),
        redis,
      });
      recordResponses(app);
      apps.push(app);
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.close();
    if (redis) {
      // Only this run's counters.
      const keys = await redis.keys(`energyexe:rate-limit:*-${ip}`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('shares one counter between two app instances', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    expect((await attempt(a, ip)).statusCode).toBe(401);
    expect((await attempt(b, ip)).statusCode).toBe(401);
    expect((await attempt(a, ip)).statusCode).toBe(401);
    const limited = await attempt(b, ip);
    expectError(limited, 429, 'RateLimitError');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await redis.keys(`energyexe:rate-limit:*-${ip}`)).length).toBeGreaterThan(0);
  });

  it('reports Redis in the readiness checks', async () => {
    const response = await (apps[0] as FastifyInstance).inject({ method: 'GET', url: '/health/ready' });
    expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });
});
