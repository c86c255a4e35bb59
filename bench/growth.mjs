// npm run bench:growth: how the list routes cost as the tables grow. 100,000 users (first vs last keyset
// page, offset pages, search), 1,000,000 audit events and 1,000,000 sessions, each route timed with
// sequential requests (p50 and p95, in ms) on the production server against PostgreSQL.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { build, createBenchDatabase, log, login, ROOT, seedUsers, startApi, stop } from './lib.mjs';

const USERS = Number(process.env.BENCH_GROWTH_USERS ?? 100_000);
const ROWS = Number(process.env.BENCH_GROWTH_ROWS ?? 1_000_000);
const SAMPLES = 40;

async function time(url, headers) {
  const samples = [];
  let last;
  for (let i = 0; i < SAMPLES + 5; i++) {
    const started = performance.now();
    last = await fetch(url, { headers });
    await last.arrayBuffer();
    if (!last.ok) throw new Error(`${url}: ${last.status}`);
    if (i >= 5) samples.push(performance.now() - started); // the first few warm caches and plans
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(SAMPLES / 2)], p95: samples[Math.floor(SAMPLES * 0.95)], headers: last.headers };
}

async function main() {
  build();
  const database = await createBenchDatabase(`energyexe_growth_${process.pid}`);
  const results = { date: new Date().toISOString(), users: USERS, rows: ROWS, routes: {} };
  try {
    const api = await startApi(database.url);
    log(`seeding ${USERS} users, ${ROWS} audit events and ${ROWS} sessions...`);
    await seedUsers(database.url, USERS);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    await db.query(
      `INSERT INTO audit_events (at, actor_user_id, subject_user_id, event, ip, user_agent, details)
       SELECT now() - (i || ' seconds')::interval, 1 + i % $2, 1 + i % $2,
              (ARRAY['auth.login.succeeded','auth.login.failed','user.updated','auth.logout'])[1 + i % 4],
              '10.0.0.1', 'bench', '{}'::jsonb
       FROM generate_series(1, $1) AS i`,
      [ROWS, USERS],
    );
    // Sessions: spread over every user, plus many on one user whose list is then timed.
    await db.query(
      `INSERT INTO sessions (user_id, expires_at, created_at) SELECT 1 + i % $2, now() + interval '30 days', now() - (i || ' seconds')::interval
       FROM generate_series(1, $1) AS i`,
      [ROWS, USERS],
    );
    await db.query('ANALYZE');
    await db.end();

    const admin = { authorization: `Bearer ${(await login(api.url, 'bench_admin')).access_token}` };
    const user1 = { authorization: `Bearer ${(await login(api.url, 'user1')).access_token}` };
    const lastId = USERS - 100;
    const routes = {
      'users: first page (limit=100)': [`/api/v1/users?limit=100`, admin],
      'users: last page by after_id': [`/api/v1/users?limit=100&after_id=${lastId}`, admin],
      'users: last page by skip': [`/api/v1/users?limit=100&skip=${lastId}`, admin],
      'users: search "user1234" (substring)': [`/api/v1/users?search=user1234`, admin],
      'users: search "bench.example" (matches all)': [`/api/v1/users?search=bench.example&limit=100`, admin],
      'audit: newest page (limit=100)': [`/api/v1/audit-events?limit=100`, admin],
      'audit: page deep in the past (before=1000)': [`/api/v1/audit-events?limit=100&before=1000`, admin],
      'audit: by user_id': [`/api/v1/audit-events?user_id=4242&limit=100`, admin],
      'audit: by event': [`/api/v1/audit-events?event=auth.logout&limit=100`, admin],
      'audit: own history (/users/me/audit-events)': [`/api/v1/users/me/audit-events?limit=100`, user1],
      'sessions: own list (/auth/sessions, user with ~11 sessions)': [`/api/v1/auth/sessions`, user1],
      "sessions: a user's list (superuser)": [`/api/v1/users/4242/sessions`, admin],
    };
    for (const [label, [path, headers]] of Object.entries(routes)) {
      const { p50, p95 } = await time(`${api.url}${path}`, headers);
      results.routes[label] = { path, p50, p95 };
      log(`${label.padEnd(62)} p50 ${p50.toFixed(2).padStart(8)} ms   p95 ${p95.toFixed(2).padStart(8)} ms`);
    }
    await stop(api.child);
  } finally {
    await database.drop();
  }
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/growth-latest.json'), JSON.stringify(results, null, 2));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
