// Shared by the benchmark scripts: processes, ports, the database of a run, seeding, logging in.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hash } from '@node-rs/argon2';
import pg from 'pg';

export const ROOT = new URL('..', import.meta.url).pathname;
export const SECRET = 'bench-secret-key-0123456789abcdef-0123456789abcdef';
export const BASE_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const log = (msg) => process.stdout.write(`${msg}\n`);
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

export async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitForHttp(url, timeoutMs = 30_000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      if ((await fetch(url)).ok) return Date.now() - started;
    } catch {}
    await sleep(20);
  }
  throw new Error(`${url} did not answer`);
}

export function start(name, args, childEnv, cwd = ROOT) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, ...childEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  child.on('exit', (code) => {
    if (code && code !== 0 && !child.stopping) log(`${name} exited with ${code}: ${stderr}`);
  });
  children.push(child);
  return child;
}

export async function stop(child) {
  child.stopping = true;
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
}

export const rss = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};

export function load(url, scenario, duration, connections, tokens) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bench/load.mjs'), JSON.stringify({ url, scenario, duration, connections, tokens })],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`load ${code}`)),
    );
  });
}

export async function login(url, username) {
  const response = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'bench-password' }),
  });
  if (!response.ok) throw new Error(`login ${username}: ${response.status} ${await response.text()}`);
  return response.json();
}

export function build() {
  log('building...');
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

/** A database of the run's own on the benchmark server, dropped by `drop()`. */
export async function createBenchDatabase(name) {
  const admin = new pg.Client({ connectionString: BASE_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** BENCH_SERVER_ENV="NAME=value,NAME=value": settings for our server, to measure what one of them costs. */
function serverEnvOverrides() {
  const pairs = (process.env.BENCH_SERVER_ENV ?? '').split(',').filter(Boolean);
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

/**
 * The production server on that database, migrated on start, rate limits off, logs at info to /dev/null;
 * `dir`: another checkout's build (with its own node_modules) instead of this one.
 */
export async function startApi(databaseUrl, extraArgs = [], extraEnv = {}, dir = ROOT) {
  const port = await freePort();
  const child = start(
    'api',
    [...extraArgs, 'dist/server.js'],
    {
      DATABASE_URL: databaseUrl,
      MIGRATE_ON_START: 'true',
      PORT: String(port),
      HOST: '127.0.0.1',
      ENVIRONMENT: 'production',
      SECRET_KEY: SECRET,
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      // All the load comes from one address: the global per-client limit would refuse most of it.
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-data-')),
      ...serverEnvOverrides(),
      ...extraEnv,
    },
    dir,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/ready`);
  return { child, port, url };
}

/** `count` users user1..userN (password bench-password), a superuser bench_admin and bench_login. */
export async function seedUsers(databaseUrl, count) {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const hashed = await hash('bench-password', { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    await db.query(
      `INSERT INTO users (email, username, hashed_password, first_name, last_name, email_verified)
       SELECT 'user' || i || '@bench.example', 'user' || i, $1, 'First' || i, 'Last' || i, true FROM generate_series(1, $2) AS i`,
      [hashed, count],
    );
    await db.query(
      `INSERT INTO users (email, username, hashed_password, is_superuser, email_verified) VALUES
       ('admin@bench.example', 'bench_admin', $1, true, true), ('login@bench.example', 'bench_login', $1, false, true)`,
      [hashed],
    );
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
}
