// npm run bench: builds, starts the production server against PostgreSQL in a database of its own,
// seeds it, and measures each scenario against bench/baseline/server.mjs in the same run, alternating
// the two so the machine's drift cancels out. Prints a table and writes bench/results/*.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  build,
  createBenchDatabase,
  freePort,
  load,
  log,
  login,
  ROOT,
  rss,
  SECRET,
  seedUsers,
  start,
  startApi,
  stop,
  waitForHttp,
} from './lib.mjs';

const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 64);
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
const SOAK = Number(env.BENCH_SOAK ?? 0);
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
  build();
  const database = await createBenchDatabase(`energyexe_bench_${process.pid}`);
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    duration: DURATION,
    connections: CONNECTIONS,
    scenarios: {},
  };

  try {
    const profileArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [];
    const { child: ours, port: oursPort, url: oursUrl } = await startApi(database.url, profileArgs);
    const basePort = await freePort();
    log(`seeding ${USERS} users...`);
    await seedUsers(database.url, USERS);

    const baseline = start('baseline', ['bench/baseline/server.mjs'], {
      DATABASE_URL: database.url,
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
    await database.drop();
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
