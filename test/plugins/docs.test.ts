import { describe, expect, it } from 'vitest';
import { expectError, useTestApp } from '../helpers/test-app.js';

const DOC_URLS = ['/docs', '/redoc', '/api/v1/openapi.json'];

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
}

type Schema = { properties: Record<string, { examples?: unknown[] }>; examples?: unknown[] };

const responseSchema = (doc: OpenApiDoc, path: string, method: string, status: string): Schema => {
  const operation = doc.paths[path]?.[method] as {
    responses: Record<string, { content: { 'application/json': { schema: Schema } } }>;
  };
  return operation.responses[status]?.content['application/json'].schema as Schema;
};

describe('with DOCS_ENABLED=true', () => {
  const ctx = useTestApp({ DOCS_ENABLED: 'true' });

  it('serves Swagger UI at /docs and ReDoc at /redoc as HTML pages', async () => {
    for (const url of ['/docs', '/redoc']) {
      const response = await ctx.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.body).toMatch(/<html/i);
    }
    const redoc = await ctx.app.inject({ method: 'GET', url: '/redoc' });
    expect(redoc.body).toContain('spec-url="/api/v1/openapi.json"');
  });

  it('serves an OpenAPI 3.1 document with every route of the API', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    const doc = response.json() as OpenApiDoc;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe(ctx.config.version);
    expect(doc.paths).toMatchObject({
      '/api/v1/auth/register': { post: expect.any(Object) },
      '/api/v1/auth/login': { post: expect.any(Object) },
      '/api/v1/auth/token': { post: expect.any(Object) },
      '/api/v1/users/me': { get: expect.any(Object), put: expect.any(Object) },
      '/api/v1/users': { get: expect.any(Object) },
      '/api/v1/users/{user_id}': { get: expect.any(Object), put: expect.any(Object), delete: expect.any(Object) },
      '/': { get: expect.any(Object) },
      '/health': { get: expect.any(Object) },
      '/health/ready': { get: expect.any(Object) },
    });
    // The docs routes themselves are not part of the API.
    expect(Object.keys(doc.paths)).not.toContain('/api/v1/openapi.json');
    expect(Object.keys(doc.paths)).not.toContain('/redoc');
  });

  it('declares the OAuth2 password flow on /api/v1/auth/token and the HTTP bearer scheme', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as OpenApiDoc;
    expect(doc.components.securitySchemes.OAuth2PasswordBearer).toMatchObject({
      type: 'oauth2',
      flows: { password: { tokenUrl: '/api/v1/auth/token' } },
    });
    expect(doc.components.securitySchemes.HTTPBearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const me = doc.paths['/api/v1/users/me']?.get as { security: unknown };
    expect(me.security).toEqual([{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }]);
    const register = doc.paths['/api/v1/auth/register']?.post as { security?: unknown };
    expect(register.security).toBeUndefined();
  });

  it('documents the user with examples and without hashed_password, anywhere in the document', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    const doc = response.json() as OpenApiDoc;
    const user = responseSchema(doc, '/api/v1/users/me', 'get', '200');
    expect(Object.keys(user.properties)).toEqual(expect.arrayContaining(['id', 'email', 'username', 'is_active']));
    expect(Object.keys(user.properties)).not.toContain('hashed_password');
    expect(user.properties.email?.examples).toEqual(['alice@example.com']);
    expect(user.properties.username?.examples?.length).toBeGreaterThan(0);
    expect(response.body).not.toContain('hashed_password');
    const created = responseSchema(doc, '/api/v1/auth/register', 'post', '201');
    expect(Object.keys(created.properties)).not.toContain('hashed_password');
  });

  it('documents error responses with the error envelope', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as OpenApiDoc;
    const unauthorized = responseSchema(doc, '/api/v1/users/me', 'get', '401');
    expect(unauthorized.properties.error).toBeDefined();
  });

  it('issues a token from the form Swagger UI "Authorize" sends', async () => {
    const user = await ctx.createUser();
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: new URLSearchParams({
        grant_type: 'password',
        username: user.username,
        password: user.password,
        scope: '',
        client_id: '',
        client_secret: '',
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.statusCode).toBe(200);
    const token = response.json();
    expect(token).toMatchObject({ token_type: 'bearer', access_token: expect.any(String) });
    const me = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(me.json().username).toBe(user.username);
  });
});

describe('with DOCS_ENABLED=false', () => {
  const ctx = useTestApp({ DOCS_ENABLED: 'false' });

  it.each(DOC_URLS)('answers %s with 404', async (url) => {
    expectError(await ctx.app.inject({ method: 'GET', url }), 404, 'NotFoundError');
  });

  it('still serves the API', async () => {
    expect((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
