import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

const corsHeaders = (response: LightMyRequestResponse) =>
  Object.keys(response.headers).filter((name) => name.startsWith('access-control-'));

describe('CORS with BACKEND_CORS_ORIGINS as a comma list', () => {
  const ctx = useTestApp({ BACKEND_CORS_ORIGINS: 'https://app.example.com,http://localhost:3000' });

  it.each(['https://app.example.com', 'http://localhost:3000'])(
    'echoes the listed origin %s, and exposes the headers clients read',
    async (origin) => {
      const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { origin } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe(origin);
      expect(response.headers.vary).toContain('Origin');
      for (const header of ['X-Request-ID', 'X-Total-Count', 'Retry-After']) {
        expect(response.headers['access-control-expose-headers']).toContain(header);
      }
    },
  );

  it('answers a preflight from a listed origin with 204 and what it asked for', async () => {
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
    expect(String(response.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
  });

  it('lets a listed origin read error responses too', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { origin: 'http://localhost:3000' },
    });
    expectError(response, 401, 'AuthenticationError');
    expect(response.headers['access-control-allow-origin']).toBe('http://localhost:3000');
  });

  it.each(['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com', 'null'])(
    'never reflects the unlisted origin %s',
    async (origin) => {
      const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { origin } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    },
  );

  it('gives a preflight from an unlisted origin no CORS permission', async () => {
    const response = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/users/me',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-allow-methods']).toBeUndefined();
  });
});

describe('CORS with BACKEND_CORS_ORIGINS as a JSON array', () => {
  const ctx = useTestApp({ BACKEND_CORS_ORIGINS: '["https://app.example.com", "http://localhost:3000"]' });

  it('allows every listed origin and no other', async () => {
    for (const origin of ['https://app.example.com', 'http://localhost:3000']) {
      const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { origin } });
      expect(response.headers['access-control-allow-origin']).toBe(origin);
    }
    const other = await ctx.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('without BACKEND_CORS_ORIGINS', () => {
  const ctx = useTestApp();

  it('sends no CORS headers at all, even to a browser origin', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://app.example.com' },
    });
    expect(response.statusCode).toBe(200);
    expect(corsHeaders(response)).toEqual([]);
  });

  it('answers no preflight', async () => {
    const response = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/users/me',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    });
    expect(corsHeaders(response)).toEqual([]);
  });

  it('accepts any Host, as ALLOWED_HOSTS defaults to *', async () => {
    for (const host of ['anything.example', 'evil.com', '10.0.0.1:8000']) {
      const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { host } });
      expect(response.statusCode).toBe(200);
    }
  });
});

describe('ALLOWED_HOSTS="api.example.com,*.example.org"', () => {
  const ctx = useTestApp({ ALLOWED_HOSTS: 'api.example.com,*.example.org' });

  it.each(['api.example.com', 'api.example.com:8000', 'API.Example.com', 'foo.example.org', 'a.b.example.org:443'])(
    'accepts Host %s',
    async (host) => {
      const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { host } });
      expect(response.statusCode).toBe(200);
    },
  );

  it.each(['evil.com', 'example.org', 'api.example.com.evil.com', 'evilexample.org', 'api.example.co'])(
    'refuses Host %s with 400 InvalidHostError and the usual headers',
    async (host) => {
      const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { host } });
      const error = expectError(response, 400, 'InvalidHostError');
      expect(error).toMatchObject({ code: 'request.invalid_host', message: 'Invalid host header' });
      expect(response.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'strict-origin-when-cross-origin',
        'cache-control': 'no-store',
      });
      expect(response.headers['x-request-id']).toBe(error.request_id);
      expect(response.headers['x-process-time']).toMatch(/^\d+\.\d{4}$/);
    },
  );

  it('refuses a bad Host before the route runs: even /health', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { host: 'evil.com' } });
    expectError(response, 400, 'InvalidHostError');
  });
});
