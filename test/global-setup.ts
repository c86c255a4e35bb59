import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { wrapEmbedded } from '../src/db/client.js';
import { assertTestDatabaseUrl } from './helpers/test-database.js';

/**
 * Starting PGlite and running initdb takes seconds; loading a dump of an already migrated database takes
 * a fraction of that. Every test file opens its own copy of this template.
 */
export default async function setup(): Promise<() => void> {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    assertTestDatabaseUrl(url);
    return () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'energyexe-test-'));
  const client = await PGlite.create();
  const handle = wrapEmbedded(client);
  await handle.migrate();
  const dump = await client.dumpDataDir('none');
  await handle.close();
  const path = join(dir, 'template.tar');
  writeFileSync(path, Buffer.from(await dump.arrayBuffer()));
  process.env.ENERGYEXE_TEST_TEMPLATE = path;
  return () => rmSync(dir, { recursive: true, force: true });
}
