import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { openConfiguredDatabase } from './db/client.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { REDIS_CLIENT_OPTIONS } from './shared/counter-store.js';
import { createLogger } from './shared/logger.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const database = await openConfiguredDatabase(config, logger);
  if (config.migrateOnStart) await database.migrate();

  const redis = config.redisUrl ? new Redis(config.redisUrl, REDIS_CLIENT_OPTIONS) : undefined;
  // Each reconnect attempt fails while Redis is down: debug only; the switch to memory is logged once (warn).
  redis?.on('error', (error) => logger.debug({ err: error }, 'redis error'));

  const app = await buildApp({ config, database, logger, redis });
  registerShutdown(logger, async () => {
    await app.close();
    await database.close();
    await redis?.quit().catch(() => redis.disconnect());
  });

  await app.listen({ host: config.host, port: config.port });
  logger.info(
    { database: database.kind, docs: config.docsEnabled ? '/docs' : false, environment: config.environment },
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
