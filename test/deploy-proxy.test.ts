import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killLeftovers, type StartedProcess, startProcess, startServer } from './helpers/built-server.js';
import { parseMetrics, value } from './helpers/metrics.js';
import { freePort, ROOT } from './helpers/spawned-process.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

/**
 * deploy/compose/Caddyfile run by a real Caddy (Debian's `caddy`, which .ci/run installs) in front of two
 * real API processes over one PostgreSQL: the proxy spreads requests over the replicas, keeps serving when one
 * stops, and the replicas see the client's address, not one it forged.
 */
const CADDYFILE = join(ROOT, 'deploy/compose/Caddyfile');
const caddy = (() => {
  try {
    execFileSync('caddy', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('the compose Caddyfile', () => {
  it.skipIf(!caddy)('is a valid Caddy configuration', () => {
    const output = execFileSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', CADDYFILE], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(output).toContain('Valid configuration');
  });
});

const postgres = Boolean(process.env.TEST_DATABASE_URL);
if (!caddy)
  process.stderr.write('deploy-proxy.test.ts: no caddy binary (apt-get install caddy); proxy tests skipped\n');

describe.skipIf(!caddy || !postgres)('two API replicas behind Caddy with the compose Caddyfile', () => {
  let database: TestDatabase;
  const replicas: StartedProcess[] = [];
  let proxy: StartedProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      ENVIRONMENT: 'test',
      SECRET_KEY: 'a-secret-key-shared-by-both-replicas-0123456789',
      DATABASE_URL: database.url as string,
      TRUST_PROXY: 'true',
      METRICS_ENABLED: 'true',
    };
    replicas.push(...(await Promise.all([startServer(env), startServer(env)])));

    // The compose file's proxy, with the Docker DNS lookup of the `api` replicas replaced by these two.
    const port = await freePort();
    const original = readFileSync(CADDYFILE, 'utf8');
    const adapted = original
      .replace(/dynamic a api \d+ \{[^}]*\}/, `to ${replicas.map((r) => `127.0.0.1:${r.port}`).join(' ')}`)
      .replace(/^:80 \{/m, `:${port} {`);
    expect(adapted).not.toBe(original);
    const dir = mkdtempSync(join(tmpdir(), 'energyexe-caddy-'));
    writeFileSync(join(dir, 'Caddyfile'), adapted);
    proxy = await startProcess({
      args: [],
      env: { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      port,
      ready: '"msg":"serving initial configuration"',
      command: 'caddy',
      commandArgs: ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')],
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    killLeftovers();
    await database?.close();
  });

  const readyCount = async (replica: StartedProcess) =>
    value(parseMetrics(await (await fetch(`${replica.url}/metrics`)).text()), 'http_requests_total', {
      method: 'GET',
      route: '/health/ready',
      status: '200',
    }) ?? 0;

  it('spreads requests over both replicas', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await fetch(`${proxy.url}/health/ready`)).status);
    expect(statuses).toEqual(Array(10).fill(200));
    const counts = await Promise.all(replicas.map(readyCount));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(3);
  });

  it("gives the replicas the client's address and ignores an X-Forwarded-For the client forged", async () => {
    const json = { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' };
    const credentials = { username: 'proxied', password: 'a-long-password-1' };
    const register = await fetch(`${proxy.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...credentials, email: 'proxied@example.com' }),
    });
    expect(register.status).toBe(201);
    const login = await fetch(`${proxy.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(credentials),
    });
    expect(login.status).toBe(200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    const events = await fetch(`${proxy.url}/api/v1/users/me/audit-events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(events.status).toBe(200);
    const ips = new Set(((await events.json()) as { ip: string | null }[]).map((e) => e.ip));
    expect([...ips]).toEqual(['127.0.0.1']);
  });

  it('keeps answering when a replica stops', async () => {
    expect(await replicas[0]?.stop()).toBe(0);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await fetch(`${proxy.url}/health/ready`)).status);
    expect(statuses).toEqual(Array(10).fill(200));
  });
});
