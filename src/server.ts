import cluster from 'node:cluster';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config/config.js';
import { type DatabaseHandle, openConfiguredDatabase } from './db/client.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { isDatabaseUnavailable } from './db/errors.js';
import { createLifecycle, type Lifecycle } from './plugins/lifecycle.js';
import { REDIS_CLIENT_OPTIONS } from './shared/counter-store.js';
import { createHttpDrain } from './shared/http-drain.js';
import { createLogger } from './shared/logger.js';
import { isShutdownMessage } from './shared/worker-messages.js';
import { startTracing } from './tracing/tracing.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.webConcurrency > 1 && !config.databaseUrl) {
    throw new ConfigError(
      `WEB_CONCURRENCY=${config.webConcurrency} needs DATABASE_URL: the embedded database belongs to one process. Set DATABASE_URL to a PostgreSQL server, or WEB_CONCURRENCY=1.`,
    );
  }
  if (config.webConcurrency > 1 && cluster.isPrimary) {
    const { runPrimary, primaryExtensions } = await import('./cluster.js');
    // One scrape reports every worker: the primary gathers and sums their figures (prom-client loaded only then).
    const extensions = config.metricsEnabled
      ? [...primaryExtensions, (await import('./modules/metrics/metrics.cluster.js')).createMetricsAggregator()]
      : primaryExtensions;
    return runPrimary(config, createLogger({ level: config.logLevel }), extensions);
  }
  return serve(config);
}

/** One process serving HTTP: the whole service, or one worker of the cluster. */
async function serve(config: Config): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const tracing = await startTracing({
    endpoint: config.otelEndpoint,
    serviceName: config.otelServiceName,
    version: config.version,
    onError: (message) => logger.warn({ tracing: message }, 'tracing export error'),
  });
  const database = await openConfiguredDatabase(config, logger, tracing?.queryTracer);
  const lifecycle = createLifecycle();
  const redis = config.redisUrl ? new Redis(config.redisUrl, REDIS_CLIENT_OPTIONS) : undefined;
  // Each reconnect attempt fails while Redis is down: debug only; the switch to memory is logged once (warn).
  redis?.on('error', (error) => logger.debug({ err: error }, 'redis error'));
  // Without an offline queue, requests before Redis's first connection would count in this process's memory:
  // give it its connect timeout to come up before serving. A Redis that is down holds start-up back no longer.
  if (redis && redis.status !== 'ready') {
    await Promise.race([once(redis, 'ready').catch(() => {}), sleep(REDIS_CLIENT_OPTIONS.connectTimeout ?? 1000)]);
  }

  const app = await buildApp({
    config,
    database,
    logger,
    redis,
    lifecycle,
    tracing,
    clusterWorker: cluster.isWorker,
  });
  // Half the shutdown time at most goes to accepting what clients had already queued before the signal.
  const http = createHttpDrain(app.server, { backlogWindowMs: config.shutdownTimeoutMs / 2 });
  const migrations = config.migrateOnStart ? await migrate(database, lifecycle, logger) : undefined;
  onShutdown(logger, config, async () => {
    lifecycle.drain();
    // Readiness already says 503; keep serving while load balancers take this process out of rotation.
    if (config.shutdownDelayMs > 0) await sleep(config.shutdownDelayMs);
    await http.drain();
    lifecycle.stop();
    migrations?.abort();
    await app.close();
    await database.close();
    await redis?.quit().catch(() => redis.disconnect());
    await tracing?.shutdown().catch(() => {});
  });

  await app.listen({ host: config.host, port: config.port });
  logger.info(
    {
      database: database.kind,
      docs: config.docsEnabled ? '/docs' : false,
      environment: config.environment,
      metrics: config.metricsEnabled ? '/metrics' : false,
      tracing: tracing ? config.otelEndpoint : false,
      ...(cluster.isWorker ? { worker: cluster.worker?.id } : {}),
    },
    cluster.isWorker ? 'worker ready' : 'server ready',
  );
}

/**
 * Applies pending migrations before serving. A PostgreSQL server that is down at start does not stop the
 * process: it serves its probes (readiness 503), refuses the API with 503, and retries until the database answers.
 */
async function migrate(
  database: DatabaseHandle,
  lifecycle: Lifecycle,
  logger: FastifyBaseLogger,
): Promise<AbortController | undefined> {
  try {
    await database.migrate();
    return undefined;
  } catch (error) {
    if (database.kind === 'embedded' || !isDatabaseUnavailable(error)) throw error;
    logger.warn({ err: error }, 'database unavailable at start, migrations will be retried');
  }
  lifecycle.block('migrations', 'The database is unavailable, try again later');
  const controller = new AbortController();
  void (async () => {
    for (let attempt = 1; !controller.signal.aborted; attempt++) {
      await sleep(Math.min(500 * attempt, 5000), undefined, { signal: controller.signal }).catch(() => {});
      if (controller.signal.aborted) return;
      try {
        await database.migrate();
        lifecycle.unblock('migrations');
        logger.info({ attempt }, 'database reachable, migrations applied');
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) logger.error({ err: error }, 'migrations failed');
      }
    }
  })();
  return controller;
}

/**
 * SIGTERM or SIGINT (or, in a worker, the primary's request) starts one graceful shutdown; it must end within
 * SHUTDOWN_DELAY_SECONDS + SHUTDOWN_TIMEOUT_SECONDS or the process exits 1. A second signal exits at once.
 */
function onShutdown(logger: FastifyBaseLogger, config: Config, close: () => Promise<void>): void {
  let closing = false;
  let signals = 0;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    // Armed before anything else can throw (a log line to a closed stdout): the bound holds whatever happens.
    const force = setTimeout(() => {
      logger.error('shutdown timed out, exiting');
      process.exit(1);
    }, config.shutdownDelayMs + config.shutdownTimeoutMs);
    force.unref();
    logger.info({ signal }, 'shutting down');
    close().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (cluster.isWorker) {
    process.on('message', (message) => {
      if (isShutdownMessage(message)) shutdown('primary');
    });
    // The primary is gone (killed): nobody would replace or stop this worker any more.
    process.on('disconnect', () => shutdown('primary exited'));
  }
}

main().catch((error: unknown) => {
  // Start-up failures a user can fix get their message alone; anything else keeps its stack.
  const known = error instanceof ConfigError || error instanceof DataDirLockedError;
  process.stderr.write(
    known ? `Error: ${(error as Error).message}\n` : `${(error as Error)?.stack ?? String(error)}\n`,
  );
  process.exit(1);
});
