import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { type Database, MIGRATIONS_FOLDER } from '../db/client.js';

interface Journal {
  entries: { tag: string; when: number }[];
}

type Rows<T> = { rows: T[] };

/**
 * The migrations Drizzle's migrator would apply now: it records each one in drizzle.__drizzle_migrations
 * with its journal timestamp, and applies those newer than the last recorded.
 */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as Journal;
  const table = (await db.execute(
    sql`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`,
  )) as unknown as Rows<{ present: boolean }>;
  let last = 0;
  if (table.rows[0]?.present) {
    const result = (await db.execute(
      sql`SELECT coalesce(max(created_at), 0)::text AS last FROM drizzle.__drizzle_migrations`,
    )) as unknown as Rows<{ last: string }>;
    last = Number(result.rows[0]?.last ?? 0);
  }
  return journal.entries.filter((entry) => entry.when > last).map((entry) => entry.tag);
}
