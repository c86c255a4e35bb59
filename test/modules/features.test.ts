import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/shared/logger.js';
import { expectError, testConfig, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp({ USER_FEATURES: 'can_view_dashboard,can_view_reports,can_export_data,beta_charts=false' });

type Headers = { authorization: string };
const features = (id: number, headers: Headers) =>
  ctx.app.inject({ method: 'GET', url: `/api/v1/admin/users/${id}/features`, headers });
const setFeatures = (id: number, headers: Headers, payload: object) =>
  ctx.app.inject({ method: 'PUT', url: `/api/v1/admin/users/${id}/features`, headers, payload });
const me = (headers: Headers) => ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers });

describe('feature flags through the admin routes', () => {
  it('GET gives every allowed key: the defaults for a user who has none stored', async () => {
    const admin = await ctx.signIn({ role: 'admin' });
    const client = await ctx.createUser({ approved: false });
    const response = await features(client.id, admin.headers);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      can_view_dashboard: true,
      can_view_reports: true,
      can_export_data: true,
      beta_charts: false,
    });
  });

  it('PUT is partial, returns the full map, is audited, and shows on the user’s /users/me', async () => {
    const admin = await ctx.signIn({ role: 'admin' });
    const client = await ctx.signIn();
    const response = await setFeatures(client.user.id, admin.headers, {
      features: { can_export_data: false, beta_charts: true },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      can_view_dashboard: true,
      can_view_reports: true,
      can_export_data: false,
      beta_charts: true,
    });
    const again = await setFeatures(client.user.id, admin.headers, { features: { can_view_reports: false } });
    expect(again.json()).toMatchObject({ can_export_data: false, can_view_reports: false, beta_charts: true });
    expect((await me(client.headers)).json().features).toEqual({
      can_view_dashboard: true,
      can_view_reports: false,
      can_export_data: false,
      beta_charts: true,
    });
    const audit = await ctx.database.query(
      "SELECT actor_user_id, subject_user_id, details FROM audit_events WHERE event = 'user.features.updated' ORDER BY id",
    );
    expect(audit).toEqual([
      {
        actor_user_id: admin.user.id,
        subject_user_id: client.user.id,
        details: { features: { can_export_data: false, beta_charts: true } },
      },
      {
        actor_user_id: admin.user.id,
        subject_user_id: client.user.id,
        details: { features: { can_view_reports: false } },
      },
    ]);
  });

  it('refuses an unknown key with 422 features.unknown_key naming it, and changes nothing', async () => {
    const admin = await ctx.signIn({ role: 'admin' });
    const client = await ctx.createUser();
    const response = await setFeatures(client.id, admin.headers, {
      features: { can_export_data: false, delete_everything: true },
    });
    const error = expectError(response, 422, 'ValidationError') as unknown as {
      code: string;
      details: { loc: string[] }[];
    };
    expect(error.code).toBe('features.unknown_key');
    expect(error.details.map((d) => d.loc.join('.'))).toEqual(['body.features.delete_everything']);
    expect((await features(client.id, admin.headers)).json().can_export_data).toBe(true);
    expectError(
      await setFeatures(client.id, admin.headers, { features: { can_export_data: 'no' } }),
      422,
      'ValidationError',
    );
    expectError(await setFeatures(client.id, admin.headers, { flags: {} }), 422, 'ValidationError');
  });

  it('flags set before approval survive the approval; the missing ones get their defaults', async () => {
    const admin = await ctx.signIn({ role: 'admin' });
    const client = await ctx.createUser({ approved: false });
    expect((await setFeatures(client.id, admin.headers, { features: { can_export_data: false } })).statusCode).toBe(
      200,
    );
    const approve = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/admin/users/${client.id}/approve`,
      headers: admin.headers,
    });
    expect(approve.statusCode).toBe(200);
    const stored = await ctx.database.query(
      'SELECT feature_key, enabled FROM user_features WHERE user_id = $1 ORDER BY feature_key',
      [client.id],
    );
    expect(stored).toEqual([
      { feature_key: 'beta_charts', enabled: false },
      { feature_key: 'can_export_data', enabled: false },
      { feature_key: 'can_view_dashboard', enabled: true },
      { feature_key: 'can_view_reports', enabled: true },
    ]);
  });

  it('gives admins and superusers every feature on /users/me', async () => {
    const admin = await ctx.signIn({ role: 'admin' });
    expect((await me(admin.headers)).json().features).toEqual({
      can_view_dashboard: true,
      can_view_reports: true,
      can_export_data: true,
      beta_charts: true,
    });
  });
});

describe('a route that needs a feature (config: { feature })', () => {
  it('answers 403 auth.feature_disabled to a client without it, and lets admins and superusers through', async () => {
    const app = await buildApp({
      config: ctx.config,
      database: ctx.database.handle,
      logger: createLogger({ level: 'silent' }),
    });
    app.get('/api/v1/exports', { onRequest: [app.authenticate], config: { feature: 'can_export_data' } }, async () => ({
      ok: true,
    }));
    try {
      const client = await ctx.signIn();
      const superuser = await ctx.signIn({ is_superuser: true });
      const admin = await ctx.signIn({ role: 'admin' });
      const call = (headers: Headers) => app.inject({ method: 'GET', url: '/api/v1/exports', headers });

      expect((await call(client.headers)).json()).toEqual({ ok: true });
      await setFeatures(client.user.id, admin.headers, { features: { can_export_data: false } });
      expect(expectError(await call(client.headers), 403, 'AuthorizationError').code).toBe('auth.feature_disabled');
      await ctx.database.query("UPDATE user_features SET enabled = false WHERE feature_key = 'can_export_data'");
      expect((await call(admin.headers)).statusCode).toBe(200);
      expect((await call(superuser.headers)).statusCode).toBe(200);
      expectError(await app.inject({ method: 'GET', url: '/api/v1/exports' }), 401, 'AuthenticationError');
    } finally {
      await app.close();
    }
  });

  it('refuses at start-up a route naming a feature that USER_FEATURES does not have', async () => {
    const app = await buildApp({
      config: testConfig(),
      database: ctx.database.handle,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      expect(() =>
        app.get(
          '/api/v1/typo',
          { onRequest: [app.authenticate], config: { feature: 'can_exprt_data' } },
          async () => ({}),
        ),
      ).toThrow(/feature "can_exprt_data" is not in USER_FEATURES/);
    } finally {
      await app.close();
    }
  });
});
