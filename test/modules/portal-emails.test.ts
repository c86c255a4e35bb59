import { describe, expect, it } from 'vitest';
import { tokenFrom } from '../helpers/smtp.js';
import { useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp({ CLIENT_PORTAL_URL: 'https://portal.example.com', PROJECT_NAME: 'EnergyExe' }, { smtp: true });

const changedMail = (address: string) =>
  ctx
    .mailbox()
    .waitFor((m) => JSON.stringify(m.to).includes(address) && /your password was changed/.test(m.subject ?? ''));

describe('the password changed email', () => {
  it('tells the owner after a change through POST /users/me/password, with a way to reset it', async () => {
    const { user, headers } = await ctx.signIn({ email: 'owner@example.com', first_name: '<i>Olga</i>' });
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/users/me/password',
      headers,
      payload: { current_password: user.password, new_password: 'a-brand-new-password' },
    });
    expect(response.statusCode).toBe(200);
    const mail = await changedMail('owner@example.com');
    expect(mail.subject).toBe('EnergyExe: your password was changed');
    expect(mail.text).toContain('https://portal.example.com/forgot-password');
    expect(mail.html).toContain('&lt;i&gt;Olga&lt;/i&gt;');
    expect(mail.html).not.toContain('<i>Olga</i>');
  });

  it('tells the owner after a reset by link', async () => {
    await ctx.createUser({ email: 'reset@example.com', emailVerified: true });
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/forgot-password',
      payload: { email: 'reset@example.com' },
    });
    const link = await ctx.mailbox().waitFor((m) => /reset your password/.test(m.subject ?? ''));
    const reset = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/reset-password',
      payload: { token: tokenFrom(link), new_password: 'another-new-password' },
    });
    expect(reset.statusCode).toBe(200);
    await changedMail('reset@example.com');
  });

  it('is not sent when nothing about the password changed', async () => {
    const { headers } = await ctx.signIn({ email: 'calm@example.com', emailVerified: true });
    await ctx.app.inject({ method: 'PUT', url: '/api/v1/users/me', headers, payload: { first_name: 'Calm' } });
    await ctx.app.services.settle();
    expect(ctx.mailbox().messages.filter((m) => /password/.test(m.subject ?? ''))).toEqual([]);
  });
});
