import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killLeftovers, type StartedProcess, startServer as startBuiltServer } from './helpers/built-server.js';
import { find, parseMetrics, value } from './helpers/metrics.js';
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND, startOtlpReceiver } from './helpers/otlp.js';
import { createTestDatabase, migratedDataDir, type TestDatabase } from './helpers/test-database.js';

/**
 * The built server (global-setup built dist/) as `npm start` runs it, with a module-resolution hook that
 * writes down every module the process loads: metrics and tracing must cost nothing when they are off.
 */
const HOOKS = mkdtempSync(join(tmpdir(), 'energyexe-hooks-'));
writeFileSync(
  join(HOOKS, 'hooks.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.RESOLVE_LOG, result.url + '\\n');
  return result;
}
`,
);
writeFileSync(
  join(HOOKS, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(HOOKS, 'hooks.mjs')).href)});\n`,
);

afterAll(killLeftovers);

interface Started extends StartedProcess {
  /** The modules the process has loaded so far. */
  loaded(): string[];
}

/** The built server, writing down every module it resolves. */
async function startServer(env: Record<string, string>): Promise<Started> {
  const log = join(mkdtempSync(join(tmpdir(), 'energyexe-resolve-')), 'resolved.txt');
  writeFileSync(log, '');
  const server = await startBuiltServer({ RESOLVE_LOG: log, ...env }, ['--import', join(HOOKS, 'register.mjs')]);
  return { ...server, loaded: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

/**
 * A POST whose body leaves well after its headers, as from a slow client: the server starts the request's
 * hooks before the body arrives, then reads it in the socket's asynchronous context.
 */
function postInTwoParts(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.flushHeaders();
    setTimeout(() => req.end(body), 200);
  });
}

const OBSERVABILITY = /\/node_modules\/(prom-client|@opentelemetry)\//;

/** The embedded database in a folder of its own, or a database of this file's own on the PostgreSQL pass. */
let database: TestDatabase | undefined;
beforeAll(async () => {
  if (process.env.TEST_DATABASE_URL) database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});
// One DATA_DIR for both servers (one after the other), the embedded database already migrated.
const dataDir = migratedDataDir('energyexe-observability-');
const databaseEnv = (): Record<string, string> =>
  database?.url ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir };

describe('the built server with metrics and tracing off (the default)', () => {
  it('loads neither prom-client nor OpenTelemetry, and has no /metrics', async () => {
    const server = await startServer({ ENVIRONMENT: 'test', ...databaseEnv() });
    try {
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      const loaded = server.loaded();
      expect(loaded.some((url) => url.includes('/node_modules/fastify/'))).toBe(true);
      expect(loaded.filter((url) => OBSERVABILITY.test(url))).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('the built server with METRICS_ENABLED and OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('serves /metrics and sends the spans of real HTTP requests, flushed on SIGTERM', async () => {
    const token = 'process-test-metrics-token';
    const server = await startServer({
      ENVIRONMENT: 'test',
      METRICS_ENABLED: 'true',
      METRICS_TOKEN: token,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: 'energyexe-process-test',
      ...databaseEnv(),
    });
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const username = `traced${randomBytes(3).toString('hex')}`;
    try {
      const json = { 'content-type': 'application/json' };
      const register = await fetch(`${server.url}/api/v1/auth/register`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email: `${username}@example.com`, username, password: 'a-long-password-1' }),
      });
      expect(register.status).toBe(201);
      const login = await postInTwoParts(
        `${server.url}/api/v1/auth/login`,
        { traceparent: `00-${traceId}-${callerSpanId}-01`, 'x-request-id': 'process-login' },
        JSON.stringify({ username, password: 'a-long-password-1' }),
      );
      expect(login).toBe(200);

      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      const scraped = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(scraped.status).toBe(200);
      const samples = parseMetrics(await scraped.text());
      expect(value(samples, 'auth_login_attempts_total', { outcome: 'success' })).toBe(1);
      expect(
        value(samples, 'http_requests_total', { method: 'POST', route: '/api/v1/auth/register', status: '201' }),
      ).toBe(1);
      expect(find(samples, 'db_pool_connections')).toHaveLength(database ? 1 : 0);

      const loaded = server.loaded();
      expect(loaded.some((url) => url.includes('/node_modules/prom-client/'))).toBe(true);
      expect(loaded.some((url) => url.includes('/node_modules/@opentelemetry/sdk-trace-node/'))).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }

    // Shutdown sends what the batch still held.
    const spans = await receiver.waitFor((all) => all.some((s) => s.attributes['request.id'] === 'process-login'));
    const loginSpan = spans.find((s) => s.attributes['request.id'] === 'process-login') as ReceivedSpan;
    expect(loginSpan).toMatchObject({
      name: 'POST /api/v1/auth/login',
      kind: SPAN_KIND.SERVER,
      traceId,
      parentSpanId: callerSpanId,
      resource: { 'service.name': 'energyexe-process-test' },
    });
    // Over a real socket the body arrives after the request's hooks began: its queries must still be children.
    const queries = spans.filter((s) => s.parentSpanId === loginSpan.spanId);
    expect(queries.length).toBeGreaterThanOrEqual(3);
    expect(queries.every((q) => q.kind === SPAN_KIND.CLIENT && q.traceId === traceId)).toBe(true);
  });
});
