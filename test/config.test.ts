import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';

const dataDir = () => mkdtempSync(join(tmpdir(), 'energyexe-config-'));
const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir(), ...env });
const failure = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = load({});
    expect(config).toMatchObject({
      environment: 'development',
      debug: false,
      docsEnabled: false,
      apiPrefix: '/api/v1',
      host: '0.0.0.0',
      port: 8000,
      logLevel: 'info',
      accessTokenExpireMinutes: 30,
      allowedHosts: ['*'],
      corsOrigins: [],
      databaseUrl: undefined,
      dbPoolMax: 15,
      migrateOnStart: true,
      redisUrl: undefined,
    });
  });

  it('turns the docs and debug logging on with DEBUG', () => {
    expect(load({ DEBUG: 'true' })).toMatchObject({ docsEnabled: true, logLevel: 'debug' });
    expect(load({ DEBUG: 'true', DOCS_ENABLED: 'false' }).docsEnabled).toBe(false);
  });

  it('sizes the pool as DB_POOL_SIZE + DB_MAX_OVERFLOW', () => {
    expect(load({ DB_POOL_SIZE: '3', DB_MAX_OVERFLOW: '4' }).dbPoolMax).toBe(7);
  });

  it.each([
    ['postgresql+asyncpg://u:p@db:5432/app', 'postgresql://u:p@db:5432/app'],
    ['postgres://u@db/app', 'postgresql://u@db/app'],
    ['postgresql://u@db/app', 'postgresql://u@db/app'],
  ])('accepts the database URL %s', (url, expected) => {
    const config = load({ DATABASE_URL: url });
    expect(config.databaseUrl).toBe(expected);
    expect(config.migrateOnStart).toBe(false);
  });

  it('reads origins and hosts as a comma list or a JSON array', () => {
    expect(load({ BACKEND_CORS_ORIGINS: 'https://a.example, http://localhost:3000/' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
    expect(load({ BACKEND_CORS_ORIGINS: '["https://a.example"]' }).corsOrigins).toEqual(['https://a.example']);
    expect(load({ ALLOWED_HOSTS: '["api.example.com", "*.example.org"]' }).allowedHosts).toEqual([
      'api.example.com',
      '*.example.org',
    ]);
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT must be an integer from 0 to 65535 \(got "eighty"\)/],
    [{ PORT: '70000' }, /^PORT must be an integer/],
    [{ DEBUG: 'maybe' }, /^DEBUG must be a boolean/],
    [{ DATABASE_URL: 'mysql://u@db/app' }, /^DATABASE_URL must be a PostgreSQL URL/],
    [{ REDIS_URL: 'http://cache' }, /^REDIS_URL must be a Redis URL/],
    [{ ENVIRONMENT: 'staging' }, /^ENVIRONMENT must be one of development, production, test/],
    [{ BACKEND_CORS_ORIGINS: '[1, 2]' }, /^BACKEND_CORS_ORIGINS must be/],
    [{ BACKEND_CORS_ORIGINS: 'not a url' }, /^BACKEND_CORS_ORIGINS must be/],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: '0' }, /^ACCESS_TOKEN_EXPIRE_MINUTES must be an integer/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
  ])('stops with a message naming the variable for %o', (env, message) => {
    expect(failure(env)).toMatch(message);
  });

  it('never echoes a malformed database URL, which may hold a password', () => {
    expect(failure({ DATABASE_URL: 'mysql://user:hunter2@db/app' })).not.toContain('hunter2');
  });

  it('reads the client portal settings: modes, portal URLs falling back in turn, feature keys and defaults', () => {
    expect(load({})).toMatchObject({
      registrationMode: 'open',
      clientPortalUrl: 'http://localhost:3000',
      adminPortalUrl: 'http://localhost:3000',
      invitationExpireDays: 7,
      userFeatures: {
        can_view_dashboard: true,
        can_view_reports: true,
        can_export_data: true,
        can_view_analytics: true,
      },
      termsVersion: '',
      privacyVersion: '',
      requireConsent: false,
    });
    expect(load({ FRONTEND_URL: 'https://www.example.com' })).toMatchObject({
      clientPortalUrl: 'https://www.example.com',
      adminPortalUrl: 'https://www.example.com',
    });
    expect(load({ CLIENT_PORTAL_URL: 'https://portal.example.com/' })).toMatchObject({
      clientPortalUrl: 'https://portal.example.com',
      adminPortalUrl: 'https://portal.example.com',
    });
    expect(load({ USER_FEATURES: 'a_b, beta=false ,c=on' }).userFeatures).toEqual({ a_b: true, beta: false, c: true });
    expect(load({ USER_FEATURES: '{"x": false}' }).userFeatures).toEqual({ x: false });
    expect(failure({ REGISTRATION_MODE: 'closed' })).toBe(
      'REGISTRATION_MODE must be one of open, approval, invite_only (got "closed")',
    );
    expect(failure({ USER_FEATURES: 'Bad-Key' })).toMatch(/^USER_FEATURES must be a comma list of feature keys/);
    expect(failure({ USER_FEATURES: 'x=maybe' })).toMatch(/^USER_FEATURES must be/);
    expect(failure({ USER_FEATURES: '{"x": 1}' })).toMatch(/^USER_FEATURES must be/);
    expect(failure({ TERMS_VERSION: 'v'.repeat(33) })).toMatch(
      /^TERMS_VERSION must be a document version of at most 32/,
    );
    expect(failure({ ADMIN_PORTAL_URL: 'ftp://x' })).toMatch(/^ADMIN_PORTAL_URL must be an http\(s\) URL/);
  });

  it('refuses production with REQUIRE_EMAIL_VERIFICATION but no SMTP_HOST', () => {
    const env = { ENVIRONMENT: 'production', SECRET_KEY: 'x'.repeat(32), REQUIRE_EMAIL_VERIFICATION: 'true' };
    expect(failure(env)).toMatch(/^SMTP_HOST must be set in production when REQUIRE_EMAIL_VERIFICATION is true/);
    expect(load({ ...env, SMTP_HOST: 'smtp.example.com' }).requireEmailVerification).toBe(true);
  });

  describe('SECRET_KEY', () => {
    it('is generated once outside production and kept in DATA_DIR for every later process', () => {
      const dir = dataDir();
      const first = loadConfig({ DATA_DIR: dir }).secretKey;
      expect(first).toHaveLength(64);
      expect(loadConfig({ DATA_DIR: dir }).secretKey).toBe(first);
      expect(readFileSync(join(dir, 'secret_key'), 'utf8')).toBe(first);
      expect(statSync(join(dir, 'secret_key')).mode & 0o777).toBe(0o600);
    });

    it('is required in production', () => {
      expect(failure({ ENVIRONMENT: 'production' })).toMatch(/^SECRET_KEY must be set in production/);
    });

    it('must be at least 32 characters in production', () => {
      expect(failure({ ENVIRONMENT: 'production', SECRET_KEY: 'short' })).toMatch(
        /^SECRET_KEY must be at least 32 characters in production \(got 5\)/,
      );
      expect(load({ ENVIRONMENT: 'production', SECRET_KEY: 'x'.repeat(32) }).secretKey).toBe('x'.repeat(32));
    });
  });
});
