import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RESPONSES_DIR_VARIABLE, validateRecordedResponses } from './helpers/response-recorder.js';
import { assertTestDatabaseUrl, DATA_DIR_TEMPLATE_VARIABLE, TEMPLATE_VARIABLE } from './helpers/test-database.js';

/**
 * Builds dist/ for the tests that run the real processes (kept when its sources have not changed since it was
 * built). Meanwhile, since starting PGlite and running initdb takes seconds and loading a dump of an already
 * migrated database takes a fraction of that, makes that dump (kept from an earlier run while the migrations and
 * the lockfile are the same): every test file opens its own copy of this template.
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
  const [templates] = await Promise.all([cachedTemplates(), built]);
  process.env[TEMPLATE_VARIABLE] = templates.dump;
  process.env[DATA_DIR_TEMPLATE_VARIABLE] = templates.dataDir;
  return checkResponses;
}

const CACHE = 'node_modules/.cache/energyexe-test-templates';

/** The templates of the current migrations and package versions, made unless an earlier run left them. */
async function cachedTemplates(): Promise<{ dump: string; dataDir: string }> {
  const migrations = 'src/db/migrations';
  const hash = createHash('sha256').update(readFileSync('package-lock.json'));
  for (const file of readdirSync(migrations, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(migrations, file);
    if (file.endsWith('.sql') || file.endsWith('.json')) {
      hash.update(`${file}\0`).update(readFileSync(path)).update('\0');
    }
  }
  const dir = join(CACHE, hash.digest('hex').slice(0, 16));
  const templates = { dump: join(dir, 'template.tar'), dataDir: join(dir, 'data-dir') };
  if (existsSync(dir)) return templates;
  // Made aside and renamed into place, so that an interrupted run leaves nothing half made under that name.
  mkdirSync(CACHE, { recursive: true });
  for (const entry of readdirSync(CACHE, { withFileTypes: true })) {
    const path = join(CACHE, entry.name);
    // Templates of other migrations, and what an interrupted run left; not what another run is making now.
    if (!entry.name.startsWith('making-') || Date.now() - statSync(path).mtimeMs > 3_600_000) {
      rmSync(path, { recursive: true, force: true });
    }
  }
  const making = mkdtempSync(join(CACHE, 'making-'));
  await makeTemplates(making);
  try {
    renameSync(making, dir);
  } catch (error) {
    // Another run made them meanwhile.
    rmSync(making, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
  return templates;
}

/**
 * The migrated database twice: as a dump (test files load it into an in-memory PGlite) and as a DATA_DIR (copied
 * for a built process, which would otherwise run initdb and the migrations before it serves).
 */
async function makeTemplates(dir: string): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { wrapEmbedded } = await import('../src/db/embedded.js');
  const client = await PGlite.create();
  const handle = wrapEmbedded(client);
  await handle.migrate();
  const dump = await client.dumpDataDir('none');
  await handle.close();
  writeFileSync(join(dir, 'template.tar'), Buffer.from(await dump.arrayBuffer()));
  mkdirSync(join(dir, 'data-dir'));
  await (await PGlite.create(join(dir, 'data-dir', 'pgdata'), { loadDataDir: dump })).close();
}
