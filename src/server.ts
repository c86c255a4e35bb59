import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { openConfiguredDatabase } from './db/client.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { createLogger } from './shared/logger.js';
import { startTracing } from './tracing/tracing.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const tracing = await startTracing({
    endpoint: config.otelEndpoint,
    serviceName: config.otelServiceName,
    version: config.version,
    onError: (message) => logger.warn({ tracing: message }, 'tracing export error'),
  });
  const database = await openConfiguredDatabase(config, logger, tracing?.queryTracer);
  if (config.migrateOnStart) await database.migrate();

  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 1000, connectTimeout: 2000 })
    : undefined;
  redis?.on('error', (error) => logger.warn({ err: error }, 'redis error'));

  const app = await buildApp({ config, database, logger, redis, tracing });
  registerShutdown(logger, async () => {
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
    },
    'server ready',
  );
}

function registerShutdown(logger: FastifyBaseLogger, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown timed out, exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    force.unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // Start-up failures a user can fix get their message alone; anything else keeps its stack.
  const known = error instanceof ConfigError || error instanceof DataDirLockedError;
  process.stderr.write(
    known ? `Error: ${(error as Error).message}\n` : `${(error as Error)?.stack ?? String(error)}\n`,
  );
  process.exit(1);
});
