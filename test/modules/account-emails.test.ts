import { describe, expect, it } from 'vitest';
import { tokenFrom } from '../helpers/smtp.js';
import { expectError, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp(
  { FRONTEND_URL: 'https://app.example.com', EMAILS_FROM_EMAIL: 'noreply@example.com' },
  { smtp: true },
);
const MINUTE = 60_000;

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'POST', url: `/api/v1/auth/${url}`, payload, headers });
const mailTo = (address: string, subject: RegExp) =>
  ctx
    .mailbox()
    .waitFor((m) => m.to !== undefined && JSON.stringify(m.to).includes(address) && subject.test(m.subject ?? ''));
const auditCount = async (event: string) =>
  (await ctx.database.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events WHERE event = $1', [event]))[0]
    ?.n;

describe('password reset', () => {
  it('emails a single-use link that sets a new password and ends every session', async () => {
    const { user, headers } = await ctx.signIn({ email: 'reset@example.com' });
    const response = await post('forgot-password', { email: 'Reset@Example.com' });
    expect(response.statusCode).toBe(202);

    const mail = await mailTo('reset@example.com', /reset your password/);
    expect(mail.from?.text).toContain('noreply@example.com');
    expect(mail.text).toContain('https://app.example.com/reset-password?token=');
    expect(mail.html).toContain('https://app.example.com/reset-password?token=');
    const token = tokenFrom(mail);

    const reset = await post('reset-password', { token, new_password: 'my-new-password-1' });
    expect(reset.statusCode).toBe(200);
    expectError(await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers }), 401, 'AuthenticationError');
    expect((await ctx.loginPair(user.username, 'my-new-password-1')).access_token).toEqual(expect.any(String));
    expect(await auditCount('user.password.reset')).toBe(1);

    // Single use.
    const again = await post('reset-password', { token, new_password: 'another-password-2' });
    expect(expectError(again, 400, 'BadRequestError').message).toBe('Invalid or expired token');
  });

  it('answers the same 202 for an unknown address, and sends nothing', async () => {
    await ctx.createUser({ email: 'known@example.com' });
    const known = await post('forgot-password', { email: 'known@example.com' });
    const unknown = await post('forgot-password', { email: 'nobody@example.com' });
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);
    await ctx.app.services.settle();
    await mailTo('known@example.com', /reset your password/);
    expect(ctx.mailbox().messages.some((m) => JSON.stringify(m.to).includes('nobody@example.com'))).toBe(false);
  });

  it('sends nothing to an inactive account', async () => {
    await ctx.createUser({ email: 'gone@example.com', is_active: false });
    expect((await post('forgot-password', { email: 'gone@example.com' })).statusCode).toBe(202);
    await ctx.app.services.settle();
    expect(ctx.mailbox().messages.filter((m) => /reset/.test(m.subject ?? ''))).toEqual([]);
  });

  it('refuses an expired link with the same message as an unknown one', async () => {
    await ctx.createUser({ email: 'late@example.com' });
    await post('forgot-password', { email: 'late@example.com' });
    const token = tokenFrom(await mailTo('late@example.com', /reset your password/));
    ctx.clock.advance(61 * MINUTE);
    const expired = await post('reset-password', { token, new_password: 'my-new-password-1' });
    const unknown = await post('reset-password', { token: 'made-up-token', new_password: 'my-new-password-1' });
    expect(expectError(expired, 400, 'BadRequestError').message).toBe('Invalid or expired token');
    expect(expectError(unknown, 400, 'BadRequestError').message).toBe('Invalid or expired token');
  });

  it('validates the new password', async () => {
    expectError(await post('reset-password', { token: 'x', new_password: 'short' }), 422, 'ValidationError');
    expectError(await post('forgot-password', { email: 'not-an-address' }), 422, 'ValidationError');
  });
});

describe('email verification', () => {
  it('starts new accounts unverified and verifies them through the emailed link', async () => {
    const register = await post('register', {
      email: 'new@example.com',
      username: 'newbie',
      password: 'newbie-password',
    });
    expect(register.json().email_verified).toBe(false);

    const mail = await mailTo('new@example.com', /confirm your email/);
    expect(mail.text).toContain('https://app.example.com/verify-email?token=');
    const token = tokenFrom(mail);
    expect((await post('verify-email', { token })).statusCode).toBe(200);

    const { headers } = { headers: { authorization: `Bearer ${await ctx.login('newbie', 'newbie-password')}` } };
    const me = await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers });
    expect(me.json().email_verified).toBe(true);
    expect(await auditCount('user.email.verified')).toBe(1);
    expectError(await post('verify-email', { token }), 400, 'BadRequestError');
  });

  it('expires verification links after EMAIL_VERIFICATION_EXPIRE_HOURS', async () => {
    await post('register', { email: 'slow@example.com', username: 'slowpoke', password: 'slowpoke-password' });
    const token = tokenFrom(await mailTo('slow@example.com', /confirm your email/));
    ctx.clock.advance(48 * 60 * MINUTE + 1000);
    expectError(await post('verify-email', { token }), 400, 'BadRequestError');
  });

  it('resends on request with the same 202 whatever the address', async () => {
    await post('register', { email: 'again@example.com', username: 'again', password: 'again-password' });
    await mailTo('again@example.com', /confirm your email/);
    ctx.mailbox().clear();
    const known = await post('resend-verification', { email: 'again@example.com' });
    const unknown = await post('resend-verification', { email: 'nobody@example.com' });
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);
    const token = tokenFrom(await mailTo('again@example.com', /confirm your email/));
    expect((await post('verify-email', { token })).statusCode).toBe(200);
  });

  it('asks again after an email change, and an old link cannot verify the new address', async () => {
    const { headers } = await ctx.signIn({ email: 'first@example.com' });
    const oldToken = tokenFrom(await mailTo('first@example.com', /confirm your email/));
    const update = await ctx.app.inject({
      method: 'PUT',
      url: '/api/v1/users/me',
      headers,
      payload: { email: 'second@example.com' },
    });
    expect(update.json()).toMatchObject({ email: 'second@example.com', email_verified: false });
    expectError(await post('verify-email', { token: oldToken }), 400, 'BadRequestError');
    const token = tokenFrom(await mailTo('second@example.com', /confirm your email/));
    expect((await post('verify-email', { token })).statusCode).toBe(200);
  });
});

describe('email delivery', () => {
  it('retries a failed send with backoff, and the request is not affected', async () => {
    ctx.mailbox().failNext(2);
    const started = Date.now();
    const response = await post('register', {
      email: 'retry@example.com',
      username: 'retry',
      password: 'retry-password',
    });
    expect(response.statusCode).toBe(201);
    expect(Date.now() - started).toBeLessThan(2000);
    await mailTo('retry@example.com', /confirm your email/);
    await ctx.app.services.settle();
    const [row] = await ctx.database.query<{ status: string; attempts: number; text_body: string | null }>(
      "SELECT status, attempts, text_body FROM email_outbox WHERE to_address = 'retry@example.com'",
    );
    expect(row).toEqual({ status: 'sent', attempts: 3, text_body: null });
    expect(ctx.logs.lines.filter((l) => l.msg === 'email failed, will retry')).toHaveLength(2);
  });
});
