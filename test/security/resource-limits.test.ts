import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

// Battery item 7 (OWASP ASVS 5.0 V6.2.9, API4:2023 unrestricted resource consumption): every input is bounded
// before it costs anything, and an oversized one never takes the server down.

const ctx = useTestApp();
let port = 0;

beforeAll(async () => {
  // The header limit is Node's HTTP parser's: only a real socket reaches it.
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (ctx.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await ctx.app.close();
});

const failedLogins = async () =>
  (
    await ctx.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_events WHERE event = 'auth.login.failed'",
    )
  )[0]?.n;

/** A JSON body of exactly `bytes` bytes: a login whose password fills the rest. */
function loginBodyOf(bytes: number): string {
  const shell = JSON.stringify({ username: 'alice', password: '' });
  return JSON.stringify({ username: 'alice', password: 'x'.repeat(bytes - shell.length) });
}

async function expectServerUp() {
  const response = await ctx.app.inject({ method: 'GET', url: '/health' });
  expect(response.statusCode).toBe(200);
}

describe('body size', () => {
  it('answers 64 KiB + 1 to /auth/login with 413, and 64 KiB with a plain validation error', async () => {
    const over = loginBodyOf(65_537);
    expect(Buffer.byteLength(over)).toBe(65_537);
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: over,
      headers: { 'content-type': 'application/json' },
    });
    const error = expectError(response, 413, 'PayloadTooLargeError');
    expect(error.message).toBe('Request body is larger than 65536 bytes');
    const at = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: loginBodyOf(65_536),
      headers: { 'content-type': 'application/json' },
    });
    expectError(at, 422, 'ValidationError');
    expect(await failedLogins()).toBe(0);
  });

  it('answers 413 from the Content-Length alone, without waiting for the body', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        // Announces 10 MB and sends none of it: the answer must come anyway.
        socket.write(
          'POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n',
        );
      });
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
        if (received.includes('\r\n\r\n') && received.includes('}}')) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"code":"request.payload_too_large"');
  });

  it('answers 1 MiB + 1 elsewhere with 413, and takes 64 KiB+ there', async () => {
    const { headers } = await ctx.signIn();
    const put = (bytes: number) => {
      const shell = JSON.stringify({ first_name: '' });
      return ctx.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me',
        payload: JSON.stringify({ first_name: 'x'.repeat(bytes - shell.length) }),
        headers: { ...headers, 'content-type': 'application/json' },
      });
    };
    const over = await put(1_048_577);
    expect(expectError(over, 413, 'PayloadTooLargeError').message).toBe('Request body is larger than 1048576 bytes');
    // Past the /auth limit, within the general one: it reaches validation (a name is at most 100 characters).
    expectError(await put(70_000), 422, 'ValidationError');
  });
});

describe('passwords', () => {
  it('refuses a 1 MB password with 422 before any hashing, fast', async () => {
    const { user, headers } = await ctx.signIn();
    const started = performance.now();
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      payload: { current_password: user.password, new_password: 'y'.repeat(1_000_000) },
      headers,
    });
    const elapsed = performance.now() - started;
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    expect(error.details.map((d) => d.loc.join('.'))).toEqual(['body.new_password']);
    // An argon2 hash takes tens of milliseconds; over a megabyte it would take far more.
    expect(elapsed).toBeLessThan(1000);
    const [row] = await ctx.database.query<{ hashed_password: string }>(
      'SELECT hashed_password FROM users WHERE id = $1',
      [user.id],
    );
    expect(row?.hashed_password).toBe(user.hashedPassword);
  });

  it('refuses a 129-character password at login with 422, never reaching the password check', async () => {
    await ctx.createUser({ username: 'alice' });
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'alice', password: 'p'.repeat(129) },
    });
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    expect(error.details[0]?.loc).toEqual(['body', 'password']);
    expect(await failedLogins()).toBe(0);
  });
});

describe('query parameters', () => {
  for (const limit of ['1e9', '-1', 'abc', '1001', '0']) {
    it(`answers limit=${limit} with 422`, async () => {
      const { headers } = await ctx.signIn({ is_superuser: true });
      const response = await ctx.app.inject({ method: 'GET', url: `/api/v1/users?limit=${limit}`, headers });
      const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
      expect(error.details[0]?.loc).toEqual(['query', 'limit']);
    });
  }
});

describe('deeply nested JSON', () => {
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('answers 10,000 levels with 422 on /auth and elsewhere, and the server stays up', async () => {
    const { headers } = await ctx.signIn();
    for (const [url, method, auth] of [
      ['/api/v1/auth/login', 'POST', {}],
      ['/api/v1/users/me', 'PUT', headers],
    ] as const) {
      const body = `{"username":${deep(10_000)}}`;
      const response = await ctx.app.inject({
        method,
        url,
        payload: body,
        headers: { ...auth, 'content-type': 'application/json' },
      });
      const error = expectError(response, 422, 'ValidationError') as unknown as { details: { msg: string }[] };
      expect(error.details[0]?.msg).toBe('JSON nested deeper than 32 levels');
    }
    await expectServerUp();
  });

  it('still parses ordinary JSON whose strings contain brackets', async () => {
    const user = await ctx.createUser({ username: 'alice' });
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: JSON.stringify({ username: 'alice', password: user.password, x: '[[[[{{{{'.repeat(20) }),
      headers: { 'content-type': 'application/json' },
    });
    // Parsed, then refused by the schema for the extra key: not by the depth check.
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    expect(error.details[0]?.loc).toEqual(['body', 'x']);
  });
});

describe('headers', () => {
  it('answers a 20 KB header with 431 in the error envelope, and keeps serving', async () => {
    const response = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/api/v1/users/me', headers: { 'x-padding': 'a'.repeat(20_000) } },
          (res) => {
            let body = '';
            res.on('data', (chunk) => {
              body += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    expect(response.status).toBe(431);
    const body = JSON.parse(response.body) as { error: Record<string, string> };
    expect(body.error).toMatchObject({
      type: 'RequestHeaderFieldsTooLargeError',
      code: 'request.headers_too_large',
      request_id: response.headers['x-request-id'],
    });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const after = await fetch(`http://127.0.0.1:${port}/health`);
    expect(after.status).toBe(200);
  });
});
