import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { wrapEmbedded } from '../src/db/embedded.js';
import { RESPONSES_DIR_VARIABLE, validateRecordedResponses } from './helpers/response-recorder.js';
import { assertTestDatabaseUrl, DATA_DIR_TEMPLATE_VARIABLE, TEMPLATE_VARIABLE } from './helpers/test-database.js';

/**
 * Builds dist/ for the tests that run the real processes (kept when its sources have not changed since it was
 * built). Meanwhile, since starting PGlite and running initdb takes seconds and loading a dump of an already
 * migrated database takes a fraction of that, makes that dump: every test file opens its own copy of this template.
 */
export default async function setup(): Promise<() => void> {
  // Process-level tests (the server, the CLI) run the built code, exactly as `npm start` does; build once here.
  const built = promisify(execFile)(process.execPath, ['scripts/build.mjs', '--if-changed']).then(
    ({ stdout, stderr }) => process.stdout.write(stdout + stderr),
    (error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`, { cause: error });
    },
  );
  const responses = mkdtempSync(join(tmpdir(), 'energyexe-responses-'));
  process.env[RESPONSES_DIR_VARIABLE] = responses;
  const checkResponses = () => {
    try {
      const { checked, failures } = validateRecordedResponses(responses);
      process.stdout.write(`openapi.json: ${checked} responses of the suite checked against the document\n`);
      if (failures.length > 0) {
        // Vitest reports an error thrown here but keeps its exit status: fail the run explicitly.
        process.exitCode = 1;
        throw new Error(
          `${failures.length} response(s) the test suite received do not match openapi.json:\n${failures.slice(0, 30).join('\n')}`,
        );
      }
    } finally {
      rmSync(responses, { recursive: true, force: true });
    }
  };
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    assertTestDatabaseUrl(url);
    await built;
    return checkResponses;
  }
  const dir = mkdtempSync(join(tmpdir(), 'energyexe-test-'));
  const [templates] = await Promise.all([makeTemplates(dir), built]);
  process.env[TEMPLATE_VARIABLE] = templates.dump;
  process.env[DATA_DIR_TEMPLATE_VARIABLE] = templates.dataDir;
  return () => {
    rmSync(dir, { recursive: true, force: true });
    checkResponses();
  };
}

/**
 * The migrated database twice: as a dump (test files load it into an in-memory PGlite) and as a DATA_DIR (copied
 * for a built process, which would otherwise run initdb and the migrations before it serves).
 */
async function makeTemplates(dir: string): Promise<{ dump: string; dataDir: string }> {
  const client = await PGlite.create();
  const handle = wrapEmbedded(client);
  await handle.migrate();
  const dump = await client.dumpDataDir('none');
  await handle.close();
  const dumpPath = join(dir, 'template.tar');
  writeFileSync(dumpPath, Buffer.from(await dump.arrayBuffer()));
  const dataDir = join(dir, 'data-dir');
  mkdirSync(dataDir);
  await (await PGlite.create(join(dataDir, 'pgdata'), { loadDataDir: dump })).close();
  return { dump: dumpPath, dataDir };
}
