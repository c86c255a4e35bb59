import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp({ REQUIRE_EMAIL_VERIFICATION: 'true' }, { smtp: true });

describe('with REQUIRE_EMAIL_VERIFICATION', () => {
  it('refuses login until the address is verified, then lets the user in', async () => {
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: 'strict@example.com', username: 'strict', password: 'strict-password' },
    });
    const login = () =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'strict', password: 'strict-password' },
      });
    expect(expectError(await login(), 403, 'AuthorizationError').message).toBe('Email not verified');

    const mail = await ctx.mailbox().waitFor((m) => /confirm your email/.test(m.subject ?? ''));
    const token = /token=([^&\s]+)/.exec(mail.text ?? '')?.[1] ?? '';
    await ctx.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token } });
    expect((await login()).statusCode).toBe(200);
  });

  it('does not tell an unverified account from a wrong password without the right password', async () => {
    await ctx.createUser({ username: 'pending', password: 'pending-password' });
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'pending', password: 'not-it' },
    });
    expectError(response, 401, 'AuthenticationError');
  });
});
