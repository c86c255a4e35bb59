import { describe, expect, it } from 'vitest';
import { tokenFrom } from '../helpers/smtp.js';
import { expectError, USER_FIELDS, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp(
  {
    REGISTRATION_MODE: 'approval',
    FRONTEND_URL: 'https://www.example.com',
    CLIENT_PORTAL_URL: 'https://portal.example.com',
    ADMIN_PORTAL_URL: 'https://admin.example.com',
  },
  { smtp: true },
);

const register = (payload: object) => ctx.app.inject({ method: 'POST', url: '/api/v1/auth/client/register', payload });
const login = (username: string, password: string) =>
  ctx.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
const CLIENT = {
  email: 'Clara.Okafor@WindCo.example',
  password: 'client-password-1',
  first_name: 'Clara',
  last_name: 'Okafor',
  company_name: 'WindCo',
  phone: '+45 20 12 34 56',
};

describe('POST /api/v1/auth/client/register', () => {
  it('creates an unverified client waiting for approval, with a username from the email, and sends the verification link to the client portal', async () => {
    const response = await register(CLIENT);
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(USER_FIELDS);
    expect(body).toMatchObject({
      email: 'clara.okafor@windco.example',
      username: 'clara.okafor',
      first_name: 'Clara',
      last_name: 'Okafor',
      company_name: 'WindCo',
      phone: '+45 20 12 34 56',
      role: 'client',
      is_approved: false,
      approved_at: null,
      email_verified: false,
      is_superuser: false,
    });
    const mail = await ctx
      .mailbox()
      .waitFor((m) => JSON.stringify(m.to).includes('clara.okafor@windco.example') && /confirm/.test(m.subject ?? ''));
    expect(mail.text).toContain('https://portal.example.com/verify-email?token=');

    // Verified but not approved: the right password is told to wait, a wrong one gets the generic 401.
    const verify = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/verify-email',
      payload: { token: tokenFrom(mail) },
    });
    expect(verify.statusCode).toBe(200);
    expect(expectError(await login('clara.okafor', CLIENT.password), 403, 'AuthorizationError').code).toBe(
      'auth.pending_approval',
    );
    expect(expectError(await login('clara.okafor', 'wrong-password-1'), 401, 'AuthenticationError').code).toBe(
      'auth.invalid_credentials',
    );
  });

  it('makes the username valid, at least 3 characters, and unique with a numeric suffix', async () => {
    await ctx.createUser({ username: 'jo_user' });
    await ctx.createUser({ username: 'Sam' });
    await ctx.createUser({ username: 'sam1' });
    const cases: [string, string][] = [
      ['jo@example.com', 'jo_user1'],
      ['sam@example.com', 'sam2'],
      ['x+tag@example.com', 'xtag'],
      ['%%@example.com', 'user'],
      ['a.b@example.com', 'a.b'],
    ];
    for (const [email, username] of cases) {
      const response = await register({ ...CLIENT, email });
      expect(response.statusCode, email).toBe(201);
      expect(response.json().username, email).toBe(username);
    }
  });

  it('gives parallel sign-ups with the same local part distinct usernames', async () => {
    const results = await Promise.all(
      ['one', 'two', 'three'].map((domain) => register({ ...CLIENT, email: `same@${domain}.example` })),
    );
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201]);
    expect(new Set(results.map((r) => r.json().username))).toEqual(new Set(['same', 'same1', 'same2']));
  });

  it('answers 409 for an email that has an account, in any case', async () => {
    await register(CLIENT);
    expect(
      expectError(await register({ ...CLIENT, email: 'CLARA.okafor@windco.example' }), 409, 'ConflictError').code,
    ).toBe('users.email_taken');
  });

  it('validates every field: required names and company, lengths, no extra keys', async () => {
    const response = await register({
      email: 'nope',
      password: 'short',
      first_name: '',
      last_name: 'x'.repeat(101),
      company_name: '',
      phone: '1'.repeat(51),
      role: 'admin',
    });
    const error = expectError(response, 422, 'ValidationError') as unknown as { details: { loc: string[] }[] };
    expect(error.details.map((d) => d.loc.join('.')).sort()).toEqual([
      'body.company_name',
      'body.email',
      'body.first_name',
      'body.last_name',
      'body.password',
      'body.phone',
      'body.role',
    ]);
    expectError(await register({ email: 'a@example.com', password: 'long-enough-1' }), 422, 'ValidationError');
  });
});

describe('POST /api/v1/auth/forgot-password with portal', () => {
  it('links to the client portal by default and to the admin portal when asked', async () => {
    await ctx.createUser({ email: 'staff@example.com', role: 'admin' });
    const ask = (payload: object) => ctx.app.inject({ method: 'POST', url: '/api/v1/auth/forgot-password', payload });
    expect((await ask({ email: 'staff@example.com' })).statusCode).toBe(202);
    const first = await ctx.mailbox().waitFor((m) => /reset your password/.test(m.subject ?? ''));
    expect(first.text).toContain('https://portal.example.com/reset-password?token=');
    ctx.mailbox().clear();
    expect((await ask({ email: 'staff@example.com', portal: 'admin' })).statusCode).toBe(202);
    const second = await ctx.mailbox().waitFor((m) => /reset your password/.test(m.subject ?? ''));
    expect(second.text).toContain('https://admin.example.com/reset-password?token=');
    expectError(await ask({ email: 'staff@example.com', portal: 'other' }), 422, 'ValidationError');
  });
});
