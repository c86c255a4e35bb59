import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { type JWTPayload, SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { tokenFrom } from '../helpers/smtp.js';
import { expectError, TEST_SECRET, useTestApp } from '../helpers/test-app.js';

// ASVS 5.0 V9 (self-contained tokens): only the service's own HS256 access tokens, unaltered, unexpired, of the
// right type, in the Authorization header, get through.
const ctx = useTestApp({}, { smtp: true });

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const partsOf = (token: string) => token.split('.') as [string, string, string];
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(partsOf(token)[1], 'base64url').toString()) as JWTPayload & { sid?: string };

interface MintOptions {
  alg?: string;
  key?: Parameters<SignJWT['sign']>[0];
  header?: Record<string, unknown>;
}

const secretKey = (secret: string) => new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);

/** A token signed outside the service: by default exactly what the service would issue. */
function mint(payload: JWTPayload, options: MintOptions = {}): Promise<string> {
  const alg = options.alg ?? 'HS256';
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: 'JWT', ...options.header })
    .sign(options.key ?? secretKey(TEST_SECRET));
}

/** HS256 over any header at all, for headers a JWT library refuses to produce. */
function signRaw(header: Record<string, unknown>, payload: JWTPayload, secret = TEST_SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');

const me = (headers: Record<string, string> = {}, query = '') =>
  ctx.app.inject({ method: 'GET', url: `/api/v1/users/me${query}`, headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What a client can tell apart between two refusals: status, the challenge header and the error's wording. */
function refusal(response: LightMyRequestResponse) {
  const { type, code, message } = expectError(response, 401, 'AuthenticationError');
  expect(response.headers['www-authenticate']).toBe('Bearer');
  return { type, code, message };
}

/** The same, without throwing: for comparing many answers at once. */
function outcome(response: LightMyRequestResponse) {
  const error = (response.json() as { error?: { type?: string; code?: string; message?: string } }).error;
  return {
    status: response.statusCode,
    challenge: response.headers['www-authenticate'],
    type: error?.type,
    code: error?.code,
    message: error?.message,
  };
}

const INVALID = { type: 'AuthenticationError', code: 'auth.invalid_token', message: 'Could not validate credentials' };

describe('a forged or misused access token', () => {
  let user: Awaited<ReturnType<typeof ctx.signIn>>;
  let superuserId: number;
  let valid: string;
  let claims: ReturnType<typeof claimsOf>;

  beforeEach(async () => {
    user = await ctx.signIn({ email: 'victim@example.com' });
    superuserId = (await ctx.createUser({ is_superuser: true })).id;
    valid = user.token;
    claims = claimsOf(valid);
  });

  /** Every way to get a token past the check that must fail, built fresh for each test's user and session. */
  async function forgeries(): Promise<Record<string, string>> {
    const [header, payload, signature] = partsOf(valid);
    const fresh = { ...claims, iat: now(), exp: now() + 600, jti: randomUUID() };
    const { exp: _exp, ...noExp } = fresh;
    const { sub: _sub, ...noSub } = fresh;
    const { sid: _sid, ...noSid } = fresh;
    const wrongKey = secretKey('another-secret-key-of-a-perfectly-good-length');
    return {
      'alg "none", no signature': `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      'alg "none", the real signature kept': `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
      'alg "None"': `${b64({ alg: 'None', typ: 'JWT' })}.${payload}.`,
      'no alg at all': `${b64({ typ: 'JWT' })}.${payload}.${signature}`,
      HS384: await mint(fresh, { alg: 'HS384' }),
      HS512: await mint(fresh, { alg: 'HS512' }),
      'RS256 with a key pair of its own': await mint(fresh, { alg: 'RS256', key: rsa.privateKey }),
      'PS256 with a key pair of its own': await mint(fresh, { alg: 'PS256', key: rsa.privateKey }),
      'ES256 with a key pair of its own': await mint(fresh, { alg: 'ES256', key: ec.privateKey }),
      'EdDSA with a key pair of its own': await mint(fresh, { alg: 'EdDSA', key: ed.privateKey }),
      'HS256 keyed with an RSA public key (algorithm confusion)': await mint(fresh, {
        key: secretKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
      }),
      'HS256 with another key': await mint(fresh, { key: wrongKey }),
      'HS256 with an empty key': await mint(fresh, { key: new Uint8Array(1) }),
      'the header switched to HS512, signature kept': `${b64({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
      'the subject changed to a superuser, signature kept': `${header}.${b64({ ...claims, sub: String(superuserId) })}.${signature}`,
      'the expiry pushed back, signature kept': `${header}.${b64({ ...claims, exp: now() + 86_400 })}.${signature}`,
      'the signature removed': `${header}.${payload}.`,
      'the signature of another token': `${header}.${payload}.${partsOf(await mint({ ...fresh, jti: randomUUID() }))[2]}`,
      'a truncated signature': `${header}.${payload}.${signature.slice(0, -4)}`,
      'no exp': await mint(noExp),
      'exp as a string': await mint({ ...fresh, exp: String(now() + 600) } as unknown as JWTPayload),
      'nbf in the future': await mint({ ...fresh, nbf: now() + 3600 }),
      'no sub': await mint(noSub),
      'no sid': await mint(noSid),
      'the typ of a refresh token': await mint(fresh, { header: { typ: 'refresh+jwt' } }),
      'no typ': signRaw({ alg: 'HS256' }, fresh),
      'a critical header it does not understand': signRaw(
        { alg: 'HS256', typ: 'JWT', crit: ['x-policy'], 'x-policy': 1 },
        fresh,
      ),
      'expired and signed with another key': await mint({ ...fresh, exp: now() - 3600 }, { key: wrongKey }),
      'expired, with alg "none"': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: now() - 3600 })}.`,
      'expired and tampered, signature kept': `${header}.${b64({ ...claims, exp: now() - 3600 })}.${signature}`,
      'two tokens glued together': `${valid}.${valid}`,
      'random text': 'abcdef',
    };
  }

  it('each forgery is answered 401, with one body for all of them', async () => {
    const answers: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [name, token] of Object.entries(await forgeries())) {
      answers[name] = outcome(await me(bearer(token)));
      expected[name] = { status: 401, challenge: 'Bearer', ...INVALID };
    }
    // One comparison, so that a failure lists every forgery that got through, not only the first.
    expect(answers).toEqual(expected);
    // The refusals are about the forgeries: the genuine token, and a correctly signed copy of its claims, work.
    expect((await me(bearer(valid))).statusCode).toBe(200);
    expect((await me(bearer(await mint({ ...claims, jti: randomUUID() })))).statusCode).toBe(200);
  });

  it('a forged superuser token cannot reach a superuser route, and the user it targets is untouched', async () => {
    const target = await ctx.createUser();
    const [header, , signature] = partsOf(valid);
    const asSuperuser = { ...claims, sub: String(superuserId) };
    for (const token of [
      `${header}.${b64(asSuperuser)}.${signature}`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(asSuperuser)}.`,
      await mint(asSuperuser, { alg: 'RS256', key: rsa.privateKey }),
    ]) {
      const response = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/v1/users/${target.id}`,
        headers: bearer(token),
      });
      expect(refusal(response)).toEqual(INVALID);
    }
    const rows = await ctx.database.query('SELECT id FROM users WHERE id = $1', [target.id]);
    expect(rows).toHaveLength(1);
  });

  it('a refresh token, a password-reset token and an email-verification token are not bearer tokens', async () => {
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/forgot-password',
      payload: { email: 'victim@example.com' },
    });
    const reset = tokenFrom(await ctx.mailbox().waitFor((m) => /reset your password/i.test(m.subject ?? '')));
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/resend-verification',
      payload: { email: 'victim@example.com' },
    });
    const verification = tokenFrom(await ctx.mailbox().waitFor((m) => /confirm your email/i.test(m.subject ?? '')));

    for (const [name, token] of Object.entries({ refresh: user.refreshToken, reset, verification })) {
      expect(refusal(await me(bearer(token))), name).toEqual(INVALID);
    }
  });

  it('a token in the query string is ignored: the answer is the one for no token at all', async () => {
    const none = refusal(await me());
    expect(none).toEqual({
      type: 'AuthenticationError',
      code: 'auth.not_authenticated',
      message: 'Not authenticated',
    });
    for (const query of [
      `?access_token=${valid}`,
      `?token=${valid}`,
      `?jwt=${valid}`,
      `?authorization=Bearer%20${valid}`,
    ]) {
      expect(refusal(await me({}, query)), query).toEqual(none);
    }
  });
});

describe('expiry', () => {
  it('a correctly signed token past its exp is reported expired', async () => {
    const { token } = await ctx.signIn();
    const expired = await mint({ ...claimsOf(token), exp: now() - 60 });
    expect(refusal(await me(bearer(expired)))).toEqual({
      type: 'AuthenticationError',
      code: 'auth.token_expired',
      message: 'Token has expired',
    });
  });

  it('an expired token signed with another key is reported invalid, never expired', async () => {
    const { token } = await ctx.signIn();
    const forged = await mint(
      { ...claimsOf(token), exp: now() - 60 },
      { key: secretKey('another-secret-key-of-a-perfectly-good-length') },
    );
    expect(refusal(await me(bearer(forged)))).toEqual(INVALID);
  });

  it('a token the service issued stops working when it expires, also after it was accepted once', async () => {
    const { headers } = await ctx.signIn();
    expect((await me(headers)).statusCode).toBe(200);
    ctx.clock.advance(31 * 60_000);
    expect(refusal(await me(headers)).code).toBe('auth.token_expired');
  });
});
