import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

const ctx = useTestApp({ TERMS_VERSION: '2026-11-01', PRIVACY_VERSION: '2026-05-13', REQUIRE_CONSENT: 'true' });

type Headers = Record<string, string>;
const status = (headers: Headers) => ctx.app.inject({ method: 'GET', url: '/api/v1/consents/me', headers });
const accept = (headers: Headers, payload: object) =>
  ctx.app.inject({ method: 'POST', url: '/api/v1/consents/me/accept', headers, payload });
const CURRENT = { terms_version: '2026-11-01', privacy_version: '2026-05-13' };

describe('GET /api/v1/consents/me', () => {
  it('tells a user who accepted nothing that both documents must be accepted', async () => {
    const { headers } = await ctx.signIn();
    const response = await status(headers);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      terms: { current_version: '2026-11-01', accepted_version: null, accepted_at: null },
      privacy: { current_version: '2026-05-13', accepted_version: null, accepted_at: null },
      requires_acceptance: true,
      changed_documents: [],
    });
  });

  it('names the document whose version moved on since the user accepted it', async () => {
    const { user, headers } = await ctx.signIn();
    await ctx.database.query(
      "INSERT INTO user_consents (user_id, document_type, document_version, accepted_at) VALUES ($1, 'terms', '2026-05-13', '2026-06-01T10:00:00Z'), ($1, 'privacy', '2026-05-13', '2026-06-01T10:00:00Z')",
      [user.id],
    );
    const body = (await status(headers)).json();
    expect(body).toMatchObject({
      terms: { current_version: '2026-11-01', accepted_version: '2026-05-13', accepted_at: '2026-06-01T10:00:00.000Z' },
      privacy: { accepted_version: '2026-05-13' },
      requires_acceptance: true,
      changed_documents: ['terms'],
    });
  });

  it('answers 401 without a token', async () => {
    expectError(await status({}), 401, 'AuthenticationError');
  });
});

describe('POST /api/v1/consents/me/accept', () => {
  it('appends one row per document with time, IP and user agent, audits it, and clears the requirement', async () => {
    const { user, headers } = await ctx.signIn();
    const response = await accept({ ...headers, 'user-agent': 'PortalTest/1.0' }, CURRENT);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ requires_acceptance: false, changed_documents: [] });
    const rows = await ctx.database.query(
      'SELECT document_type, document_version, ip_address, user_agent FROM user_consents WHERE user_id = $1 ORDER BY id',
      [user.id],
    );
    expect(rows).toEqual([
      { document_type: 'terms', document_version: '2026-11-01', ip_address: '127.0.0.1', user_agent: 'PortalTest/1.0' },
      {
        document_type: 'privacy',
        document_version: '2026-05-13',
        ip_address: '127.0.0.1',
        user_agent: 'PortalTest/1.0',
      },
    ]);
    // Append-only: accepting again adds rows, the history stays.
    await accept(headers, CURRENT);
    const [count] = await ctx.database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM user_consents WHERE user_id = $1',
      [user.id],
    );
    expect(count?.n).toBe(4);
    const [audit] = await ctx.database.query(
      "SELECT actor_user_id, details FROM audit_events WHERE event = 'user.consents.accepted' ORDER BY id LIMIT 1",
    );
    expect(audit).toEqual({ actor_user_id: user.id, details: { terms: '2026-11-01', privacy: '2026-05-13' } });
  });

  it('refuses versions other than the current ones with 422 consent.version_mismatch, naming each, and stores nothing', async () => {
    const { user, headers } = await ctx.signIn();
    const response = await accept(headers, { terms_version: '2026-05-13', privacy_version: 'old' });
    const error = expectError(response, 422, 'ValidationError') as unknown as {
      code: string;
      details: { loc: string[] }[];
    };
    expect(error.code).toBe('consent.version_mismatch');
    expect(error.details.map((d) => d.loc.join('.'))).toEqual(['body.terms_version', 'body.privacy_version']);
    expect(await ctx.database.query('SELECT id FROM user_consents WHERE user_id = $1', [user.id])).toEqual([]);
    expectError(await accept(headers, { terms_version: '2026-11-01' }), 422, 'ValidationError');
    expectError(await accept(headers, { ...CURRENT, user_id: 1 }), 422, 'ValidationError');
  });
});

describe('REQUIRE_CONSENT', () => {
  it('answers 403 consent.required on other authenticated routes until the current versions are accepted', async () => {
    const { headers } = await ctx.signIn();
    const sessions = () => ctx.app.inject({ method: 'GET', url: '/api/v1/users/me/audit-events', headers });
    expect(expectError(await sessions(), 403, 'AuthorizationError').code).toBe('consent.required');
    // What the user needs to get there still answers.
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/users/me', headers })).statusCode).toBe(200);
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers })).statusCode).toBe(200);
    expect((await status(headers)).statusCode).toBe(200);
    expect((await accept(headers, CURRENT)).statusCode).toBe(200);
    expect((await sessions()).statusCode).toBe(200);
  });

  it('applies to admins too: the terms bind everyone who signs in', async () => {
    const admin = await ctx.signIn({ role: 'admin' });
    const response = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/admin/users/pending',
      headers: admin.headers,
    });
    expect(expectError(response, 403, 'AuthorizationError').code).toBe('consent.required');
  });
});
