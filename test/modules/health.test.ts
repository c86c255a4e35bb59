import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp();
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('health', () => {
  it('GET / answers the banner with the package version', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/' });
    expect(response.json()).toEqual({ message: 'EnergyExe Core Backend API', version, status: 'healthy' });
  });

  it('GET /health answers healthy', async () => {
    expect((await ctx.app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'healthy' });
  });

  it('GET /health/ready checks the database', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });
});
