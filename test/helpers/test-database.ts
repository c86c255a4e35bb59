import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { type DatabaseHandle, openDatabase, type QueryTracer } from '../../src/db/client.js';
import { wrapEmbedded } from '../../src/db/embedded.js';
import { tracePglite } from '../../src/db/query-tracing.js';

export interface TestDatabase {
  handle: DatabaseHandle;
  /** postgres:// URL of this file's own database (real PostgreSQL only). */
  url?: string;
  /** Empties every table and restarts the id sequences, between tests. */
  reset(): Promise<void>;
  /** Runs raw SQL (fixtures, assertions on stored state). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** The suite must never touch a real database by mistake: its name has to say it is for tests. */
export function assertTestDatabaseUrl(url: string): URL {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!name.toLowerCase().includes('test')) {
    throw new Error(`TEST_DATABASE_URL must name a database whose name contains "test" (got "${name}")`);
  }
  return parsed;
}

export const testDatabaseUrl = (): string | undefined => process.env.TEST_DATABASE_URL || undefined;

/** Set by the global setup on the embedded pass: a dump of the migrated database, loaded by each test file. */
export const TEMPLATE_VARIABLE = 'ENERGYEXE_TEST_TEMPLATE';
/** Set by the global setup on the embedded pass: a DATA_DIR holding the migrated embedded database. */
export const DATA_DIR_TEMPLATE_VARIABLE = 'ENERGYEXE_TEST_DATA_DIR_TEMPLATE';

/**
 * A DATA_DIR of its own for a built process (server or CLI) whose first start is not what the test is about: on
 * the embedded pass a copy of the migrated template, so the process skips initdb and the migrations (seconds per
 * process); on the PostgreSQL pass, where the process is given DATABASE_URL, an empty folder.
 * test/server-process.test.ts and test/cli.test.ts start on a fresh folder, as a new installation does.
 */
export function migratedDataDir(prefix = 'energyexe-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const template = process.env[DATA_DIR_TEMPLATE_VARIABLE];
  if (template && !testDatabaseUrl()) cpSync(template, dir, { recursive: true });
  return dir;
}

async function truncateAll(query: TestDatabase['query']): Promise<void> {
  const tables = await query<{ name: string }>(
    "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'",
  );
  if (tables.length > 0) {
    await query(`TRUNCATE ${tables.map((t) => t.name).join(', ')} RESTART IDENTITY CASCADE`);
  }
}

/**
 * The reset of the embedded database: TRUNCATE gives every table new files, some 40 ms per test on PGlite, while
 * deleting the few rows a test leaves takes a tenth of that. Replica mode skips foreign-key checks (and triggers)
 * as TRUNCATE does, for this transaction only; the sequences restart as with RESTART IDENTITY.
 */
async function deleteAll(query: TestDatabase['query']): Promise<void> {
  const [tables, sequences] = await Promise.all([
    query<{ name: string }>("SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'"),
    query<{ name: string; start: string }>(
      "SELECT quote_literal(quote_ident(sequencename)) AS name, start_value AS start FROM pg_sequences WHERE schemaname = 'public'",
    ),
  ]);
  const statements = [
    'BEGIN',
    'SET LOCAL session_replication_role = replica',
    ...tables.map((table) => `DELETE FROM ${table.name}`),
    ...sequences.map((sequence) => `SELECT setval(${sequence.name}, ${Number(sequence.start)}, false)`),
    'COMMIT',
  ];
  try {
    await query(`${statements.join(';\n')};`);
  } catch (error) {
    await query('ROLLBACK');
    throw error;
  }
}

/**
 * A database of this test file's own: on real PostgreSQL (TEST_DATABASE_URL) a new database, else an
 * embedded one. `migrated: false` gives an empty one (legacy adoption tests run their own fixture first).
 */
export async function createTestDatabase(
  options: { migrated?: boolean; queryTracer?: QueryTracer } = {},
): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  const baseUrl = testDatabaseUrl();
  return baseUrl
    ? createPostgresDatabase(baseUrl, migrated, options.queryTracer)
    : createEmbeddedDatabase(migrated, options.queryTracer);
}

async function createEmbeddedDatabase(migrated: boolean, queryTracer?: QueryTracer): Promise<TestDatabase> {
  const template = process.env[TEMPLATE_VARIABLE];
  let client: PGlite;
  if (migrated && template) {
    client = await PGlite.create({ loadDataDir: new Blob([await readFile(template)]) });
  } else {
    client = await PGlite.create();
  }
  if (queryTracer) tracePglite(client, queryTracer);
  const handle = wrapEmbedded(client);
  if (migrated && !template) await handle.migrate();
  const query: TestDatabase['query'] = async (sql, params) => {
    if (params) return (await client.query(sql, params)).rows as never[];
    const results = await client.exec(sql);
    return (results.at(-1)?.rows ?? []) as never[];
  };
  return { handle, query, reset: () => deleteAll(query), close: () => handle.close() };
}

async function createPostgresDatabase(
  baseUrl: string,
  migrated: boolean,
  queryTracer?: QueryTracer,
): Promise<TestDatabase> {
  const base = assertTestDatabaseUrl(baseUrl);
  const baseName = decodeURIComponent(base.pathname.slice(1));
  const name = `${baseName}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), poolMax: 10, queryTracer });
  if (migrated) await handle.migrate();

  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // pool.end() resolves before its clients' sockets are closed, so the DROP DATABASE ... WITH (FORCE) of close()
  // can terminate one of them (57P01); without a listener the pool rethrows that as an uncaught exception.
  pool.on('error', () => {});
  const query: TestDatabase['query'] = async (sql, params) => (await pool.query(sql, params)).rows;
  return {
    handle,
    url: url.toString(),
    query,
    reset: () => truncateAll(query),
    async close() {
      await pool.end();
      await handle.close();
      const cleanup = new pg.Client({ connectionString: baseUrl });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
