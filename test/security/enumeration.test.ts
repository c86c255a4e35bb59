import { type ChildProcess, spawn } from 'node:child_process';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/spawned-process.js';
import { expectError, TEST_SECRET, useTestApp } from '../helpers/test-app.js';
import { createTestDatabase, migratedDataDir, type TestDatabase } from '../helpers/test-database.js';

const ROOT = new URL('../..', import.meta.url).pathname;

// Battery item 6 (OWASP ASVS 5.0 V6.3.8, API2:2023): nothing in an answer (status, body, headers, time) says
// whether an account exists.

/**
 * Alternating attempts per measurement of forgot-password and resend-verification, each followed by the background
 * work of its answer (started 100 ms after it). Fewer on the embedded pass, so that up to five measurements fit in
 * the test's time on a busy machine; the PostgreSQL pass (CI runs both) takes the full count.
 */
const EMAIL_ROUNDS = process.env.TEST_DATABASE_URL ? 40 : 20;

const ctx = useTestApp({ LOGIN_MAX_FAILURES: '1000', RATE_LIMIT_LOGIN_PER_MINUTE: '30', RATE_LIMIT_PER_MINUTE: '600' });

let nextAddress = 0;
/** Each request from its own address: the rate-limit headers then read the same for every one of them. */
const freshAddress = () => {
  nextAddress += 1;
  return `198.19.${Math.floor(nextAddress / 250)}.${(nextAddress % 250) + 1}`;
};

const post = (url: string, payload: object, remoteAddress = freshAddress()) =>
  ctx.app.inject({ method: 'POST', url: `/api/v1/auth/${url}`, payload, remoteAddress });

/** What a client sees, minus what differs on every response by design (request id, timing, date). */
function observable(response: LightMyRequestResponse) {
  const { 'x-request-id': _id, 'x-process-time': _time, date: _date, ...headers } = response.headers;
  const body = response.json() as { error?: { request_id?: string } };
  if (body.error) delete body.error.request_id;
  return { status: response.statusCode, headers, body };
}

describe('login: unknown user vs wrong password', () => {
  it('answers the same status, body and headers', async () => {
    await ctx.createUser({ username: 'alice' });
    const wrong = await post('login', { username: 'alice', password: 'not-her-password' });
    const unknown = await post('login', { username: 'nobody-at-all', password: 'not-her-password' });
    expectError(wrong, 401, 'AuthenticationError');
    expect(observable(unknown)).toEqual(observable(wrong));
  });
});

describe('forgot-password and resend-verification: known vs unknown address', () => {
  for (const route of ['forgot-password', 'resend-verification']) {
    it(`${route} answers the same status, body and headers`, async () => {
      await ctx.createUser({ email: 'known@example.com' });
      const known = await post(route, { email: 'known@example.com' });
      const unknown = await post(route, { email: 'unknown@example.com' });
      expect(known.statusCode).toBe(202);
      expect(observable(unknown)).toEqual(observable(known));
      // The mail is queued for the known address only, after the answer.
      await ctx.app.services.settle();
      const queued = await ctx.database.query<{ to_address: string }>('SELECT to_address FROM email_outbox');
      expect(queued.map((row) => row.to_address)).toContain('known@example.com');
      expect(queued.map((row) => row.to_address)).not.toContain('unknown@example.com');
    });

    it(`${route} takes the same time (medians within 20 % over ${EMAIL_ROUNDS} alternating attempts)`, async () => {
      await ctx.createUser({ email: 'known@example.com' });
      const result = await medianGap(
        () => post(route, { email: 'known@example.com' }),
        () => post(route, { email: 'unknown@example.com' }),
        // The lookup and the email happen after the answer, and are let finish before the next attempt.
        () => ctx.app.services.settle(),
        EMAIL_ROUNDS,
      );
      expect(result.gap, `medians ${result.a.toFixed(3)} ms vs ${result.b.toFixed(3)} ms`).toBeLessThanOrEqual(0.2);
    });
  }
});

describe('registration of a taken email', () => {
  it('keeps its 409, and is limited per address like login', async () => {
    await ctx.createUser({ email: 'taken@example.com', username: 'taken' });
    const client = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      const response = await post(
        'register',
        { email: 'taken@example.com', username: `probe${i}`, password: 'a-good-long-passphrase-1' },
        client,
      );
      statuses.push(response.statusCode);
    }
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(409));
    expect(statuses[30]).toBe(429);
    const rows = await ctx.database.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    expect(rows[0]?.n).toBe(1);
  });
});

/** Login timing, against the built server in a process of its own, over HTTP, as an attacker measures it. */
describe('the time of a login, against the built server', () => {
  let server: ChildProcess | undefined;
  let base = '';
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      ENVIRONMENT: 'test',
      SECRET_KEY: TEST_SECRET,
      LOG_LEVEL: 'warn',
      DATA_DIR: migratedDataDir('energyexe-enum-'),
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      LOGIN_MAX_FAILURES: '0',
    };
    if (process.env.TEST_DATABASE_URL) {
      database = await createTestDatabase();
      env.DATABASE_URL = database.url as string;
    }
    base = `http://127.0.0.1:${env.PORT}`;
    server = spawn(process.execPath, ['dist/server.js'], { cwd: ROOT, env, stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    while (
      !(await fetch(`${base}/health/ready`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error('the server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const registered = await call('register', {
      email: 'known@example.com',
      username: 'alice',
      password: 'a-good-long-passphrase-1',
    });
    expect(registered.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    server?.kill('SIGKILL');
    await database?.close();
  });

  const call = (route: string, payload: object) =>
    fetch(`${base}/api/v1/auth/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    }).then(async (response) => ({ status: response.status, body: await response.text() }));
  it('login: unknown user vs wrong password, medians within 20 % over 40 alternating attempts', async () => {
    const result = await medianGap(
      () => call('login', { username: 'alice', password: 'not-her-password' }),
      () => call('login', { username: 'nobody-at-all', password: 'not-her-password' }),
    );
    expect(result.gap, `medians ${result.a.toFixed(2)} ms vs ${result.b.toFixed(2)} ms`).toBeLessThanOrEqual(0.2);
  });
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Times `rounds` alternating pairs of requests, one after the other (never in parallel, on a shared 2-core
 * machine), and compares medians. A real difference (a skipped hash, a database write) shows in every attempt;
 * a burst of load from elsewhere does not, so up to five measurements are taken and the closest counts.
 */
async function medianGap(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  between: () => Promise<unknown> = async () => {},
  rounds = 40,
): Promise<{ gap: number; a: number; b: number }> {
  let best = { gap: Number.POSITIVE_INFINITY, a: 0, b: 0 };
  for (let attempt = 0; attempt < 5 && best.gap > 0.2; attempt++) {
    const times = { a: [] as number[], b: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      for (const [name, run] of (i % 2
        ? [
            ['b', b],
            ['a', a],
          ]
        : [
            ['a', a],
            ['b', b],
          ]) as ['a' | 'b', typeof a][]) {
        const started = performance.now();
        await run();
        times[name].push(performance.now() - started);
        await between();
      }
    }
    const ma = median(times.a);
    const mb = median(times.b);
    const gap = Math.abs(ma - mb) / Math.max(ma, mb);
    if (gap < best.gap) best = { gap, a: ma, b: mb };
  }
  return best;
}
