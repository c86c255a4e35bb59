import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { Config } from '../config/config.js';
import { type DatabaseHandle, openConfiguredDatabase } from '../db/client.js';
import { createMailTransport } from '../modules/mail/mail.transport.js';
import { createServices, type Services } from '../services.js';
import { systemClock } from '../shared/clock.js';
import { createLogger } from '../shared/logger.js';
import { createPasswordHasher } from '../shared/password-hasher.js';
import { cliErrors } from './errors.js';
import { pendingMigrations } from './migrations.js';

/** Where the data lives, for messages: never the URL itself, which may carry a password. */
export function describeDatabase(config: Config): string {
  if (!config.databaseUrl) return `the embedded database in ${config.dataDir}`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL ${url.host}${url.pathname}`;
}

/** Opens the configured database (on the embedded one, taking its lock) and always closes it again. */
export async function withDatabase<T>(
  config: Config,
  task: (database: DatabaseHandle, logger: FastifyBaseLogger) => Promise<T>,
): Promise<T> {
  // Warnings and errors only, on stderr: stdout carries the command's own output.
  const logger = createLogger({ level: 'warn' }, pino.destination(2));
  const database = await openConfiguredDatabase(config, logger);
  try {
    return await task(database, logger);
  } finally {
    await database.close();
  }
}

/**
 * Runs `task` with the services wired exactly as the server wires them. The schema is brought up to date
 * first when the server would do it on start (the embedded database); otherwise it must already be.
 */
export function withServices<T>(config: Config, task: (services: Services) => Promise<T>): Promise<T> {
  return withDatabase(config, async (database, logger) => {
    if (config.migrateOnStart) {
      await database.migrate();
    } else {
      const pending = await pendingMigrations(database.db);
      if (pending.length > 0) throw cliErrors.notMigrated(pending);
    }
    const services = createServices({
      config,
      db: database.db,
      clock: systemClock,
      passwordHasher: createPasswordHasher(),
      mailTransport: createMailTransport(config, logger),
      logger,
    });
    try {
      return await task(services);
    } finally {
      await services.stop();
    }
  });
}
