import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { lockDataDir } from '../src/db/data-dir-lock.js';
import { users } from '../src/modules/users/users.table.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

/** The built CLI as `npm run cli` runs it (global-setup built dist/), on this file's own database. */
const ROOT = new URL('..', import.meta.url).pathname;
let database: TestDatabase | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'energyexe-cli-'));
  env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, SECRET_KEY: 'cli-test-secret-0123456789abcdef012345' };
  if (process.env.TEST_DATABASE_URL) {
    database = await createTestDatabase({ migrated: false });
    env.DATABASE_URL = database.url as string;
  }
});

afterAll(async () => {
  await database?.close();
});

function cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.stdin.end(stdin ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the command line', () => {
  it('migrates, and migrating again is harmless', async () => {
    const first = await cli(['migrate']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/^Migrations applied/);
    expect((await cli(['migrate'])).code).toBe(0);
  });

  it('creates a superuser without ever printing the password', async () => {
    const result = await cli([
      'create-superuser',
      '--email',
      ' Admin@Example.COM ',
      '--username',
      'admin',
      '--password',
      'cli-secret-password',
      '--first-name',
      'Ada',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Created superuser admin <admin@example.com> \(id \d+\)/);
    expect(result.stdout + result.stderr).not.toContain('cli-secret-password');
  });

  it('reads the password from stdin when it is not given', async () => {
    const result = await cli(
      ['create-superuser', '--email', 'piped@example.com', '--username', 'piped'],
      'piped-password-1\n',
    );
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain('piped-password-1');
  });

  it('refuses a taken email with the conflict message and exit code 1', async () => {
    const result = await cli([
      'create-superuser',
      '--email',
      'ADMIN@example.com',
      '--username',
      'admin2',
      '--password',
      'cli-secret-password',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('User with this email already exists');
  });

  it('names every invalid field, with the API rules, and exits 2', async () => {
    const result = await cli(['create-superuser', '--email', 'nope', '--username', 'x', '--password', 'short']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('email: value is not a valid email address');
    expect(result.stderr).toMatch(/username: .*3/);
    expect(result.stderr).toMatch(/password: .*8/);
    expect(result.stderr).not.toContain('short\n');
  });

  it('lists the superusers', async () => {
    const result = await cli(['list-superusers']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^id\s+username\s+email\s+active/);
    expect(result.stdout).toMatch(/admin\s+admin@example.com\s+yes/);
    expect(result.stdout).toContain('piped@example.com');
  });

  it('promotes by email or username, and refuses an unknown user', async () => {
    // A regular account, written straight into the database the CLI uses (between two CLI runs).
    const handle = await openDatabase({
      databaseUrl: env.DATABASE_URL,
      dataDir: env.DATABASE_URL ? undefined : env.DATA_DIR,
    });
    try {
      await handle.db.insert(users).values({ email: 'temp@example.com', username: 'temp', hashedPassword: 'x' });
    } finally {
      await handle.close();
    }
    expect((await cli(['list-superusers'])).stdout).not.toContain('temp@example.com');
    expect((await cli(['promote', '--username', 'TEMP'])).stdout).toContain(
      'temp <temp@example.com> is now a superuser',
    );
    expect((await cli(['list-superusers'])).stdout).toContain('temp@example.com');
    expect((await cli(['promote', '--email', 'temp@example.com'])).code).toBe(0);
    const unknown = await cli(['promote', '--email', 'ghost@example.com']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('User not found');
  });

  it('answers an unknown command, a missing option or an unknown flag with the usage and exit code 2', async () => {
    for (const args of [
      ['frobnicate'],
      ['promote'],
      ['create-superuser', '--email', 'a@b.co'],
      ['migrate', '--force'],
    ]) {
      const result = await cli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Usage: npm run cli -- <command>');
    }
  });

  it.skipIf(Boolean(process.env.TEST_DATABASE_URL))(
    'refuses an embedded database another process holds, naming it',
    async () => {
      const lock = lockDataDir(env.DATA_DIR as string);
      try {
        const result = await cli(['list-superusers']);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`is in use by process ${process.pid}`);
      } finally {
        lock.release();
      }
    },
  );
});
