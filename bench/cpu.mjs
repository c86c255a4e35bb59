// npm run bench:cpu: the CPU time each server spends per request (user + system time of its process, all its
// threads, from /proc, over an autocannon run), for our server, the baseline and optionally another build.
// Requests per second move with whatever else runs on a shared machine; the CPU a process spends on one request
// moves far less, so this is the figure to compare two versions of the code with. Linux only.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  build,
  createBenchDatabase,
  freePort,
  load,
  log,
  login,
  rss,
  SECRET,
  seedUsers,
  start,
  startApi,
  stop,
  waitForHttp,
} from './lib.mjs';

const env = process.env;
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'health,me,list').split(',').map((s) => s.trim());
const DURATION = Number(env.BENCH_DURATION ?? 5);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 64);
/** Comma list of checkouts whose built servers (`dist/server.js`, own node_modules) are measured beside ours, e.g. worktrees of older commits. */
const OTHERS = (env.BENCH_CPU_OTHER ?? '').split(',').filter(Boolean);
const TICK_US = 1_000_000 / 100; // USER_HZ

/** utime + stime of a process, in microseconds. */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

async function main() {
  log(`node ${process.version}; ${SCENARIOS.join(', ')}; ${ROUNDS} rounds of ${DURATION}s per server`);
  build();
  const database = await createBenchDatabase(`energyexe_bench_cpu_${process.pid}`);
  const servers = [];
  try {
    const ours = await startApi(database.url);
    servers.push({ name: 'ours', ...ours });
    await seedUsers(database.url, 10_000);
    const basePort = await freePort();
    const baseline = start('baseline', ['bench/baseline/server.mjs'], {
      DATABASE_URL: database.url,
      SECRET_KEY: SECRET,
      PORT: String(basePort),
      POOL_MAX: '15',
    });
    servers.push({ name: 'baseline', child: baseline, url: `http://127.0.0.1:${basePort}` });
    await waitForHttp(`http://127.0.0.1:${basePort}/health`);
    for (const dir of OTHERS) servers.push({ name: dir, ...(await startApi(database.url, [], {}, resolve(dir))) });

    const tokens = {
      user: (await login(ours.url, 'user1')).access_token,
      admin: (await login(ours.url, 'bench_admin')).access_token,
    };
    const rows = [];
    for (const scenario of SCENARIOS) {
      log(`${scenario}...`);
      for (const s of servers) await load(s.url, scenario, 2, CONNECTIONS, tokens);
      const sums = new Map(servers.map((s) => [s.name, { micros: 0, requests: 0, seconds: 0, peakRss: 0 }]));
      // Alternating, so that the machine's drift falls on every server alike.
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of servers) {
          const sum = sums.get(s.name);
          const sampler = setInterval(() => (sum.peakRss = Math.max(sum.peakRss, rss(s.child.pid))), 200);
          const before = cpuMicros(s.child.pid);
          const result = await load(s.url, scenario, DURATION, CONNECTIONS, tokens);
          clearInterval(sampler);
          sum.micros += cpuMicros(s.child.pid) - before;
          sum.requests += result.total;
          sum.seconds += DURATION;
        }
      }
      const base = sums.get('baseline');
      for (const [name, sum] of sums) {
        const perRequest = sum.micros / sum.requests;
        rows.push({
          scenario,
          server: name,
          rps: Math.round(sum.requests / sum.seconds),
          cpuPerRequestUs: Math.round(perRequest),
          vsBaseline: (perRequest / (base.micros / base.requests)).toFixed(2),
          peakRssMb: Math.round(sum.peakRss / 2 ** 20),
        });
      }
    }
    log(
      '\n| scenario | server | req/s | CPU µs per request | against the baseline | peak RSS MB |\n|---|---|---|---|---|---|',
    );
    for (const r of rows) {
      log(`| ${r.scenario} | ${r.server} | ${r.rps} | ${r.cpuPerRequestUs} | ${r.vsBaseline} | ${r.peakRssMb} |`);
    }
  } finally {
    for (const s of servers.reverse()) await stop(s.child);
    await database.drop();
  }
}

await main();
process.exit(0);
