import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

// OWASP ASVS 5.0 V12.1 (HTTPS) and V16 (client address in logs): X-Forwarded-* counts only from a trusted
// proxy; HTTPS responses carry Strict-Transport-Security.

const PROXY = '10.1.2.3';
const ctx = useTestApp({ TRUST_PROXY: '10.0.0.0/8' });

const get = (remoteAddress: string, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', remoteAddress, headers });

describe('Strict-Transport-Security', () => {
  it('is sent when a trusted proxy says the request came over HTTPS', async () => {
    const response = await get(PROXY, { 'x-forwarded-proto': 'https' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('is not sent over plain HTTP, nor when an untrusted client claims HTTPS', async () => {
    expect((await get(PROXY)).headers['strict-transport-security']).toBeUndefined();
    expect((await get(PROXY, { 'x-forwarded-proto': 'http' })).headers['strict-transport-security']).toBeUndefined();
    const spoofed = await get('192.0.2.7', { 'x-forwarded-proto': 'https' });
    expect(spoofed.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('the client address', () => {
  const failedLoginFrom = async (remoteAddress: string, forwardedFor: string) => {
    await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress,
      headers: { 'x-forwarded-for': forwardedFor },
      payload: { username: 'nobody', password: 'nothing-at-all' },
    });
    const rows = await ctx.database.query<{ ip: string }>('SELECT ip FROM audit_events ORDER BY id DESC LIMIT 1');
    return rows[0]?.ip;
  };

  it('is the one X-Forwarded-For names when the request comes through a trusted proxy', async () => {
    expect(await failedLoginFrom(PROXY, '203.0.113.5')).toBe('203.0.113.5');
  });

  it('is the socket address when the sender is not a trusted proxy, whatever it forwards', async () => {
    expect(await failedLoginFrom('192.0.2.7', '203.0.113.5')).toBe('192.0.2.7');
  });
});
