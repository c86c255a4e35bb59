// Lints the OpenAPI document the built server serves (`npm start` with DOCS_ENABLED=true), with Redocly's
// recommended rules (0 errors, 0 warnings: redocly.yaml) and Spectral's `spectral:oas` + OWASP rulesets
// (0 errors: .spectral.yaml). `npm run lint:openapi`; CI runs it after the build.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'energyexe-openapi-lint-'));
const server = spawn(process.execPath, ['dist/server.js'], {
  env: {
    ...process.env,
    DOCS_ENABLED: 'true',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dir,
    DATABASE_URL: '',
    REDIS_URL: '',
    LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});

let status = 1;
try {
  const port = await new Promise((resolve, reject) => {
    let output = '';
    server.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output) ?? /127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    server.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`the server did not start within 30 s:\n${output}`)), 30_000).unref();
  });
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`);
  if (!response.ok) throw new Error(`GET /api/v1/openapi.json answered ${response.status}`);
  // Inside the project (gitignored), so that the path overrides of .spectral.yaml, which are relative to it, apply.
  mkdirSync('test-artifacts', { recursive: true });
  const file = join('test-artifacts', 'served-openapi.json');
  writeFileSync(file, await response.text());

  const run = (command, args) => {
    process.stdout.write(`\n$ ${command} ${args.join(' ')}\n`);
    return spawnSync(command, args, { stdio: 'inherit' }).status;
  };
  const redocly = run('npx', ['--no-install', 'redocly', 'lint', '--max-problems', '1000', file]);
  const spectral = run('npx', [
    '--no-install',
    'spectral',
    'lint',
    '--ruleset',
    '.spectral.yaml',
    '--fail-severity',
    'error',
    file,
  ]);
  status = redocly === 0 && spectral === 0 ? 0 : 1;
  // Redocly exits 0 on warnings; the recommended rules must give none.
  const warnings = spawnSync('npx', ['--no-install', 'redocly', 'lint', '--format', 'summary', file], {
    encoding: 'utf8',
  });
  if (/warning/i.test(`${warnings.stdout}${warnings.stderr}`.replace(/Deprecation warning[^\n]*/g, ''))) {
    process.stderr.write('redocly reported warnings\n');
    status = 1;
  }
} catch (error) {
  process.stderr.write(`${error?.stack ?? error}\n`);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
