import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { lockDataDir } from '../src/db/data-dir-lock.js';
import { createLogger } from '../src/shared/logger.js';
import { TEST_SECRET, testConfig } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

/**
 * The built CLI, as `npm run cli` runs it. vitest's global setup builds dist/ once for the whole run; building
 * again here would delete dist/ under the other process-level tests running in parallel, and running the
 * sources through tsx would test something other than what ships.
 */
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

const ADMIN_PASSWORD = 'cli-admin-password-1';
const PIPED_PASSWORD = 'cli-piped-password-2';
const SECRETS = [ADMIN_PASSWORD, PIPED_PASSWORD, 'short', 'typo-secret-3', 'regular-password-4', 'url-secret-5'];

let workDir: string;
let dataDir: string;
/** On real PostgreSQL (TEST_DATABASE_URL) the CLI gets a database of its own; else the embedded one in dataDir. */
let postgres: TestDatabase | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: the global setup should have built it`);
  workDir = mkdtempSync(join(tmpdir(), 'energyexe-cli-'));
  dataDir = join(workDir, 'data');
  env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, SECRET_KEY: TEST_SECRET };
  if (process.env.TEST_DATABASE_URL) {
    postgres = await createTestDatabase({ migrated: false });
    env.DATABASE_URL = postgres.url as string;
  }
});

afterAll(async () => {
  await postgres?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with stdin a pipe (not a terminal), from a folder without a `.env`. */
async function cli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const result = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: workDir, env: { ...env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
  for (const secret of SECRETS) expect(result.stdout + result.stderr, 'a password was printed').not.toContain(secret);
  return result;
}

/** The HTTP API on the database the CLI uses, between two CLI runs (the embedded one admits one process). */
async function withApi(task: (app: FastifyInstance) => Promise<void>): Promise<void> {
  const database: DatabaseHandle = postgres?.handle ?? (await openDatabase({ dataDir }));
  const silent = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const app = await buildApp({
    config: testConfig({ DATA_DIR: dataDir }),
    database,
    logger: createLogger({ level: 'silent' }, silent),
  });
  try {
    await task(app);
  } finally {
    await app.close();
    if (!postgres) await database.close();
  }
}

async function login(app: FastifyInstance, username: string, password: string) {
  const response = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  expect(response.statusCode).toBe(200);
  const me = await app.inject({
    method: 'GET',
    url: '/api/v1/users/me',
    headers: { authorization: `Bearer ${response.json().access_token}` },
  });
  return me.json();
}

describe('npm run cli', () => {
  it('before the schema exists, a command other than migrate asks for npm run db:migrate', async () => {
    const result = await cli(['list-superusers'], { env: { MIGRATE_ON_START: 'false' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/pending migration.*0000_adopt_fastapi_users.*Run: npm run db:migrate/);
  });

  it('migrate applies every migration and names them; a second run has nothing to do', async () => {
    const first = await cli(['migrate']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/^Applied \d+ migration\(s\) to /);
    expect(first.stdout).toContain('0000_adopt_fastapi_users');
    expect(first.stdout).toContain(postgres ? 'PostgreSQL 127.0.0.1' : dataDir);

    const second = await cli(['migrate']);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toMatch(/^No migration to apply: .* is up to date/);
  });

  it('create-superuser creates an active superuser who can log in through the API', async () => {
    const result = await cli([
      'create-superuser',
      '--email',
      ' Admin@Example.COM ',
      '--username',
      'admin',
      '--password',
      ADMIN_PASSWORD,
      '--first-name',
      'Ada',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^Created superuser admin <admin@example.com> \(id \d+\)\n$/);

    await withApi(async (app) => {
      const me = await login(app, 'admin@example.com', ADMIN_PASSWORD);
      expect(me).toMatchObject({
        username: 'admin',
        first_name: 'Ada',
        is_active: true,
        is_superuser: true,
        email_verified: true,
      });
    });
  });

  it('without --password, reads the password as one line from stdin when it is not a terminal', async () => {
    const result = await cli(['create-superuser', '--email', 'piped@example.com', '--username', 'piped'], {
      stdin: `${PIPED_PASSWORD}\n`,
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    await withApi(async (app) => {
      expect(await login(app, 'piped', PIPED_PASSWORD)).toMatchObject({ is_superuser: true });
    });
  });

  it('refuses a taken email (in any case) with the API conflict message and exit code 1', async () => {
    const result = await cli([
      'create-superuser',
      '--email',
      'ADMIN@example.com',
      '--username',
      'admin2',
      '--password',
      ADMIN_PASSWORD,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('Error: User with this email already exists\n');
    expect(result.stdout).toBe('');
  });

  it('refuses values the API would refuse, naming every field, with exit code 2', async () => {
    const [flags, piped, empty] = await Promise.all([
      cli(['create-superuser', '--email', 'nope', '--username', 'x!', '--password', 'short']),
      cli(['create-superuser', '--email', 'new@example.com', '--username', 'newbie'], { stdin: 'short\n' }),
      cli(['create-superuser', '--email', 'new@example.com', '--username', 'newbie']),
    ]);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain('email: value is not a valid email address');
    expect(flags.stderr).toMatch(/username: must match pattern/);
    expect(flags.stderr).toContain('password: must NOT have fewer than 8 characters');
    expect(piped.code).toBe(2);
    expect(piped.stderr).toBe('Error: Invalid input:\n  password: must NOT have fewer than 8 characters\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('No password');
  });

  it('list-superusers prints a table of id, username, email and active', async () => {
    const result = await cli(['list-superusers']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^id\s+username\s+email\s+active$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^\d+\s+admin\s+admin@example\.com\s+yes$/);
    expect(rows[1]).toMatch(/^\d+\s+piped\s+piped@example\.com\s+yes$/);
  });

  it('promote makes an existing user a superuser, found by username or by email', async () => {
    await withApi(async (app) => {
      for (const username of ['regular1', 'regular2']) {
        const response = await app.inject({
          method: 'POST',
          url: '/api/v1/auth/register',
          payload: { email: `${username}@example.com`, username, password: 'regular-password-4' },
        });
        expect(response.statusCode).toBe(201);
      }
    });

    const byUsername = await cli(['promote', '--username', 'REGULAR1']);
    expect(byUsername).toMatchObject({ code: 0, stderr: '' });
    expect(byUsername.stdout).toBe('regular1 <regular1@example.com> is now a superuser\n');
    const byEmail = await cli(['promote', '--email', 'Regular2@Example.com']);
    expect(byEmail).toMatchObject({ code: 0, stderr: '' });

    await withApi(async (app) => {
      expect(await login(app, 'regular1', 'regular-password-4')).toMatchObject({ is_superuser: true });
      expect(await login(app, 'regular2', 'regular-password-4')).toMatchObject({ is_superuser: true });
    });
  });

  it('promote refuses an unknown user with exit code 1, and a malformed email with exit code 2', async () => {
    const unknown = await cli(['promote', '--email', 'ghost@example.com']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'Error: User not found\n' });
    // Not looked up as the username "regular1".
    const malformed = await cli(['promote', '--email', 'regular1']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('email: value is not a valid email address');
  });

  it('set-role makes a user an admin (by username or email) and back, and refuses a bad role or user', async () => {
    const promoted = await cli(['set-role', '--username', 'REGULAR1', '--role', 'admin']);
    expect(promoted).toMatchObject({
      code: 0,
      stderr: '',
      stdout: 'regular1 <regular1@example.com> now has the role admin\n',
    });
    await withApi(async (app) => {
      expect(await login(app, 'regular1', 'regular-password-4')).toMatchObject({ role: 'admin' });
    });
    const back = await cli(['set-role', '--email', 'Regular1@Example.com', '--role', 'client']);
    expect(back.stdout).toBe('regular1 <regular1@example.com> now has the role client\n');

    const badRole = await cli(['set-role', '--username', 'regular1', '--role', 'superuser']);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('set-role needs --role client or --role admin');
    expect(await cli(['set-role', '--username', 'ghost', '--role', 'admin'])).toMatchObject({
      code: 1,
      stderr: 'Error: User not found\n',
    });
    expect((await cli(['set-role', '--role', 'admin'])).code).toBe(2);
  });

  it('answers an unknown command, missing options or an unknown flag with the usage and exit code 2', async () => {
    const cases = [
      [],
      ['frobnicate'],
      ['promote'],
      ['promote', '--email', 'a@example.com', '--username', 'abc'],
      ['create-superuser', '--email', 'a@example.com'],
      ['create-superuser', '--email', 'a@example.com', '--username', 'abc', '--pasword=typo-secret-3'],
      ['migrate', '--force'],
      ['list-superusers', 'extra'],
    ];
    const results = await Promise.all(cases.map((args) => cli(args)));
    for (const [index, result] of results.entries()) {
      expect(result.code, cases[index]?.join(' ')).toBe(2);
      expect(result.stderr).toContain('Usage: npm run cli -- <command> [options]');
      expect(result.stdout).toBe('');
    }
    expect(results[1]?.stderr).toMatch(/^Error: Unknown command: frobnicate\n/);
    expect(results[2]?.stderr).toMatch(/^Error: promote needs one of --email or --username\n/);
    expect(results[5]?.stderr).toMatch(/^Error: Unknown option '--pasword'/);

    const help = await cli(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('create-superuser --email E --username U');
  });

  it('reports an unreachable PostgreSQL server in one line, without the password of its URL', async () => {
    const result = await cli(['list-superusers'], {
      env: { DATABASE_URL: 'postgresql://admin:url-secret-5@127.0.0.1:1/energyexe' },
    });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      'Error: The database is unreachable. Check that it is running and that DATABASE_URL points to it.\n',
    );
  });

  it.runIf(Boolean(process.env.TEST_DATABASE_URL))('reports what PostgreSQL refused, without a stack', async () => {
    const missing = new URL(postgres?.url as string);
    missing.pathname = `${missing.pathname}_missing`;
    const result = await cli(['migrate'], { env: { DATABASE_URL: missing.toString() } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^Error: The database refused the operation: database ".*_missing" does not exist\n$/,
    );
  });

  it('refuses an embedded database another process holds, naming the holder', async () => {
    // Its own data folder, so this also runs when the rest of the file is on PostgreSQL.
    const lockedDir = join(workDir, 'locked');
    const lock = lockDataDir(lockedDir);
    try {
      const result = await cli(['list-superusers'], { env: { DATA_DIR: lockedDir, DATABASE_URL: '' } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`is in use by process ${process.pid}`);
    } finally {
      lock.release();
    }
  });
});
