import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../../db/client.js';
import { LOGIN_OUTCOMES, type LoginOutcome } from '../auth/auth.service.js';
import type { DeliveryResult } from '../mail/mail.service.js';

/** The label of every request that matched no route: one series, whatever the URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Longest a scrape waits for the outbox count; on a stuck database the last value is kept. */
const OUTBOX_QUERY_TIMEOUT_MS = 1000;

export interface MetricsSources {
  version: string;
  database: 'embedded' | 'postgres';
  poolStats?: (() => PoolStats) | undefined;
  /** Messages pending in the email outbox (one indexed count per scrape). */
  outboxDepth: () => Promise<number>;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Every series the service exports, in a registry of its own (never prom-client's global one, so two apps in
 * one process, as in the tests, do not mix their figures). Gauges read at scrape time say how workers'
 * values combine when a cluster primary sums them: pool figures add up, the outbox (one shared table) does not.
 */
export function createMetrics(sources: MetricsSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'energyexe_info',
    help: 'Always 1; the labels name the running version and the kind of database.',
    labelNames: ['version', 'database'],
    registers: [registry],
    aggregator: 'max',
  }).set({ version: sources.version, database: sources.database }, 1);

  new Gauge({
    name: 'energyexe_processes',
    help: 'Processes whose figures this scrape includes: 1, or every worker of a cluster (WEB_CONCURRENCY).',
    registers: [registry],
    aggregator: 'sum',
  }).set(1);

  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response, by method, route template and status.',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests received and not yet answered.',
    registers: [registry],
  });

  const logins = new Counter({
    name: 'auth_login_attempts_total',
    help: 'Login attempts by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of LOGIN_OUTCOMES) logins.inc({ outcome }, 0);

  const rateLimited = new Counter({
    name: 'rate_limit_rejections_total',
    help: 'Requests refused with 429 by the per-IP rate limit, by route template.',
    labelNames: ['route'],
    registers: [registry],
  });

  const deliveries = new Counter({
    name: 'email_delivery_attempts_total',
    help: 'Email delivery attempts by result: sent, retry (failed, tried again later) or failed (given up).',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of ['sent', 'retry', 'failed'] satisfies DeliveryResult[]) deliveries.inc({ result }, 0);

  new Gauge({
    name: 'email_outbox_pending',
    help: 'Emails waiting in the outbox for delivery.',
    registers: [registry],
    // Every worker counts the same table: the cluster figure is that count, not a sum.
    aggregator: 'max',
    async collect() {
      try {
        this.set(await withTimeout(sources.outboxDepth(), OUTBOX_QUERY_TIMEOUT_MS));
      } catch {
        // The database is down or slow: keep the last value rather than fail the scrape.
      }
    },
  });

  const { poolStats } = sources;
  if (poolStats) {
    const poolGauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(poolStats()));
        },
      });
    poolGauge('db_pool_connections', 'Connections open to PostgreSQL, busy or idle.', (s) => s.total);
    poolGauge('db_pool_idle_connections', 'Open connections not in use.', (s) => s.idle);
    poolGauge('db_pool_waiting_requests', 'Queries waiting for a free connection.', (s) => s.waiting);
    poolGauge(
      'db_pool_max_connections',
      'Most connections the pool opens (DB_POOL_SIZE + DB_MAX_OVERFLOW).',
      (s) => s.max,
    );
  }

  return {
    registry,
    http: {
      started(): void {
        inFlight.inc();
      },
      finished(): void {
        inFlight.dec();
      },
      answered(method: string, route: string | undefined, status: number, seconds: number): void {
        const labels = { method, route: route ?? UNMATCHED_ROUTE, status: String(status) };
        requests.inc(labels);
        duration.observe(labels, seconds);
      },
    },
    rateLimited(route: string | undefined): void {
      rateLimited.inc({ route: route ?? UNMATCHED_ROUTE });
    },
    /** The services' observers (see ServiceObservers). */
    observers: {
      loginOutcome(outcome: LoginOutcome): void {
        logins.inc({ outcome });
      },
      emailDelivery(result: DeliveryResult): void {
        deliveries.inc({ result });
      },
    },
    /** This process's figures in the text format. */
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
