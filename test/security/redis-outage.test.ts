import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { REDIS_CLIENT_OPTIONS } from '../../src/shared/counter-store.js';
import { createLogger } from '../../src/shared/logger.js';
import { freePort } from '../helpers/spawned-process.js';
import { expectError, LogCapture, testConfig } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

// Battery item 8 (OWASP ASVS 5.0 V6.3.1 / V16, API4:2023): a dependency going away neither turns the limits
// off nor hangs a request, and the service comes back on its own.

const LIMITS = { RATE_LIMIT_LOGIN_PER_MINUTE: '3', LOGIN_MAX_FAILURES: '3', RATE_LIMIT_PER_MINUTE: '100' };
/** Far below any hang, far above a normal answer: each request must come back within it. */
const FAST_MS = 1500;

let nextAddress = 0;
const freshAddress = () => {
  nextAddress += 1;
  return `198.51.100.${nextAddress}`;
};

async function timed<T>(run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  expect(performance.now() - started).toBeLessThan(FAST_MS);
  return result;
}

const login = (app: FastifyInstance, username: string, password: string, remoteAddress: string) =>
  timed(() =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { username, password } }),
  );

const ready = (app: FastifyInstance) => timed(() => app.inject({ method: 'GET', url: '/health/ready' }));

const switches = (logs: LogCapture) => ({
  down: logs.lines.filter((line) => String(line.msg).startsWith('Redis unavailable')).length,
  up: logs.lines.filter((line) => String(line.msg).startsWith('Redis available again')).length,
});

/** The account whose failed logins the per-account throttle counts. */
const createAlice = (app: FastifyInstance) =>
  app.services.users.create({
    email: 'alice@example.com',
    username: 'alice',
    password: 'alice-real-passphrase-1',
    first_name: null,
    last_name: null,
    is_superuser: false,
  });

/** The app of a test, on a database of its own, with a Redis client as the server makes it. */
async function appWith(redis: Redis, logs: LogCapture) {
  const database = await createTestDatabase();
  const app = await buildApp({
    config: testConfig(LIMITS),
    database: database.handle,
    logger: createLogger({ level: 'info' }, logs),
    redis,
  });
  await app.ready();
  return { app, database, user: await createAlice(app) };
}

/** The limits, checked through the API: per address (3 a minute) and per account (3 failures). */
async function expectLimitsHold(app: FastifyInstance) {
  const attacker = freshAddress();
  for (let i = 0; i < 3; i++) expect((await login(app, `someone${i}`, 'a-guess-1', attacker)).statusCode).toBe(401);
  expect(expectError(await login(app, 'someone9', 'a-guess-1', attacker), 429, 'RateLimitError').code).toBe(
    'request.rate_limited',
  );
  for (let i = 0; i < 3; i++) {
    expect((await login(app, 'alice', `wrong-guess-${i}`, freshAddress())).statusCode).toBe(401);
  }
  const right = await login(app, 'alice', 'alice-real-passphrase-1', freshAddress());
  expect(expectError(right, 429, 'RateLimitError').code).toBe('auth.login_throttled');
}

describe('REDIS_URL pointing at a port where nothing listens', () => {
  const logs = new LogCapture();
  let redis: Redis;
  let app: FastifyInstance;
  let database: TestDatabase;

  beforeAll(async () => {
    redis = new Redis(`redis://127.0.0.1:${await freePort()}`, REDIS_CLIENT_OPTIONS);
    redis.on('error', () => {});
    ({ app, database } = await appWith(redis, logs));
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    redis?.disconnect();
  });

  it('keeps every limit, counted in memory, and answers without waiting on Redis', async () => {
    await expectLimitsHold(app);
    const sessions = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions');
    expect(sessions[0]?.n).toBe(0);
  });

  it('stays ready, with Redis reported unavailable, and says so in the log once', async () => {
    const response = await ready(app);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'unavailable' } });
    expect(switches(logs)).toEqual({ down: 1, up: 0 });
  });
});

let redisServerAvailable = true;
try {
  execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
} catch {
  redisServerAvailable = false;
}

/** A Redis server of this test's own, on a free port, with nothing saved to disk; never the shared one. */
async function startRedisServer(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server exited:\n${output}`)));
  });
  return child;
}

describe.skipIf(!redisServerAvailable)('Redis stopped while the service runs, then started again', () => {
  const logs = new LogCapture();
  const dir = mkdtempSync(join(tmpdir(), 'energyexe-redis-'));
  let port = 0;
  let server: ChildProcess | undefined;
  let redis: Redis;
  let inspect: Redis;
  let app: FastifyInstance;
  let database: TestDatabase;

  beforeAll(async () => {
    port = await freePort();
    server = await startRedisServer(port, dir);
    redis = new Redis(`redis://127.0.0.1:${port}`, REDIS_CLIENT_OPTIONS);
    redis.on('error', () => {});
    await once(redis, 'ready');
    ({ app, database } = await appWith(redis, logs));
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    redis?.disconnect();
    inspect?.disconnect();
    server?.kill('SIGKILL');
  });

  const inspector = () => {
    inspect?.disconnect();
    inspect = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: false, maxRetriesPerRequest: 1 });
    inspect.on('error', () => {});
    return inspect;
  };

  it('counts in Redis while it is up', async () => {
    expect((await login(app, 'alice', 'wrong-guess-0', freshAddress())).statusCode).toBe(401);
    const keys = await inspector().keys('energyexe:*');
    expect(keys).toEqual(
      expect.arrayContaining([
        'energyexe:login-throttle:user:1',
        expect.stringMatching(/^energyexe:rate-limit:POST\/api\/v1\/auth\/login-/),
      ]),
    );
    expect(switches(logs)).toEqual({ down: 0, up: 0 });
  });

  it('keeps every limit from memory once it is stopped, never waiting on it, and logs the switch once', async () => {
    const exited = once(server as ChildProcess, 'exit');
    server?.kill('SIGKILL');
    await exited;
    await expectLimitsHold(app);
    const response = await ready(app);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'unavailable' } });
    expect(switches(logs)).toEqual({ down: 1, up: 0 });
  });

  it('goes back to Redis by itself when it is started again', async () => {
    server = await startRedisServer(port, dir);
    // The client reconnects on its own (every 2 s at most); nothing in the service is restarted.
    const deadline = Date.now() + 15_000;
    while (redis.status !== 'ready' && Date.now() < deadline) await once(redis, 'ready').catch(() => {});
    expect((await ready(app)).json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });

    const attacker = freshAddress();
    expect((await login(app, 'nobody', 'a-guess-1', attacker)).statusCode).toBe(401);
    const keys = await inspector().keys(`energyexe:rate-limit:*${attacker}`);
    expect(keys).toHaveLength(1);
    expect(switches(logs)).toEqual({ down: 1, up: 1 });
  });
});

describe('PostgreSQL unreachable', () => {
  let app: FastifyInstance;
  let database: DatabaseHandle;

  beforeAll(async () => {
    database = await openDatabase({
      databaseUrl: `postgres://postgres@127.0.0.1:${await freePort()}/test`,
      connectTimeoutMs: 1000,
    });
    app = await buildApp({ config: testConfig(LIMITS), database, logger: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('answers 503 fast, and the per-address limit still refuses the 4th attempt', async () => {
    const attacker = freshAddress();
    for (let i = 0; i < 3; i++) {
      expectError(await login(app, 'alice', `guess-${i}`, attacker), 503, 'ServiceUnavailableError');
    }
    expectError(await login(app, 'alice', 'guess-3', attacker), 429, 'RateLimitError');
    const response = await ready(app);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: 'unavailable', checks: { database: 'unavailable' } });
  });
});

/** A TCP relay to the real PostgreSQL that the test can cut and restore, as a database restart would. */
function createRelay(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    async start(port: number) {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise((resolve) => server?.close(resolve));
    },
  };
}

describe.skipIf(!process.env.TEST_DATABASE_URL)('PostgreSQL going away and coming back', () => {
  let testDatabase: TestDatabase;
  let handle: DatabaseHandle;
  let app: FastifyInstance;
  let relay: ReturnType<typeof createRelay>;
  let port = 0;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    const real = new URL(testDatabase.url as string);
    relay = createRelay({ host: real.hostname, port: Number(real.port || 5432) });
    port = await freePort();
    await relay.start(port);
    const viaRelay = new URL(real);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(port);
    handle = await openDatabase({ databaseUrl: viaRelay.toString(), poolMax: 2, connectTimeoutMs: 1000 });
    app = await buildApp({ config: testConfig(LIMITS), database: handle, logger: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    await app?.close();
    await handle?.close();
    await relay?.stop();
    await testDatabase?.close();
  });

  it('answers 503 fast while it is away, keeps the limits, and serves again once it is back', async () => {
    await createAlice(app);
    const signedIn = await login(app, 'alice', 'alice-real-passphrase-1', freshAddress());
    expect(signedIn.statusCode).toBe(200);
    const headers = { authorization: `Bearer ${signedIn.json().access_token}` };
    const me = () => timed(() => app.inject({ method: 'GET', url: '/api/v1/users/me', headers }));

    await relay.stop();
    expectError(await me(), 503, 'ServiceUnavailableError');
    expect((await ready(app)).statusCode).toBe(503);
    const attacker = freshAddress();
    for (let i = 0; i < 3; i++) expect((await login(app, 'alice', `guess-${i}`, attacker)).statusCode).toBe(503);
    expectError(await login(app, 'alice', 'guess-3', attacker), 429, 'RateLimitError');

    await relay.start(port);
    // The pool replaces its broken connections by itself; nothing in the service is restarted.
    const deadline = Date.now() + 10_000;
    let status = (await me()).statusCode;
    while (status !== 200 && Date.now() < deadline) status = (await me()).statusCode;
    expect(status).toBe(200);
    expect((await ready(app)).statusCode).toBe(200);
    const rows = await testDatabase.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_events WHERE event = 'auth.login.succeeded'",
    );
    expect(rows[0]?.n).toBe(1);
  });
});
