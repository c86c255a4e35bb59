import { describe, expect, it } from 'vitest';
import { useClusteredServer } from './helpers/clustered-server.js';
import { parseMetrics, value } from './helpers/metrics.js';
import { requestOnNewConnection } from './helpers/server-process.js';

const TOKEN = 'cluster-metrics-token';

/**
 * WEB_CONCURRENCY=2 with metrics: a scrape reaches one worker, which asks the primary for every worker's
 * figures. The embedded database refuses more than one worker, so this runs on the PostgreSQL pass only.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL)('GET /metrics with WEB_CONCURRENCY=2', () => {
  const cluster = useClusteredServer({
    SECRET_KEY: 'a-secret-key-shared-by-both-workers-0123456789',
    DB_POOL_SIZE: '3',
    DB_MAX_OVERFLOW: '1',
    METRICS_ENABLED: 'true',
    METRICS_TOKEN: TOKEN,
  });

  const scrape = async () => {
    const response = await requestOnNewConnection(`${cluster.server.url}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    return parseMetrics(response.body);
  };

  it('sums the figures of both workers, whichever worker answers the scrape', async () => {
    for (let i = 0; i < 20; i += 1) {
      expect((await requestOnNewConnection(`${cluster.server.url}/health`)).status).toBe(200);
    }
    for (let scrapes = 0; scrapes < 4; scrapes += 1) {
      const samples = await scrape();
      expect(value(samples, 'energyexe_processes')).toBe(2);
      expect(value(samples, 'http_requests_total', { method: 'GET', route: '/health', status: '200' })).toBe(20);
      // Every earlier scrape counts, whichever worker answered it (the one in progress is not answered yet).
      expect(value(samples, 'http_requests_total', { method: 'GET', route: '/metrics', status: '200' }) ?? 0).toBe(
        scrapes,
      );
      // Each worker has a pool of its own (3 + 1): the maxima add up; the info series does not.
      expect(value(samples, 'db_pool_max_connections')).toBe(2 * 4);
      expect(value(samples, 'energyexe_info', { database: 'postgres' })).toBe(1);
    }
  });

  it('refuses a scrape without the token, as a single process does', async () => {
    const response = await requestOnNewConnection(`${cluster.server.url}/metrics`);
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body).error.code).toBe('metrics.invalid_token');
  });
});
