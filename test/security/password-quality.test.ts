import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createUsersRepository } from '../../src/modules/users/users.repository.js';
import { tokenFrom } from '../helpers/smtp.js';
import { expectError, testPasswordHasher, useTestApp } from '../helpers/test-app.js';

// OWASP ASVS 5.0 V6.2 (password security): new passwords are checked against common-password lists and the
// owner's own details on every path that sets one; existing passwords keep working.

const ctx = useTestApp({ PASSWORD_MIN_LENGTH: '10' }, { smtp: true });

type Detail = { loc: (string | number)[]; msg: string; type: string };

/** The 422's one detail: where (loc) and why (msg). */
function refusal(response: LightMyRequestResponse): Detail {
  const error = expectError(response, 422, 'ValidationError') as unknown as { code: string; details: Detail[] };
  expect(error.code).toBe('request.validation_failed');
  expect(error.details).toHaveLength(1);
  return error.details[0] as Detail;
}

const register = (password: string, extra: Record<string, string> = {}) =>
  ctx.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email: 'alice.smith@example.com', username: 'alice', password, ...extra },
  });

const userCount = async () =>
  (await ctx.database.query<{ n: number }>('SELECT count(*)::int AS n FROM users'))[0]?.n ?? 0;
const storedHash = async (id: number) =>
  (await ctx.database.query<{ h: string }>('SELECT hashed_password AS h FROM users WHERE id = $1', [id]))[0]?.h;

describe('registration', () => {
  for (const [password, why] of [
    ['password123', 'Password is a commonly used password'],
    ['qwertyuiop', 'Password is one of the most common passwords'],
    ['alice12345', 'Password is too similar to your username, email or name'],
    ['Alice.Smith!', 'Password is too similar to your username, email or name'],
    ['alice.smith@example.com', 'Password is too similar to your username, email or name'],
    ['short-pw1', 'Password must be at least 10 characters long'],
  ]) {
    it(`refuses ${JSON.stringify(password)} with 422 saying why, and creates nobody`, async () => {
      const detail = refusal(await register(password as string, { first_name: 'Alice', last_name: 'Smith' }));
      expect(detail).toEqual({ loc: ['body', 'password'], msg: why, type: expect.any(String) });
      expect(await userCount()).toBe(0);
    });
  }

  it('accepts a password nobody would guess', async () => {
    expect((await register('violet-harbour-lantern')).statusCode).toBe(201);
  });

  it('refuses 129 characters before any work', async () => {
    expect(refusal(await register('x'.repeat(129))).loc).toEqual(['body', 'password']);
    expect(await userCount()).toBe(0);
  });
});

describe('every other path that sets a password', () => {
  it('PUT /users/me (with current_password) refuses a weak password, row unchanged', async () => {
    const { user, headers } = await ctx.signIn();
    const response = await ctx.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers,
      payload: { password: 'password123', current_password: user.password },
    });
    expect(refusal(response).loc).toEqual(['body', 'password']);
    expect(await storedHash(user.id)).toBe(user.hashedPassword);
  });

  it('POST /users/me/password refuses a new password like the username, naming new_password', async () => {
    const { user, headers } = await ctx.signIn({ username: 'bartholomew' });
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      headers,
      payload: { current_password: user.password, new_password: 'Bartholomew99' },
    });
    expect(refusal(response)).toMatchObject({
      loc: ['body', 'new_password'],
      msg: 'Password is too similar to your username, email or name',
    });
    expect(await storedHash(user.id)).toBe(user.hashedPassword);
  });

  it('PUT /users/{id} by a superuser refuses a common password', async () => {
    const admin = await ctx.signIn({ is_superuser: true });
    const target = await ctx.createUser();
    const response = await ctx.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${target.id}`,
      headers: admin.headers,
      payload: { password: 'iloveyou123' },
    });
    expect(refusal(response).loc).toEqual(['body', 'password']);
    expect(await storedHash(target.id)).toBe(target.hashedPassword);
  });

  it('reset-password refuses a weak password and leaves the link usable for a better one', async () => {
    const user = await ctx.createUser({ email: 'resetter@example.com' });
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/forgot-password',
      payload: { email: 'resetter@example.com' },
    });
    const mail = await ctx.mailbox().waitFor((m) => /reset/i.test(m.subject ?? ''));
    const reset = (newPassword: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/v1/auth/reset-password',
        payload: { token: tokenFrom(mail), new_password: newPassword },
      });
    expect(refusal(await reset('1234567890')).loc).toEqual(['body', 'new_password']);
    expect(await storedHash(user.id)).toBe(user.hashedPassword);
    expect((await reset('quiet-meadow-orchestra')).statusCode).toBe(200);
    expect((await ctx.loginPair(user.username, 'quiet-meadow-orchestra')).access_token).toEqual(expect.any(String));
  });
});

describe('an account created before the policy', () => {
  it('still logs in with its weak password', async () => {
    await createUsersRepository(ctx.database.handle.db).create({
      email: 'old@example.com',
      username: 'oldtimer',
      hashedPassword: await testPasswordHasher().hash('password'),
      firstName: null,
      lastName: null,
      isActive: true,
      isSuperuser: false,
      emailVerified: true,
    });
    expect((await ctx.loginPair('oldtimer', 'password')).access_token).toEqual(expect.any(String));
  });
});
