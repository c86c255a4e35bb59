import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startServer } from './helpers/server-process.js';
import { ROOT } from './helpers/spawned-process.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

afterAll(killAll);

const json = async (url: string, init?: RequestInit) => {
  const response = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...init?.headers },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the built server as a real process', () => {
  it('is what npm start runs', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe('node dist/server.js');
  });

  const dataDir = mkdtempSync(join(tmpdir(), 'energyexe-server-'));
  let token = '';

  it('starts on a fresh embedded database, migrates it and serves HTTP', async () => {
    const server = await startServer({ DATA_DIR: dataDir });
    expect((await json(`${server.url}/health`)).body).toEqual({ status: 'healthy' });
    expect((await json(`${server.url}/health/ready`)).body).toEqual({ status: 'ready', checks: { database: 'ok' } });

    const registered = await json(`${server.url}/api/v1/auth/register`, {
      method: 'POST',
      body: JSON.stringify({ email: 'proc@example.com', username: 'proc', password: 'process-password' }),
    });
    expect(registered.status).toBe(201);
    const login = await json(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ username: 'proc', password: 'process-password' }),
    });
    expect(login.status).toBe(200);
    token = login.body.access_token as string;

    // A second process on the same DATA_DIR refuses instead of corrupting the database.
    const second = await startServer({ DATA_DIR: dataDir }, { waitForReady: false });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`in use by process ${server.child.pid} on ${hostname()}`);

    // SIGTERM: a clean exit that releases the database.
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('"msg":"shutting down"');
    expect(existsSync(join(dataDir, 'embedded.lock'))).toBe(false);
  });

  it('keeps data and the generated secret across a restart', async () => {
    const server = await startServer({ DATA_DIR: dataDir });
    const me = await json(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('proc');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('takes over a lock left by a crashed process', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((done) => dead.on('exit', done));
    writeFileSync(
      join(dataDir, 'embedded.lock'),
      JSON.stringify({ pid: dead.pid, hostname: hostname(), command: 'crashed', started_at: new Date().toISOString() }),
    );
    const server = await startServer({ DATA_DIR: dataDir });
    expect((await json(`${server.url}/health`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses to start on a bad setting, naming the variable', async () => {
    const server = await startServer(
      { DATA_DIR: dataDir, ACCESS_TOKEN_EXPIRE_MINUTES: 'soon' },
      { waitForReady: false },
    );
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('ACCESS_TOKEN_EXPIRE_MINUTES must be an integer');
    expect(server.output()).not.toContain('    at '); // a message, not a stack trace
  });

  it('refuses to start in production without a SECRET_KEY', async () => {
    const server = await startServer({ DATA_DIR: dataDir, ENVIRONMENT: 'production' }, { waitForReady: false });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('SECRET_KEY must be set in production');
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('the built server on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.close();
  });

  it('migrates on start with MIGRATE_ON_START and serves from the pool', async () => {
    database = await createTestDatabase({ migrated: false });
    const server = await startServer({
      DATABASE_URL: database.url as string,
      MIGRATE_ON_START: 'true',
      DB_POOL_SIZE: '2',
      DB_MAX_OVERFLOW: '1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'energyexe-server-pg-')),
    });
    expect((await json(`${server.url}/health/ready`)).body).toEqual({ status: 'ready', checks: { database: 'ok' } });
    const registered = await json(`${server.url}/api/v1/auth/register`, {
      method: 'POST',
      body: JSON.stringify({ email: 'pg@example.com', username: 'pgproc', password: 'process-password' }),
    });
    expect(registered.status).toBe(201);
    expect(await database.query('SELECT username FROM users')).toEqual([{ username: 'pgproc' }]);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
