import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useClusteredServer } from './helpers/clustered-server.js';
import { requestOnNewConnection } from './helpers/server-process.js';

const CREDENTIALS = { username: 'clustered', password: 'cluster-password-1' };

/** WEB_CONCURRENCY=2: node:cluster workers sharing the port, replaced when they die, drained on SIGTERM. */
describe.skipIf(!process.env.TEST_DATABASE_URL)('the built server with WEB_CONCURRENCY=2', () => {
  const cluster = useClusteredServer({
    RATE_LIMIT_LOGIN_PER_MINUTE: '0',
    SHUTDOWN_TIMEOUT_SECONDS: '30',
    DB_POOL_TIMEOUT_MS: '10000',
    DB_STATEMENT_TIMEOUT_MS: '10000',
  });

  const workerPids = () =>
    cluster.server
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"worker ready"'))
      .map((line) => JSON.parse(line).pid as number);
  const login = () =>
    requestOnNewConnection(`${cluster.server.url}/api/v1/auth/login`, { method: 'POST', body: CREDENTIALS });

  it('runs two workers that serve the same port, with the secret shared between them', async () => {
    // The primary says "server ready" once both listen; each worker logs its own line just after.
    for (let i = 0; i < 100 && workerPids().length < 2; i++) await sleep(50);
    expect(workerPids()).toHaveLength(2);
    const registered = await requestOnNewConnection(`${cluster.server.url}/api/v1/auth/register`, {
      method: 'POST',
      body: { ...CREDENTIALS, email: 'clustered@example.com' },
    });
    expect(registered.status).toBe(201);
    // Tokens issued by whichever worker answered are accepted by whichever answers next.
    const tokens = await Promise.all(Array.from({ length: 6 }, login));
    for (const response of tokens) {
      expect(response.status).toBe(200);
      const token = JSON.parse(response.body).access_token as string;
      const me = await requestOnNewConnection(`${cluster.server.url}/api/v1/users/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(me.status).toBe(200);
    }
  });

  it('replaces a worker that dies', async () => {
    const [victim] = workerPids();
    process.kill(victim as number, 'SIGKILL');
    await cluster.server.waitFor('"msg":"worker exited, replacing it"');
    for (let i = 0; i < 100 && workerPids().length < 3; i++) await sleep(100);
    expect(workerPids()).toHaveLength(3);
    expect((await login()).status).toBe(200);
  });

  it('on SIGTERM drains every worker: 30 logins in flight all answered, exit 0', async () => {
    const logins = Array.from({ length: 30 }, login);
    await sleep(200);
    cluster.server.child.kill('SIGTERM');
    const answers = await Promise.allSettled(logins);
    const statuses = answers.map((a) => (a.status === 'fulfilled' ? a.value.status : a.reason.message));
    expect(statuses).toEqual(Array(30).fill(200));
    expect(await cluster.server.exited).toBe(0);
    expect(cluster.server.output()).toContain('"msg":"shutdown complete"');
  }, 60_000);
});
