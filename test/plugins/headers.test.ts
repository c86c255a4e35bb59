import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROCESS_TIME = /^\d+\.\d{4}$/;

type Case = [name: string, status: number, request: InjectOptions, signedIn?: boolean];

const API_CASES: Case[] = [
  ['a 200 from GET /api/v1/users/me', 200, { method: 'GET', url: '/api/v1/users/me' }, true],
  ['a 401 without a token', 401, { method: 'GET', url: '/api/v1/users/me' }],
  ['a 404 for an unknown API route', 404, { method: 'GET', url: '/api/v1/missing' }],
  ['a 405 for a wrong method', 405, { method: 'PATCH', url: '/api/v1/auth/login' }],
  [
    'a 415 for a text body',
    415,
    {
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: 'x',
      headers: { 'content-type': 'text/plain' },
    },
  ],
  ['a 422 for an invalid body', 422, { method: 'POST', url: '/api/v1/auth/login', payload: {} }],
  [
    'a 413 for a body over the limit',
    413,
    {
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: JSON.stringify({ username: 'x', password: 'y'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    },
  ],
];

describe('headers on API responses', () => {
  it.each(API_CASES)('are all on %s', async (_name, status, request, signedIn) => {
    const auth = signedIn ? (await ctx.signIn()).headers : {};
    const response = await ctx.app.inject({ ...request, headers: { ...request.headers, ...auth } });
    expect(response.statusCode).toBe(status);
    expect(response.headers).toMatchObject(SECURITY);
    expect(response.headers['x-request-id']).toMatch(UUID);
    expect(response.headers['x-process-time']).toMatch(PROCESS_TIME);
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

describe('headers outside the API', () => {
  it.each([
    ['GET /', 200, '/'],
    ['GET /health', 200, '/health'],
    ['GET /health/ready', 200, '/health/ready'],
    ['an unknown path', 404, '/nothing'],
  ] as const)('are on %s, without Cache-Control: no-store', async (_name, status, url) => {
    const response = await ctx.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(status);
    expect(response.headers).toMatchObject(SECURITY);
    expect(response.headers['x-request-id']).toMatch(UUID);
    expect(response.headers['x-process-time']).toMatch(PROCESS_TIME);
    expect(response.headers['cache-control']).toBeUndefined();
  });
});

describe('X-Request-ID', () => {
  it('keeps a well-formed incoming id, in the header and in the error body', async () => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { 'x-request-id': 'client-abc.123:x_y-z' },
    });
    expect(response.headers['x-request-id']).toBe('client-abc.123:x_y-z');
    expect(response.json().error.request_id).toBe('client-abc.123:x_y-z');
  });

  it('keeps an incoming id of exactly 128 characters', async () => {
    const id = 'a'.repeat(128);
    const response = await ctx.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } });
    expect(response.headers['x-request-id']).toBe(id);
  });

  it.each([
    ['with a space and "!"', 'bad id!'],
    ['of 200 characters', 'a'.repeat(200)],
    ['of 129 characters', 'b'.repeat(129)],
    ['with a semicolon', 'semi;colon'],
    ['with markup', '<script>'],
    ['that is empty', ''],
  ])('replaces an incoming id %s with a new UUID, in the header and the error body', async (_name, id) => {
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { 'x-request-id': id } });
    expect(response.headers['x-request-id']).toMatch(UUID);
    expect(response.json().error.request_id).toBe(response.headers['x-request-id']);
  });

  it('is a new one for every request that brings none', async () => {
    const first = await ctx.app.inject({ method: 'GET', url: '/health' });
    const second = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });
});
