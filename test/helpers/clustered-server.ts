import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { killAll, type ServerProcess, startServer } from './server-process.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface ClusteredServer {
  server: ServerProcess;
  database: TestDatabase;
}

/**
 * The built server with WEB_CONCURRENCY=2 (node:cluster workers sharing the port) on a database and a data
 * directory of the file's own, started before the file's tests and killed after them; `env` adds to or overrides
 * its settings. The embedded database refuses a second worker: call inside a describe skipped without
 * TEST_DATABASE_URL.
 */
export function useClusteredServer(env: Record<string, string>): ClusteredServer {
  const ctx = {} as ClusteredServer;
  beforeAll(async () => {
    ctx.database = await createTestDatabase();
    ctx.server = await startServer({
      DATABASE_URL: ctx.database.url as string,
      WEB_CONCURRENCY: '2',
      // Load shedding off: a busy test machine stalls the event loop past any threshold.
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      // A folder of its own: where the workers share a generated secret when SECRET_KEY is unset.
      DATA_DIR: mkdtempSync(join(tmpdir(), 'energyexe-cluster-')),
      ...env,
    });
  }, 60_000);
  afterAll(async () => {
    killAll();
    await ctx.database?.close();
  });
  return ctx;
}
