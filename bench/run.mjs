// npm run bench: builds, starts the production server against PostgreSQL in a database of its own,
// seeds it, and measures each scenario against bench/baseline/server.mjs in the same run, alternating
// the two so the machine's drift cancels out. Prints a table and writes bench/results/*.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hash } from '@node-rs/argon2';
import pg from 'pg';

const env = process.env;
const ROOT = new URL('..', import.meta.url).pathname;
const DURATION = Number(env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 64);
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
const SOAK = Number(env.BENCH_SOAK ?? 0);
const BASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECRET = 'bench-secret-key-0123456789abcdef-0123456789abcdef';
const USERS = 10_000;
/** Comma list of scenario names to run (default all); BENCH_PROFILE=dir writes a --cpu-prof of our server there. */
const ONLY = env.BENCH_SCENARIOS?.split(',').map((s) => s.trim());
const PROFILE = env.BENCH_PROFILE;

const SCENARIOS = [
  { name: 'health', label: 'GET /health', connections: CONNECTIONS },
  { name: 'me', label: 'GET /users/me', connections: CONNECTIONS },
  { name: 'list', label: 'GET /users?limit=100', connections: CONNECTIONS },
  { name: 'search', label: 'GET /users?search= (10k users)', connections: CONNECTIONS },
  { name: 'login', label: 'POST /auth/login', connections: 8 },
  { name: 'register', label: 'POST /auth/register', connections: 8 },
  { name: 'refresh', label: 'POST /auth/refresh', connections: 8 },
];

const log = (msg) => process.stdout.write(`${msg}\n`);
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, timeoutMs = 30_000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      if ((await fetch(url)).ok) return Date.now() - started;
    } catch {}
    await sleep(20);
  }
  throw new Error(`${url} did not answer`);
}

function start(name, args, childEnv) {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: env.PATH, ...childEnv },
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

async function stop(child) {
  child.stopping = true;
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
}

const rss = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};

function load(url, scenario, duration, connections, tokens) {
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

async function login(url, username) {
  const response = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'bench-password' }),
  });
  if (!response.ok) throw new Error(`login ${username}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Polls /health every 25 ms while `during` runs: its latency is the event loop's queueing delay. */
async function probeLag(url, during) {
  const samples = [];
  let done = false;
  const probe = (async () => {
    while (!done) {
      const t = performance.now();
      try {
        await fetch(`${url}/health`);
        samples.push(performance.now() - t);
      } catch {}
      await sleep(25);
    }
  })();
  const result = await during;
  done = true;
  await probe;
  samples.sort((a, b) => a - b);
  return { result, lagP99: samples[Math.floor(samples.length * 0.99)] ?? 0 };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  log(
    `node ${process.version}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; duration ${DURATION}s per target per scenario, ${CONNECTIONS} connections`,
  );
  log('building...');
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });

  const base = new URL(BASE_URL);
  const dbName = `energyexe_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(base);
  dbUrl.pathname = `/${dbName}`;
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    duration: DURATION,
    connections: CONNECTIONS,
    scenarios: {},
  };

  try {
    const oursPort = await freePort();
    const basePort = await freePort();
    const profileArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [];
    const ours = start('api', [...profileArgs, 'dist/server.js'], {
      DATABASE_URL: dbUrl.toString(),
      MIGRATE_ON_START: 'true',
      PORT: String(oursPort),
      HOST: '127.0.0.1',
      ENVIRONMENT: 'production',
      SECRET_KEY: SECRET,
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-data-')),
    });
    const oursUrl = `http://127.0.0.1:${oursPort}`;
    await waitForHttp(`${oursUrl}/health/ready`);

    log(`seeding ${USERS} users...`);
    const db = new pg.Client({ connectionString: dbUrl.toString() });
    await db.connect();
    const hashed = await hash('bench-password', { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    await db.query(
      `INSERT INTO users (email, username, hashed_password, first_name, last_name, email_verified)
       SELECT 'user' || i || '@bench.example', 'user' || i, $1, 'First' || i, 'Last' || i, true FROM generate_series(1, $2) AS i`,
      [hashed, USERS],
    );
    await db.query(
      `INSERT INTO users (email, username, hashed_password, is_superuser, email_verified) VALUES
       ('admin@bench.example', 'bench_admin', $1, true, true), ('login@bench.example', 'bench_login', $1, false, true)`,
      [hashed],
    );
    await db.query('ANALYZE');
    await db.end();

    const baseline = start('baseline', ['bench/baseline/server.mjs'], {
      DATABASE_URL: dbUrl.toString(),
      SECRET_KEY: SECRET,
      PORT: String(basePort),
      POOL_MAX: '15',
    });
    const baseUrl = `http://127.0.0.1:${basePort}`;
    await waitForHttp(`${baseUrl}/health`);

    const tokens = {
      user: (await login(oursUrl, 'user1')).access_token,
      admin: (await login(oursUrl, 'bench_admin')).access_token,
    };
    const targets = [
      { key: 'ours', url: oursUrl },
      { key: 'baseline', url: baseUrl },
    ];

    for (const scenario of SCENARIOS.filter((s) => !ONLY || ONLY.includes(s.name))) {
      log(`${scenario.label}...`);
      const runTokens = async () =>
        scenario.name === 'refresh'
          ? {
              ...tokens,
              refresh: await Promise.all(
                Array.from(
                  { length: scenario.connections },
                  async () => (await login(oursUrl, 'bench_login')).refresh_token,
                ),
              ),
            }
          : tokens;
      for (const t of targets) await load(t.url, scenario.name, WARMUP, scenario.connections, await runTokens());

      const runs = { ours: [], baseline: [] };
      let peak = 0;
      for (let round = 0; round < 2; round++) {
        for (const t of targets) {
          const sampler = t.key === 'ours' ? setInterval(() => (peak = Math.max(peak, rss(ours.pid))), 200) : undefined;
          const run = load(t.url, scenario.name, DURATION / 2, scenario.connections, await runTokens());
          const { result, lagP99 } =
            t.key === 'ours' && scenario.name === 'login'
              ? await probeLag(t.url, run)
              : { result: await run, lagP99: undefined };
          clearInterval(sampler);
          runs[t.key].push({ ...result, lagP99 });
        }
      }
      const summary = (xs) => ({
        rps: mean(xs.map((x) => x.rps)),
        p50: mean(xs.map((x) => x.p50)),
        p99: mean(xs.map((x) => x.p99)),
        errors: xs.reduce((a, x) => a + x.errors, 0),
      });
      const o = summary(runs.ours);
      const b = summary(runs.baseline);
      results.scenarios[scenario.name] = {
        label: scenario.label,
        connections: scenario.connections,
        ours: o,
        baseline: b,
        ratio: o.rps / b.rps,
        peakRssMb: peak / 2 ** 20,
        ...(scenario.name === 'login' ? { eventLoopLagP99Ms: Math.max(...runs.ours.map((r) => r.lagP99)) } : {}),
      };
    }

    if (SOAK > 0) {
      log(`soak: GET /users/me for ${SOAK}s...`);
      await load(oursUrl, 'me', 10, CONNECTIONS, tokens);
      const before = rss(ours.pid);
      await load(oursUrl, 'me', SOAK, CONNECTIONS, tokens);
      const after = rss(ours.pid);
      results.soak = {
        seconds: SOAK,
        rssBeforeMb: before / 2 ** 20,
        rssAfterMb: after / 2 ** 20,
        growth: after / before - 1,
      };
    }

    await stop(baseline);
    await stop(ours);

    if (!ONLY) results.startupMs = await measureStartup(oursPort);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }

  printTable(results);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const json = JSON.stringify(results, null, 2);
  writeFileSync(join(ROOT, 'bench/results/latest.json'), json);
  writeFileSync(join(ROOT, `bench/results/${results.date.replace(/[:.]/g, '-')}.json`), json);
}

/** Median of three: from spawning node to the first 200 from /health, on an already created embedded database. */
async function measureStartup(port) {
  log('start-up on an existing embedded database...');
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  const startupEnv = {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    SECRET_KEY: SECRET,
    ENVIRONMENT: 'production',
  };
  const first = start('startup', ['dist/server.js'], startupEnv);
  await waitForHttp(`${url}/health`);
  await stop(first);
  const startups = [];
  for (let i = 0; i < 3; i++) {
    const child = start('startup', ['dist/server.js'], startupEnv);
    startups.push(await waitForHttp(`${url}/health`));
    await stop(child);
  }
  rmSync(dataDir, { recursive: true, force: true });
  return startups.sort((a, b) => a - b)[1];
}

function printTable(results) {
  const f = (n, d = 0) => (n === undefined ? '' : n.toFixed(d));
  const rows = [
    [
      'scenario',
      'conns',
      'ours req/s',
      'base req/s',
      'ratio',
      'ours p50',
      'ours p99',
      'base p99',
      'errors',
      'peak RSS MB',
    ],
  ];
  for (const s of Object.values(results.scenarios)) {
    rows.push([
      s.label,
      String(s.connections),
      f(s.ours.rps),
      f(s.baseline.rps),
      f(s.ratio, 2),
      `${f(s.ours.p50, 1)} ms`,
      `${f(s.ours.p99, 1)} ms`,
      `${f(s.baseline.p99, 1)} ms`,
      String(s.ours.errors),
      f(s.peakRssMb),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  log('');
  for (const r of rows) log(`| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`);
  const login = results.scenarios.login;
  if (login) log(`\nevent-loop lag p99 during login: ${f(login.eventLoopLagP99Ms, 1)} ms`);
  if (results.soak)
    log(
      `soak ${results.soak.seconds}s: RSS ${f(results.soak.rssBeforeMb)} -> ${f(results.soak.rssAfterMb)} MB (${f(results.soak.growth * 100, 1)} %)`,
    );
  if (results.startupMs) log(`start-up to first /health on an existing embedded database: ${results.startupMs} ms`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
