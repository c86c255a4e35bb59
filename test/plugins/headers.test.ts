import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('headers on every response', () => {
  it.each([
    ['a success', 'GET', '/api/v1/users/me', 200],
    ['a 401', 'GET', '/api/v1/users/me', 401],
    ['a 404', 'GET', '/api/v1/missing', 404],
    ['a 405', 'PATCH', '/health', 405],
    ['a 422', 'POST', '/api/v1/auth/login', 422],
  ] as const)('are on %s', async (_name, method, url, status) => {
    const headers = status === 200 ? (await ctx.signIn()).headers : {};
    const response = await ctx.app.inject({ method, url, headers, ...(method === 'POST' ? { payload: {} } : {}) });
    expect(response.statusCode).toBe(status);
    expect(response.headers).toMatchObject(SECURITY);
    expect(response.headers['x-request-id']).toMatch(UUID);
    expect(response.headers['x-process-time']).toMatch(/^\d+\.\d{4}$/);
    if (url.startsWith('/api/')) expect(response.headers['cache-control']).toBe('no-store');
  });

  it('does not mark non-API responses no-store', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(response.headers).toMatchObject(SECURITY);
    expect(response.headers['cache-control']).toBeUndefined();
  });

  it('keeps a well-formed incoming X-Request-ID, in the header and the error body', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { 'x-request-id': 'client-abc.123:x_y-z' },
    });
    expect(response.headers['x-request-id']).toBe('client-abc.123:x_y-z');
    expect(response.json().error.request_id).toBe('client-abc.123:x_y-z');
  });

  it.each(['has space', 'a'.repeat(129), 'semi;colon', '<script>'])(
    'replaces an unsafe X-Request-ID (%s)',
    async (id) => {
      const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } });
      expect(response.headers['x-request-id']).toMatch(UUID);
    },
  );
});
