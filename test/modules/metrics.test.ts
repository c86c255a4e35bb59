import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/shared/logger.js';
import { find, parseMetrics, value } from '../helpers/metrics.js';
import { expectError, testConfig, useTestApp } from '../helpers/test-app.js';

const TOKEN = 'metrics-token-for-the-tests-0123456789';
const ctx = useTestApp(
  { METRICS_ENABLED: 'true', METRICS_TOKEN: TOKEN, RATE_LIMIT_LOGIN_PER_MINUTE: '3' },
  { smtp: true, outbox: { maxAttempts: 2 } },
);

/** Every test logs in from an address of its own: the per-IP rate limit then only counts its own attempts. */
const uniqueIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

async function scrape() {
  const response = await ctx.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.statusCode).toBe(200);
  return parseMetrics(response.body);
}

const login = (username: string, password: string, ip = uniqueIp()) =>
  ctx.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { username, password } });

describe('GET /metrics', () => {
  it('answers the Prometheus text format with the right token, outside the API prefix and the docs', async () => {
    const response = await ctx.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers['x-request-id']).toBeTruthy();
    expect(response.body).toContain('# TYPE http_requests_total counter');

    expectError(await ctx.app.inject({ url: '/api/v1/metrics' }), 404, 'NotFoundError');
    const openapi = await ctx.app.inject({ url: '/api/v1/openapi.json' });
    expect(Object.keys(openapi.json().paths)).not.toContain('/metrics');
  });

  it('refuses a missing, wrong or malformed token with the 401 envelope', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, TOKEN, `Basic ${TOKEN}`]) {
      const response = await ctx.app.inject({
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
      });
      const error = expectError(response, 401, 'AuthenticationError');
      expect(error.code).toBe('metrics.invalid_token');
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.body).not.toContain('http_requests_total');
    }
  });

  it('labels requests by route template and status, never by the raw URL', async () => {
    const before = await scrape();
    const admin = await ctx.signIn({ is_superuser: true });
    for (const id of [123, 456]) {
      const response = await ctx.app.inject({ url: `/api/v1/users/${id}`, headers: admin.headers });
      expect(response.statusCode).toBe(404);
    }
    expect((await ctx.app.inject({ url: `/api/v1/users/${admin.user.id}/`, headers: admin.headers })).statusCode).toBe(
      200,
    );
    for (const path of ['/no/such/page-1', '/no/such/page-2', '/api/v1/users/1/nothing']) {
      expect((await ctx.app.inject({ url: path })).statusCode).toBe(404);
    }

    const samples = await scrape();
    const byUserId = { method: 'GET', route: '/api/v1/users/:user_id' };
    expect(value(samples, 'http_requests_total', { ...byUserId, status: '404' })).toBe(2);
    expect(value(samples, 'http_requests_total', { ...byUserId, status: '200' })).toBe(1);
    expect(value(samples, 'http_request_duration_seconds_count', { ...byUserId, status: '404' })).toBe(2);
    expect(value(samples, 'http_request_duration_seconds_bucket', { ...byUserId, status: '404', le: '+Inf' })).toBe(2);
    expect(value(samples, 'http_request_duration_seconds_sum', { ...byUserId, status: '404' })).toBeGreaterThan(0);
    const unmatched = { method: 'GET', route: 'unmatched', status: '404' };
    expect(
      (value(samples, 'http_requests_total', unmatched) ?? 0) - (value(before, 'http_requests_total', unmatched) ?? 0),
    ).toBe(3);

    // No series carries an id or a path that is not a route template.
    const routes = new Set(find(samples, 'http_requests_total').map((s) => s.labels.route));
    expect([...routes].filter((route) => /\/(123|456)\b|page-|nothing/.test(route ?? ''))).toEqual([]);
  });

  it('counts the requests in flight, down again once answered', async () => {
    await ctx.app.inject({ url: '/health' });
    await ctx.app.inject({ url: '/nowhere' });
    // The scrape itself is the one request in flight while the figures are read.
    expect(value(await scrape(), 'http_requests_in_flight')).toBe(1);
  });

  it('counts login outcomes: success, wrong password, unknown user, inactive; throttled starts at 0', async () => {
    const before = await scrape();
    const active = await ctx.createUser();
    const inactive = await ctx.createUser({ is_active: false });
    expect((await login(active.username, active.password)).statusCode).toBe(200);
    expect((await login(active.username, 'wrong-password-1')).statusCode).toBe(401);
    expect((await login(active.username, 'wrong-password-2')).statusCode).toBe(401);
    expect((await login('nobody-at-all', 'whatever-password')).statusCode).toBe(401);
    expect((await login(inactive.username, inactive.password)).statusCode).toBe(403);

    const after = await scrape();
    const delta = (outcome: string) =>
      (value(after, 'auth_login_attempts_total', { outcome }) ?? Number.NaN) -
      (value(before, 'auth_login_attempts_total', { outcome }) ?? 0);
    expect({
      success: delta('success'),
      wrong_password: delta('wrong_password'),
      unknown_user: delta('unknown_user'),
      inactive: delta('inactive'),
      throttled: delta('throttled'),
    }).toEqual({ success: 1, wrong_password: 2, unknown_user: 1, inactive: 1, throttled: 0 });
  });

  it('counts the rate limit rejections by route', async () => {
    const ip = uniqueIp();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await login('nobody', 'nothing-at-all', ip)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(value(await scrape(), 'rate_limit_rejections_total', { route: '/api/v1/auth/login' })).toBe(2);
  });

  it('reports the email outbox depth, and delivery attempts sent, retried and given up', async () => {
    await ctx.database.query(
      `INSERT INTO email_outbox (to_address, subject, text_body, next_attempt_at)
       SELECT 'later' || n || '@example.com', 'Later', 'body', now() + interval '1 day' FROM generate_series(1, 3) n`,
    );
    expect(value(await scrape(), 'email_outbox_pending')).toBe(3);

    const before = await scrape();
    const register = (username: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        remoteAddress: uniqueIp(),
        payload: { email: `${username}@example.com`, username, password: 'a-long-password-1' },
      });
    expect((await register('delivered')).statusCode).toBe(201);
    await ctx.app.services.settle();
    await ctx.mailbox().waitFor((mail) => mail.to !== undefined && JSON.stringify(mail.to).includes('delivered@'));

    // Two attempts at most (outbox.maxAttempts): the first failure is retried, the second gives up.
    ctx.mailbox().failNext(2);
    expect((await register('undelivered')).statusCode).toBe(201);
    await ctx.app.services.settle();
    ctx.clock.advance(60_000);
    await ctx.app.services.settle();

    const after = await scrape();
    const delta = (result: string) =>
      (value(after, 'email_delivery_attempts_total', { result }) ?? Number.NaN) -
      (value(before, 'email_delivery_attempts_total', { result }) ?? 0);
    expect({ sent: delta('sent'), retry: delta('retry'), failed: delta('failed') }).toEqual({
      sent: 1,
      retry: 1,
      failed: 1,
    });
    expect(value(after, 'email_outbox_pending')).toBe(3);
  });

  it('reports the connection pool on PostgreSQL, and no pool on the embedded database', async () => {
    const samples = await scrape();
    expect(find(samples, 'energyexe_info')[0]?.labels).toEqual({
      version: ctx.config.version,
      database: ctx.database.handle.kind,
    });
    expect(value(samples, 'energyexe_processes')).toBe(1);
    if (ctx.database.handle.kind === 'postgres') {
      expect(value(samples, 'db_pool_max_connections')).toBe(10);
      expect(value(samples, 'db_pool_connections')).toBeGreaterThanOrEqual(1);
      expect(value(samples, 'db_pool_idle_connections')).toBeGreaterThanOrEqual(0);
      expect(value(samples, 'db_pool_waiting_requests')).toBe(0);
    } else {
      expect(find(samples, 'db_pool_connections')).toEqual([]);
    }
  });

  it('includes the process and event-loop metrics', async () => {
    const samples = await scrape();
    expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(find(samples, 'nodejs_heap_size_used_bytes')).toHaveLength(1);
  });
});

describe('with METRICS_ENABLED unset (the default)', () => {
  it('has no /metrics route, no metrics plugin and no metrics hook', async () => {
    const config = testConfig();
    expect(config.metricsEnabled).toBe(false);
    const app = await buildApp({
      config,
      database: ctx.database.handle,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      await app.ready();
      expectError(await app.inject({ url: '/metrics' }), 404, 'NotFoundError');
      expect(app.metrics).toBeUndefined();
      expect(app.printPlugins()).not.toMatch(/\bmetrics\b|\btracing\b/);
      expect(app.hasPlugin('metrics')).toBe(false);
      expect(app.hasPlugin('tracing')).toBe(false);
    } finally {
      await app.close();
    }
  });
});
