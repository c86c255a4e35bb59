import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('GET /', () => {
  it('answers the banner with the version of package.json', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ message: 'EnergyExe Core Backend API', version, status: 'healthy' });
  });
});

describe('GET /health', () => {
  it('answers 200 {"status": "healthy"}, with or without a trailing slash', async () => {
    for (const url of ['/health', '/health/']) {
      const response = await ctx.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'healthy' });
    }
  });
});

describe('GET /health/ready', () => {
  it('answers 200 ready when the database answers', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });
});
