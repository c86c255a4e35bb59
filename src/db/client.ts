import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { type QueryTracer, tracePool } from './query-tracing.js';
import * as schema from './schema.js';

export type { QueryTracer } from './query-tracing.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

export interface DatabaseHandle {
  db: Database;
  kind: 'embedded' | 'postgres';
  /** Round trip to the database; rejects when it is unreachable. */
  ping(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** The connection pool's figures (metrics); absent on the embedded database, which has one connection. */
  poolStats?(): PoolStats;
}

export interface PoolStats {
  /** Connections open, busy or idle. */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL URL; when absent the embedded database is used. */
  databaseUrl?: string | undefined;
  /** Folder of the embedded database; absent = in memory (tests). */
  dataDir?: string | undefined;
  poolMax?: number;
  /** Logs every statement (never its parameters, which may hold password hashes). */
  echo?: { debug(obj: object, msg: string): void } | undefined;
  /**
   * Longest wait for a connection, free in the pool or new: a database that is down or saturated must
   * answer 503 quickly, not hang requests.
   */
  connectTimeoutMs?: number;
  /** Longest one statement may run; the client gives up shortly after, for a server that stopped answering. */
  statementTimeoutMs?: number;
  /** Puts every statement made inside a trace in a span of its own (tracing on). */
  queryTracer?: QueryTracer | undefined;
}

export function echoLogger(log: OpenDatabaseOptions['echo']): DrizzleLogger | undefined {
  if (!log) return undefined;
  return { logQuery: (sql) => log.debug({ sql }, 'sql') };
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options, options.databaseUrl);
  // Loaded only when used: a server on PostgreSQL never pays for PGlite's code in memory or start-up.
  const { openEmbedded } = await import('./embedded.js');
  return openEmbedded(options);
}

/** Opens the database the configuration names, the same way for the server and the CLI. */
export function openConfiguredDatabase(
  config: Config,
  echo?: OpenDatabaseOptions['echo'],
  queryTracer?: QueryTracer,
): Promise<DatabaseHandle> {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolMax: config.dbPoolMax,
    connectTimeoutMs: config.dbPoolTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    echo: config.dbEcho ? echo : undefined,
    queryTracer,
  });
}

/** Margin of the client-side read timeout over the server's statement_timeout, which fires first when it can. */
const READ_TIMEOUT_MARGIN_MS = 250;

/**
 * The client-side read timeout: a connection whose query has had no byte back for `ms` is destroyed, so its query
 * fails (as "Query read timeout", a 503) and the pool drops it. One inactivity timer per connection, which Node
 * re-arms on every read and write without allocating, instead of pg's `query_timeout`, which arms and clears a
 * timer per query: under load that made V8 move request objects to the old generation on every scavenge
 * (bench/BASELINE.md). pg exposes no public "query in progress", hence its two private fields, read only here.
 */
function armReadTimeout(client: pg.PoolClient, ms: number): void {
  const internals = client as unknown as {
    connection?: { stream?: Socket };
    _activeQuery?: unknown;
    _queryQueue?: unknown[];
  };
  const socket = internals.connection?.stream;
  if (!socket) return;
  socket.setTimeout(ms);
  socket.on('timeout', () => {
    // An idle pooled connection is silent too: only one with a query waiting for its answer is given up.
    if (internals._activeQuery != null || (internals._queryQueue?.length ?? 0) > 0) {
      socket.destroy(new Error('Query read timeout'));
    }
  });
}

async function openPostgres(options: OpenDatabaseOptions, url: string): Promise<DatabaseHandle> {
  const connectionTimeoutMillis = options.connectTimeoutMs ?? 1000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 1500;
  const max = options.poolMax ?? 15;
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis,
    idleTimeoutMillis: 30_000,
    application_name: 'energyexe-core',
    // statement_timeout covers a busy or locked database; a frozen one never sends its cancellation, so
    // the client stops waiting too (armReadTimeout) and the pool drops that connection.
    statement_timeout: statementTimeoutMs,
  });
  // An idle client losing its connection emits here; without a listener the process would crash.
  pool.on('error', () => {});
  // The pool listens to a client's errors only until the first one; a client it is discarding (after a read
  // timeout, say) can still get a second, such as the server's late cancellation then its termination, and an
  // unheard 'error' event would crash the process. The queries get their errors through their own callbacks.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    armReadTimeout(client, statementTimeoutMs + READ_TIMEOUT_MARGIN_MS);
  });
  if (options.queryTracer) tracePool(pool, options.queryTracer);
  const logger = echoLogger(options.echo);
  const db = drizzleNodePg(pool, { schema, ...(logger ? { logger } : {}) }) as unknown as Database;

  return {
    db,
    kind: 'postgres',
    async ping() {
      await pool.query('SELECT 1');
    },
    async migrate() {
      // A connection of its own, without the request timeouts: a migration may take longer than a request,
      // and several processes starting with MIGRATE_ON_START at once wait on the advisory lock, one at a time.
      const client = new pg.Client({
        connectionString: url,
        connectionTimeoutMillis,
        application_name: 'energyexe-core',
      });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query("SELECT pg_advisory_lock(hashtext('energyexe:migrations'))");
        try {
          await migrateNodePg(drizzleNodePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
        } finally {
          await client.query("SELECT pg_advisory_unlock(hashtext('energyexe:migrations'))");
        }
      } finally {
        await client.end();
      }
    },
    async close() {
      await pool.end();
    },
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max,
    }),
  };
}
