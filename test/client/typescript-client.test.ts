import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ApiError,
  type CrossTabLock,
  createEnergyExeClient,
  memoryStorage,
  SignedOutError,
  type TokenStorage,
  unwrap,
} from '../../clients/typescript/src/index.js';
import { generateClientTypes, TYPES_FILE } from '../../scripts/client-types.js';
import { type ServerProcess, startServer } from '../helpers/api-server.js';
import { recordingFetch } from '../helpers/response-recorder.js';
import { createTestDatabase, migratedDataDir, type TestDatabase } from '../helpers/test-database.js';

const SECRET_KEY = 'client-e2e-secret-key-that-is-long-enough-0123456789';
const ROOT = new URL('../..', import.meta.url).pathname;
const ADMIN = { email: 'admin@example.com', username: 'admin', password: 'admin-password-123' };

/**
 * The TypeScript client (clients/typescript) against the built server as a real process, on the embedded
 * database or, with TEST_DATABASE_URL, on a PostgreSQL database of this file's own.
 */
describe('the TypeScript client against the built server', () => {
  let database: TestDatabase | undefined;
  let server: ServerProcess;
  /** Every request the clients send, as "METHOD /path". */
  const calls: string[] = [];
  // Every response the client gets is also checked against openapi.json (test/helpers/response-recorder.ts).
  const recorded = recordingFetch((request) => fetch(request));
  const send = (request: Request) => {
    calls.push(`${request.method} ${new URL(request.url).pathname}`);
    return recorded(request);
  };
  const refreshes = () => calls.filter((c) => c === 'POST /api/v1/auth/refresh').length;
  let clockOffset = 0;
  const now = () => Date.now() + clockOffset;
  let counter = 0;

  beforeAll(async () => {
    const env: Record<string, string> = {
      SECRET_KEY,
      RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      DATA_DIR: migratedDataDir('energyexe-client-e2e-'),
    };
    if (process.env.TEST_DATABASE_URL) {
      database = await createTestDatabase();
      env.DATABASE_URL = database.url as string;
    }
    // The superuser comes from the CLI, as an operator would create it.
    execFileSync(
      process.execPath,
      [
        'dist/cli/main.js',
        'create-superuser',
        '--email',
        ADMIN.email,
        '--username',
        ADMIN.username,
        '--password',
        ADMIN.password,
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    server = await startServer(env);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await database?.close();
  });

  beforeEach(() => {
    calls.length = 0;
    clockOffset = 0;
  });

  const newClient = (
    options: {
      storage?: TokenStorage;
      lock?: CrossTabLock;
      onSignedOut?: (r: string) => void;
      broadcastChannel?: string;
    } = {},
  ) => createEnergyExeClient({ baseUrl: server.url, fetch: send, now, ...options });

  /** A new account registered through the client, and a client logged in as it. */
  async function signUp(options: Parameters<typeof newClient>[0] = {}) {
    counter += 1;
    const account = {
      email: `reader${counter}@example.com`,
      username: `reader${counter}`,
      password: 'a-long-password-1',
    };
    const client = newClient(options);
    const { data, response } = await client.api.POST('/api/v1/auth/register', { body: account });
    expect(response.status).toBe(201);
    await client.login(account.username, account.password);
    calls.length = 0;
    return { client, account, user: data as NonNullable<typeof data> };
  }

  it('registers, logs in and gets the current user with the access token attached', async () => {
    const storage = memoryStorage();
    const { client, user, account } = await signUp({ storage });
    expect(user).toMatchObject({ username: account.username, email: account.email, is_superuser: false });
    const { features, ...me } = unwrap(await client.api.GET('/api/v1/users/me'));
    expect(me).toEqual(user);
    expect(features).toMatchObject({ can_view_dashboard: true });
    expect(await client.isSignedIn()).toBe(true);
    expect((await storage.load())?.refreshToken).toEqual(expect.any(String));
    expect(refreshes()).toBe(0);
  });

  it('surfaces errors with their code', async () => {
    const client = newClient();
    const wrong = await client.login('nobody-at-all', 'wrong-password-1').catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(ApiError);
    expect(wrong).toMatchObject({ status: 401, code: 'auth.invalid_credentials', type: 'AuthenticationError' });
    expect((wrong as ApiError).requestId).toEqual(expect.any(String));

    const { account } = await signUp();
    const duplicate = await client.api.POST('/api/v1/auth/register', {
      body: { ...account, username: 'someone_else' },
    });
    expect(duplicate.error?.error.code).toBe('users.email_taken');
    const invalid = await client.api
      .POST('/api/v1/auth/register', { body: { email: 'not-an-email', username: 'x', password: 'short' } })
      .then(unwrap)
      .catch((error: unknown) => error as ApiError);
    expect(invalid).toMatchObject({ status: 422, code: 'request.validation_failed' });
    expect((invalid as ApiError).details?.map((d) => d.loc.join('.'))).toEqual(
      expect.arrayContaining(['body.email', 'body.username', 'body.password']),
    );
    const anonymous = await newClient().api.GET('/api/v1/users/me');
    expect(anonymous.error?.error.code).toBe('auth.not_authenticated');
  });

  it('refreshes once, before the call, when the access token is about to expire', async () => {
    const storage = memoryStorage();
    const { client, user } = await signUp({ storage });
    const before = await storage.load();
    clockOffset = 31 * 60_000; // past ACCESS_TOKEN_EXPIRE_MINUTES (30) by the client's clock
    expect(unwrap(await client.api.GET('/api/v1/users/me')).id).toBe(user.id);
    expect(calls).toEqual(['POST /api/v1/auth/refresh', 'GET /api/v1/users/me']);
    const after = await storage.load();
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(after?.accessToken).not.toBe(before?.accessToken);
  });

  it('refreshes and retries transparently when the API answers auth.token_expired', async () => {
    const storage = memoryStorage();
    const { client, user } = await signUp({ storage });
    const stored = (await storage.load()) as NonNullable<Awaited<ReturnType<TokenStorage['load']>>>;
    // The same session's token, expired by the server's clock while the client still believes it good.
    const claims = JSON.parse(Buffer.from(stored.accessToken.split('.')[1] as string, 'base64url').toString());
    const expired = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuedAt(claims.iat - 3600)
      .setExpirationTime(claims.iat - 60)
      .setJti(crypto.randomUUID())
      .sign(new TextEncoder().encode(SECRET_KEY));
    await storage.save({ ...stored, accessToken: expired });

    expect(unwrap(await client.api.GET('/api/v1/users/me')).id).toBe(user.id);
    expect(calls).toEqual(['GET /api/v1/users/me', 'POST /api/v1/auth/refresh', 'GET /api/v1/users/me']);
  });

  it('makes exactly one refresh for 20 concurrent calls across an expiry', async () => {
    const { client, user } = await signUp();
    clockOffset = 31 * 60_000;
    const results = await Promise.all(Array.from({ length: 20 }, () => client.api.GET('/api/v1/users/me')));
    expect(results.map((r) => r.response.status)).toEqual(Array(20).fill(200));
    expect(results.every((r) => r.data?.id === user.id)).toBe(true);
    expect(refreshes()).toBe(1);
  });

  it('makes one refresh for two tabs sharing storage and a lock', async () => {
    const storage = memoryStorage();
    let queue = Promise.resolve();
    // What navigator.locks gives tabs of one origin: one holder at a time.
    const lock: CrossTabLock = (_name, task) => {
      const run = queue.then(task);
      queue = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    };
    const { user } = await signUp({ storage, lock });
    const [tabA, tabB] = [newClient({ storage, lock }), newClient({ storage, lock })];
    clockOffset = 31 * 60_000;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? tabA : tabB).api.GET('/api/v1/users/me')),
    );
    expect(results.every((r) => r.data?.id === user.id)).toBe(true);
    expect(refreshes()).toBe(1);
  });

  it('ends the session when its refresh token was already used (auth.refresh_token_reused)', async () => {
    const storage = memoryStorage();
    const signedOut: string[] = [];
    const { client } = await signUp({ storage, onSignedOut: (reason) => signedOut.push(reason) });
    const stolen = (await storage.load())?.refreshToken;
    // Someone else spends the refresh token first.
    const thief = await fetch(`${server.url}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: stolen }),
    });
    expect(thief.status).toBe(200);
    const thiefTokens = (await thief.json()) as { access_token: string };

    clockOffset = 31 * 60_000;
    const error = await client.api.GET('/api/v1/users/me').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignedOutError);
    expect((error as SignedOutError).reason).toBe('refresh_token_reused');
    expect(signedOut).toEqual(['refresh_token_reused']);
    expect(await client.isSignedIn()).toBe(false);
    expect(await storage.load()).toBeNull();
    // The whole session is revoked: the thief's new tokens are refused too.
    const thiefCall = await fetch(`${server.url}/api/v1/users/me`, {
      headers: { authorization: `Bearer ${thiefTokens.access_token}` },
    });
    expect(thiefCall.status).toBe(401);
  });

  it('lists users as a superuser, with X-Total-Count', async () => {
    await signUp();
    const admin = newClient();
    await admin.login(ADMIN.username, ADMIN.password);
    const { data, response } = await admin.api.GET('/api/v1/users', { params: { query: { limit: 1 } } });
    expect(response.status).toBe(200);
    expect(data).toHaveLength(1);
    expect(data?.[0]?.username).toBe(ADMIN.username);
    expect(Number(response.headers.get('x-total-count'))).toBe(counter + 1);
    const { client } = await signUp();
    const refused = await client.api.GET('/api/v1/users');
    expect(refused.response.status).toBe(403);
    expect(refused.error?.error.code).toBe('auth.superuser_required');
  });

  it('logs out: the session ends on the server and the tokens are forgotten', async () => {
    const storage = memoryStorage();
    const signedOut: string[] = [];
    const { client } = await signUp({ storage, onSignedOut: (reason) => signedOut.push(reason) });
    const { accessToken } = (await storage.load()) ?? {};
    await client.logout();
    expect(calls).toEqual(['POST /api/v1/auth/logout']);
    expect(await client.isSignedIn()).toBe(false);
    expect(signedOut).toEqual(['logged_out']);
    const old = await fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(old.status).toBe(401);
  });

  it('tells the other tabs when the session ends (BroadcastChannel)', async () => {
    const storage = memoryStorage();
    const heard: string[] = [];
    const channel = `energyexe.test.${counter}`;
    const { client } = await signUp({ storage, broadcastChannel: channel });
    const otherTab = newClient({ storage, broadcastChannel: channel, onSignedOut: (reason) => heard.push(reason) });
    try {
      await client.logout();
      await expect.poll(() => heard).toEqual(['logged_out']);
      expect(await otherTab.isSignedIn()).toBe(false);
    } finally {
      client.dispose();
      otherTab.dispose();
    }
  });
});

describe('the TypeScript client package', () => {
  it('has types generated from the committed openapi.json (regenerate with `npm run client:generate`)', async () => {
    const committed = readFileSync(TYPES_FILE, 'utf8');
    expect(committed === (await generateClientTypes()), 'clients/typescript/src/schema.ts is stale').toBe(true);
  });

  it('depends on nothing at run time but openapi-fetch, and builds to ESM with type declarations', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'clients/typescript/package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(['openapi-fetch']);
    expect(pkg.type).toBe('module');
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
  });
});
