import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

describe('CORS with BACKEND_CORS_ORIGINS as a comma list', () => {
  const ctx = useTestApp({ BACKEND_CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' });

  it('allows a listed origin, and exposes the headers clients need', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'http://localhost:3000' },
    });
    expect(response.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(response.headers['access-control-expose-headers']).toContain('X-Total-Count');
  });

  it('answers a preflight from a listed origin', async () => {
    const response = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/users/me',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(response.headers['access-control-allow-methods']).toContain('PUT');
  });

  it('never reflects an origin that is not listed', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://evil.example' },
    });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS with BACKEND_CORS_ORIGINS as a JSON array', () => {
  const ctx = useTestApp({ BACKEND_CORS_ORIGINS: '["https://app.example.com"]' });

  it('allows the listed origin', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://app.example.com' },
    });
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });
});

describe('without BACKEND_CORS_ORIGINS', () => {
  const ctx = useTestApp();

  it('sends no CORS headers at all', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://app.example.com' },
    });
    expect(Object.keys(response.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('accepts any Host (ALLOWED_HOSTS defaults to *)', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { host: 'anything.example' } });
    expect(response.statusCode).toBe(200);
  });
});

describe('ALLOWED_HOSTS', () => {
  const ctx = useTestApp({ ALLOWED_HOSTS: 'api.example.com,*.example.org' });

  it.each(['api.example.com', 'API.example.com:8000', 'eu.example.org'])('accepts Host %s', async (host) => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { host } });
    expect(response.statusCode).toBe(200);
  });

  it.each(['evil.com', 'example.org', 'api.example.com.evil.com'])(
    'refuses Host %s with 400 and the usual headers',
    async (host) => {
      const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { host } });
      expect(expectError(response, 400, 'InvalidHostError').code).toBe('request.invalid_host');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['x-process-time']).toMatch(/^\d+\.\d{4}$/);
    },
  );
});
