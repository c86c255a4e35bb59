// npm run bench:workers: throughput of the production server with WEB_CONCURRENCY=1 and with 2 (or the counts
// in BENCH_WORKERS), on PostgreSQL, in the same run. The servers alternate (warm-up, then 1, 2, 1, 2 workers), so
// the machine's drift cancels out; compare the ratios. Writes bench/results/workers.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build, createBenchDatabase, load, log, login, ROOT, seedUsers, startApi, stop } from './lib.mjs';

const env = process.env;
const WORKERS = (env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
const DURATION = Number(env.BENCH_DURATION ?? 8);
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
const SCENARIOS = [
  { name: 'health', label: 'GET /health', connections: 64 },
  { name: 'me', label: 'GET /users/me', connections: 64 },
  { name: 'login', label: 'POST /auth/login', connections: 16 },
];

async function main() {
  log(`node ${process.version}, ${cpus().length} cores; WEB_CONCURRENCY ${WORKERS.join(' vs ')}; ${DURATION}s each`);
  build();
  const database = await createBenchDatabase(`energyexe_bench_workers_${process.pid}`);
  const servers = [];
  try {
    for (const workers of WORKERS) {
      const server = await startApi(database.url, [], { WEB_CONCURRENCY: String(workers) });
      if (servers.length === 0) await seedUsers(database.url, 100);
      servers.push({ workers, ...server });
    }
    // Every worker up (readiness answers as soon as one is).
    await sleep(2000);
    const tokens = { user: (await login(servers[0].url, 'user1')).access_token };
    const results = {};
    for (const scenario of SCENARIOS) {
      const sums = new Map(WORKERS.map((w) => [w, { requests: 0, seconds: 0, errors: 0, p99: [] }]));
      for (const s of servers) await load(s.url, scenario.name, WARMUP, scenario.connections, tokens);
      for (let round = 0; round < 2; round++) {
        for (const s of servers) {
          const r = await load(s.url, scenario.name, DURATION / 2, scenario.connections, tokens);
          const sum = sums.get(s.workers);
          sum.requests += r.total;
          sum.seconds += DURATION / 2;
          sum.errors += r.errors;
          sum.p99.push(r.p99);
        }
      }
      results[scenario.name] = Object.fromEntries(
        [...sums].map(([w, sum]) => [
          w,
          { rps: Math.round(sum.requests / sum.seconds), errors: sum.errors, p99: Math.max(...sum.p99) },
        ]),
      );
      const base = results[scenario.name][WORKERS[0]].rps;
      const row = WORKERS.map((w) => {
        const r = results[scenario.name][w];
        return `${w} worker(s): ${r.rps} req/s (x${(r.rps / base).toFixed(2)}), p99 ${r.p99} ms, errors ${r.errors}`;
      });
      log(`${scenario.label.padEnd(18)} ${scenario.connections} conns | ${row.join(' | ')}`);
    }
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench/results/workers.json'),
      JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, results }, null, 2),
    );
  } finally {
    for (const s of servers) await stop(s.child);
    await database.drop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    log(error.stack ?? String(error));
    process.exit(1);
  },
);
