import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { lockDataDir } from './data-dir-lock.js';
import * as schema from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

export interface DatabaseHandle {
  db: Database;
  kind: 'embedded' | 'postgres';
  /** Round trip to the database; rejects when it is unreachable. */
  ping(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL URL; when absent the embedded database is used. */
  databaseUrl?: string | undefined;
  /** Folder of the embedded database; absent = in memory (tests). */
  dataDir?: string | undefined;
  poolMax?: number;
  /** Logs every statement (never its parameters, which may hold password hashes). */
  echo?: { debug(obj: object, msg: string): void } | undefined;
  /** Connect timeout: a database that is down must answer 503 quickly, not hang requests. */
  connectTimeoutMs?: number;
}

function echoLogger(log: OpenDatabaseOptions['echo']): DrizzleLogger | undefined {
  if (!log) return undefined;
  return { logQuery: (sql) => log.debug({ sql }, 'sql') };
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options, options.databaseUrl) : openEmbedded(options);
}

/** Opens the database the configuration names, the same way for the server and the CLI. */
export function openConfiguredDatabase(config: Config, echo?: OpenDatabaseOptions['echo']): Promise<DatabaseHandle> {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolMax: config.dbPoolMax,
    echo: config.dbEcho ? echo : undefined,
  });
}

async function openPostgres(options: OpenDatabaseOptions, url: string): Promise<DatabaseHandle> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolMax ?? 15,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    application_name: 'energyexe-core',
  });
  // An idle client losing its connection emits here; without a listener the process would crash.
  pool.on('error', () => {});
  const logger = echoLogger(options.echo);
  const db = drizzleNodePg(pool, { schema, ...(logger ? { logger } : {}) }) as unknown as Database;

  return {
    db,
    kind: 'postgres',
    async ping() {
      await pool.query('SELECT 1');
    },
    async migrate() {
      // Several processes may start with MIGRATE_ON_START at once; the advisory lock runs them one at a time.
      const client = await pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock(hashtext('energyexe:migrations'))");
        try {
          await migrateNodePg(drizzleNodePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
        } finally {
          await client.query("SELECT pg_advisory_unlock(hashtext('energyexe:migrations'))");
        }
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

async function openEmbedded(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const lock = options.dataDir ? lockDataDir(options.dataDir) : undefined;
  try {
    const client = await PGlite.create(options.dataDir ? `${options.dataDir}/pgdata` : undefined);
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
