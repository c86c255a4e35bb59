// Compiles src/ to dist/ and copies the SQL migrations next to the code that applies them.
// With --if-changed (the test suite's global setup), a dist/ built from exactly the current inputs is kept:
// compiling takes seconds that every test run would otherwise pay again for the same output.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = 'dist/.inputs-sha256';
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'scripts/build.mjs'];

/** Every input file's path and content, hashed in a stable order. */
function inputsHash() {
  const files = INPUTS.filter((input) => existsSync(input)).flatMap((input) =>
    statSync(input).isDirectory()
      ? readdirSync(input, { withFileTypes: true, recursive: true })
          .filter((entry) => entry.isFile())
          .map((entry) => join(entry.parentPath, entry.name))
      : [input],
  );
  const hash = createHash('sha256');
  for (const file of files.sort()) hash.update(`${file}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

const expected = inputsHash();
if (process.argv.includes('--if-changed') && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === expected) {
  process.stdout.write('dist/ is up to date with src/\n');
} else {
  rmSync('dist', { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
  writeFileSync(STAMP, expected);
}
