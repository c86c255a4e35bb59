import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import {
  type Database,
  type DatabaseHandle,
  echoLogger,
  MIGRATIONS_FOLDER,
  type OpenDatabaseOptions,
} from './client.js';
import { lockDataDir } from './data-dir-lock.js';
import { tracePglite } from './query-tracing.js';
import * as schema from './schema.js';

/** The embedded PostgreSQL (PGlite) in DATA_DIR/pgdata, locked to this process. */
export async function openEmbedded(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const lock = options.dataDir ? lockDataDir(options.dataDir) : undefined;
  try {
    const client = await PGlite.create(options.dataDir ? `${options.dataDir}/pgdata` : undefined);
    if (options.queryTracer) tracePglite(client, options.queryTracer);
    return wrapEmbedded(client, options.echo, () => lock?.release());
  } catch (error) {
    lock?.release();
    throw error;
  }
}

/** A handle over an open PGlite instance (the test suite opens its instances from a migrated template). */
export function wrapEmbedded(
  client: PGlite,
  echo?: OpenDatabaseOptions['echo'],
  onClose: () => void = () => {},
): DatabaseHandle {
  const logger = echoLogger(echo);
  const pglite = drizzlePglite(client, { schema, ...(logger ? { logger } : {}) });

  return {
    db: pglite as unknown as Database,
    kind: 'embedded',
    async ping() {
      await client.query('SELECT 1');
    },
    async migrate() {
      await migratePglite(pglite, { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async close() {
      try {
        if (!client.closed) await client.close();
      } finally {
        onClose();
      }
    },
  };
}
