import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/shared/logger.js';
import { startTracing, type Tracing } from '../../src/tracing/tracing.js';
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND, startOtlpReceiver } from '../helpers/otlp.js';
import { testConfig } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** The app as the server builds it with OTEL_EXPORTER_OTLP_ENDPOINT set, exporting to a collector of the test's. */
let receiver: OtlpReceiver;
let tracing: Tracing;
let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const config = testConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'energyexe-test' });
  const started = await startTracing({
    endpoint: config.otelEndpoint,
    serviceName: config.otelServiceName,
    version: config.version,
  });
  if (!started) throw new Error('tracing did not start');
  tracing = started;
  database = await createTestDatabase({ queryTracer: tracing.queryTracer });
  app = await buildApp({ config, database: database.handle, tracing, logger: createLogger({ level: 'silent' }) });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await tracing?.shutdown();
  await database?.close();
  await receiver?.close();
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('exports a span per request, child of the incoming traceparent, with the request id and the queries under it', async () => {
    const user = await app.services.users.create({
      email: 'traced@example.com',
      username: 'traced',
      password: 'a-long-password-1',
      first_name: null,
      last_name: null,
      is_superuser: false,
    });
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01`, 'x-request-id': 'trace-test-login' },
      payload: { username: user.username, password: 'a-long-password-1' },
    });
    expect(login.statusCode).toBe(200);
    const me = await app.inject({
      url: `/api/v1/users/me`,
      headers: { authorization: `Bearer ${login.json().access_token}`, 'x-request-id': 'trace-test-me' },
    });
    expect(me.statusCode).toBe(200);
    expect(
      (await app.inject({ url: '/api/v1/users/12345', headers: { 'x-request-id': 'trace-test-401' } })).statusCode,
    ).toBe(401);
    await tracing.flush();

    const spans = await receiver.waitFor((all) => all.some((s) => s.attributes['request.id'] === 'trace-test-401'));
    const server = (requestId: string) => {
      const found = spans.filter((s) => s.kind === SPAN_KIND.SERVER && s.attributes['request.id'] === requestId);
      expect(found).toHaveLength(1);
      return found[0] as ReceivedSpan;
    };

    const loginSpan = server('trace-test-login');
    expect(loginSpan).toMatchObject({
      name: 'POST /api/v1/auth/login',
      traceId,
      parentSpanId: callerSpanId,
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/api/v1/auth/login',
        'url.path': '/api/v1/auth/login',
        'http.response.status_code': 200,
      },
      resource: { 'service.name': 'energyexe-test', 'service.version': testConfig().version },
    });
    // The body was read before the handler ran: its queries still belong to the request (user, session, audit).
    const loginQueries = childrenOf(spans, loginSpan);
    expect(loginQueries.length).toBeGreaterThanOrEqual(3);
    for (const query of loginQueries) {
      expect(query.kind).toBe(SPAN_KIND.CLIENT);
      expect(query.attributes['db.system.name']).toBe('postgresql');
      expect(query.name).toBe(query.attributes['db.operation.name']);
      expect(String(query.attributes['db.query.text'])).toMatch(new RegExp(`^\\s*${query.name}`, 'i'));
      // Statements go with placeholders: the password hash and tokens are never in a span.
      expect(String(query.attributes['db.query.text'])).not.toContain('argon2');
    }
    expect(loginQueries.map((q) => q.name)).toEqual(expect.arrayContaining(['SELECT', 'INSERT']));

    // No traceparent: a trace of its own. The token check runs in a route hook; its queries are children too.
    const meSpan = server('trace-test-me');
    expect(meSpan).toMatchObject({ name: 'GET /api/v1/users/me', parentSpanId: undefined });
    expect(meSpan.traceId).not.toBe(traceId);
    expect(childrenOf(spans, meSpan).length).toBeGreaterThanOrEqual(1);

    expect(server('trace-test-401')).toMatchObject({
      name: 'GET /api/v1/users/:user_id',
      attributes: { 'http.response.status_code': 401, 'url.path': '/api/v1/users/12345' },
    });

    // Queries made outside a request (creating the user above) start no trace of their own.
    const orphans = spans.filter((s) => s.kind === SPAN_KIND.CLIENT && !spans.some((p) => p.spanId === s.parentSpanId));
    expect(orphans).toEqual([]);
  });

  it('names a request that matched no route by its method alone', async () => {
    const response = await app.inject({ url: '/no/such/page', headers: { 'x-request-id': 'trace-test-404' } });
    expect(response.statusCode).toBe(404);
    await tracing.flush();
    const spans = await receiver.waitFor((all) => all.some((s) => s.attributes['request.id'] === 'trace-test-404'));
    const span = spans.find((s) => s.attributes['request.id'] === 'trace-test-404');
    expect(span).toMatchObject({ name: 'GET', attributes: { 'http.response.status_code': 404 } });
    expect(span?.attributes['http.route']).toBeUndefined();
  });
});
