import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  jsonRequest,
  killAll,
  readUntilClosed,
  requestOnNewConnection,
  type ServerProcess,
  startServer,
} from './helpers/server-process.js';
import { createTestDatabase, migratedDataDir, type TestDatabase } from './helpers/test-database.js';

/**
 * The reproduction lost requests in 4 runs out of 5; this many clean runs in a row make a fluke unlikely.
 * Fewer on the embedded database, whose start-up takes seconds, to keep that pass fast.
 */
const ROUNDS = process.env.TEST_DATABASE_URL ? 5 : 1;
const CREDENTIALS = { username: 'drain', password: 'drain-password-1' };

/** What the server sent until it closed the connection, or the error that ended it (a reset) in the text. */
const readOrError = (socket: Socket) =>
  readUntilClosed(socket).catch((error: Error) => `connection error: ${error.message}`);

/** The status of every response on a raw connection, in order. */
const statuses = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));

describe('graceful shutdown of the built server', () => {
  let database: TestDatabase | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    const dataDir = migratedDataDir('energyexe-drain-');
    // Load shedding off: on this shared machine the embedded database (which runs on the event loop) can stall it
    // past the threshold, and a 503 "overloaded" is not what this file is about (test/plugins/overload.test.ts is).
    // Generous timeouts: the machine running the suite may be far busier than a server, and a 503 for a pool
    // wait (test/faults.test.ts covers those) is not what this file is about.
    env = {
      DATA_DIR: dataDir,
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_SECONDS: '30',
      DB_POOL_TIMEOUT_MS: '10000',
      DB_STATEMENT_TIMEOUT_MS: '10000',
    };
    if (process.env.TEST_DATABASE_URL) {
      database = await createTestDatabase();
      env.DATABASE_URL = database.url as string;
    }
    const server = await startServer(env);
    const registered = await requestOnNewConnection(`${server.url}/api/v1/auth/register`, {
      method: 'POST',
      body: { ...CREDENTIALS, email: 'drain@example.com' },
    });
    expect(registered.status).toBe(201);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
  afterEach(() => killAll());
  afterAll(async () => {
    killAll();
    await database?.close();
  });

  const login = (server: ServerProcess) =>
    requestOnNewConnection(`${server.url}/api/v1/auth/login`, { method: 'POST', body: CREDENTIALS });

  it(`answers every login already sent when SIGTERM arrives 0.2 s later, and exits 0 (${ROUNDS} rounds)`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const server = await startServer(env);
      // Keep-alive connections that are idle when the signal comes, then get a request right after it.
      const idle = await Promise.all([1, 2, 3].map(() => connect(server.port)));
      const idleDone = idle.map(readOrError);
      for (const socket of idle) socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await sleep(50);

      const logins = Array.from({ length: 30 }, () => login(server));
      await sleep(200);
      // Connected, their request written, but not read by the server yet when the signal arrives.
      const late = await Promise.all([1, 2, 3].map(() => connect(server.port)));
      const lateDone = late.map(readOrError);
      for (const socket of late) socket.write(jsonRequest('/api/v1/auth/login', CREDENTIALS));
      server.child.kill('SIGTERM');
      for (const socket of idle) socket.write(jsonRequest('/api/v1/auth/login', CREDENTIALS));

      const answers = await Promise.allSettled(logins);
      const failed = answers.filter((a) => a.status === 'rejected' || a.value.status !== 200);
      expect(
        failed,
        `round ${round}: ${JSON.stringify(failed).slice(0, 300)}\n${server.output().slice(-2000)}`,
      ).toEqual([]);
      for (const answer of answers) {
        if (answer.status === 'fulfilled') expect(JSON.parse(answer.value.body).token_type).toBe('bearer');
      }
      // The server closes each connection after its answer: readUntilClosed resolves.
      for (const raw of await Promise.all(lateDone)) expect(statuses(raw), `round ${round}: ${raw}`).toEqual([200]);
      for (const raw of await Promise.all(idleDone)) {
        expect(statuses(raw), `round ${round}`).toEqual([200, 200]);
      }
      expect(await server.exited).toBe(0);
      expect(server.output()).toContain('"msg":"shutdown complete"');
    }
  }, 120_000);

  it('with SHUTDOWN_DELAY_SECONDS, readiness turns 503 at once while requests are still served', async () => {
    const server = await startServer({ ...env, SHUTDOWN_DELAY_SECONDS: '2' });
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    await server.waitFor('"msg":"shutting down"');
    const ready = await requestOnNewConnection(`${server.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'unavailable', checks: { shutdown: 'unavailable' } });
    expect((await requestOnNewConnection(`${server.url}/health`)).status).toBe(200);
    expect((await login(server)).status).toBe(200);
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(2000);
  });

  it('exits 1 once SHUTDOWN_TIMEOUT_SECONDS has passed with a request still unfinished', async () => {
    const server = await startServer({ ...env, SHUTDOWN_TIMEOUT_SECONDS: '1' });
    // Headers begun but never finished: a request the server cannot answer.
    const stuck = await connect(server.port);
    stuck.write('GET /health HTTP/1.1\r\nHost: local');
    await sleep(100);
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(Date.now() - signalledAt).toBeLessThan(5000);
    expect(server.output()).toContain('shutdown timed out');
    stuck.destroy();
  });

  it('exits at once on a second signal', async () => {
    const server = await startServer({ ...env, SHUTDOWN_DELAY_SECONDS: '30' });
    server.child.kill('SIGTERM');
    await server.waitFor('"msg":"shutting down"');
    const signalledAt = Date.now();
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(1);
    expect(Date.now() - signalledAt).toBeLessThan(2000);
    expect(server.output()).toContain('second signal, exiting now');
  });

  it.skipIf(process.env.TEST_DATABASE_URL)(
    'refuses WEB_CONCURRENCY > 1 on the embedded database, saying to set DATABASE_URL',
    async () => {
      const server = await startServer({ ...env, WEB_CONCURRENCY: '2' }, { waitForReady: false });
      expect(await server.exited).toBe(1);
      expect(server.output()).toContain('WEB_CONCURRENCY=2 needs DATABASE_URL');
      expect(server.output()).not.toContain('    at ');
    },
  );
});
