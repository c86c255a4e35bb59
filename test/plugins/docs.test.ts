import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/shared/logger.js';
import { expectError, testConfig, useTestApp } from '../helpers/test-app.js';

const DOC_URLS = ['/docs', '/redoc', '/api/v1/openapi.json'];

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
}

type Schema = { properties: Record<string, { examples?: unknown[] }>; examples?: unknown[] };

/** The response schema, with a `$ref` to `components.schemas` followed. */
const responseSchema = (doc: OpenApiDoc, path: string, method: string, status: string): Schema => {
  const operation = doc.paths[path]?.[method] as {
    responses: Record<string, { content: { 'application/json': { schema: Schema & { $ref?: string } } } }>;
  };
  const schema = operation.responses[status]?.content['application/json'].schema;
  const ref = schema?.$ref?.replace('#/components/schemas/', '');
  return (ref ? (doc.components as unknown as { schemas: Record<string, Schema> }).schemas[ref] : schema) as Schema;
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
    // Public operations say so explicitly, instead of leaving a reader (or a linter) to guess.
    const register = doc.paths['/api/v1/auth/register']?.post as { security?: unknown };
    expect(register.security).toEqual([]);
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

describe('the OpenAPI document', () => {
  const ctx = useTestApp({ DOCS_ENABLED: 'true' });
  let doc: OpenApiDoc;
  type Operation = {
    operationId?: string;
    tags?: string[];
    summary?: string;
    security?: unknown[];
    requestBody?: unknown;
    responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: unknown }> }>;
  };
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        route: `${method.toUpperCase()} ${path}`,
        op: op as Operation,
      })),
    );
  const op = (method: string, path: string) => doc.paths[path]?.[method] as Operation;

  beforeAll(async () => {
    doc = (await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as OpenApiDoc;
  });

  it('is the committed openapi.json (regenerate with `npm run openapi`)', async () => {
    const committed = await readFile(new URL('../../openapi.json', import.meta.url), 'utf8');
    expect(JSON.parse(committed), 'openapi.json is stale: run `npm run openapi` and commit it').toEqual(doc);
  });

  it('gives every operation an operationId, a declared tag and a summary', () => {
    const declaredTags = new Set((doc as unknown as { tags: { name: string }[] }).tags.map((t) => t.name));
    const missing = operations()
      .filter(
        ({ op }) => !op.operationId || !op.summary || !op.tags?.length || !op.tags.every((t) => declaredTags.has(t)),
      )
      .map(({ route }) => route);
    expect(missing, 'routes without an operationId, summary or declared tag').toEqual([]);
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(op('post', '/api/v1/auth/login').operationId).toBe('login');
    expect(op('post', '/api/v1/auth/refresh').operationId).toBe('refreshToken');
    expect(op('get', '/api/v1/users/me').operationId).toBe('getCurrentUser');
    expect(op('get', '/api/v1/users').operationId).toBe('listUsers');
  });

  it('puts no credential in a URL parameter but the invitation links token (OWASP API2, off in .spectral.yaml)', () => {
    const CREDENTIAL = /^.*(client_?secret|token|access_?token|refresh_?token|id_?token|password|secret|api-?key).*$/i;
    const INVITATION_LINKS = ['/api/v1/auth/invitation/{token}', '/api/v1/auth/invitation/{token}/accept'];
    const offending = Object.entries(
      doc.paths as unknown as Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>,
    )
      .filter(([path]) => !INVITATION_LINKS.includes(path))
      .flatMap(([path, methods]) =>
        Object.values(methods).flatMap((operation) =>
          (operation.parameters ?? [])
            .filter((p) => (p.in === 'path' || p.in === 'query') && CREDENTIAL.test(p.name))
            .map((p) => `${path} ${p.name}`),
        ),
      );
    expect(offending).toEqual([]);
  });

  it('never publishes a validation-only keyword, but says what the email normalisation does', () => {
    expect(JSON.stringify(doc)).not.toContain('"transform"');
    const register = (doc.components as unknown as { schemas: Record<string, Schema> }).schemas.UserCreate;
    expect(JSON.stringify(register?.properties.email)).toContain('lower-cased');
  });

  it('derives the standard error statuses from each route declaration', () => {
    const statuses = (method: string, path: string) => Object.keys(op(method, path).responses).sort();
    // Public, rate limited, reads a body.
    expect(statuses('post', '/api/v1/auth/login')).toEqual(
      ['200', '400', '401', '403', '413', '415', '422', '429', '500', '503'].sort(),
    );
    // Authenticated superuser route with a query string, no body; under the global per-client limit.
    expect(statuses('get', '/api/v1/users')).toEqual(['200', '400', '401', '403', '422', '429', '500', '503']);
    // Liveness never touches the database: no 503, no 401.
    expect(statuses('get', '/health')).toEqual(['200', '400', '500']);
    for (const { route, op } of operations()) {
      expect(op.responses['500'], route).toBeDefined();
      if (op.security?.length) expect(op.responses['401'], route).toBeDefined();
      else expect(op.security, route).toEqual([]);
    }
  });

  it('documents X-Request-ID on every response, and the rate-limit headers where requests are limited', () => {
    for (const { route, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers?.['X-Request-ID'], `${route} ${status}`).toEqual({
          $ref: '#/components/headers/X-Request-ID',
        });
      }
    }
    const login = op('post', '/api/v1/auth/login').responses;
    expect(Object.keys(login['429']?.headers ?? {})).toEqual(
      expect.arrayContaining(['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']),
    );
    expect(Object.keys(login['200']?.headers ?? {})).toContain('RateLimit-Limit');
    // The global per-client limit covers every route but the health probes.
    expect(Object.keys(op('get', '/api/v1/users/me').responses['429']?.headers ?? {})).toContain('Retry-After');
    expect(op('get', '/health').responses['429']).toBeUndefined();
    expect(op('get', '/health/ready').responses['429']).toBeUndefined();
  });

  it('sends the RateLimit headers it documents on a rate-limited route', async () => {
    const app = await buildApp({
      config: testConfig({ RATE_LIMIT_LOGIN_PER_MINUTE: '5' }),
      database: ctx.database.handle,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'nobody', password: 'wrong-password' },
      });
      expect(response.statusCode).toBe(401);
      expect(response.headers).toMatchObject({ 'ratelimit-limit': '5', 'ratelimit-remaining': '4' });
      expect(Number(response.headers['ratelimit-reset'])).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });
});

describe('the documentation pages', () => {
  const ctx = useTestApp({ DOCS_ENABLED: 'true', PROJECT_NAME: 'EnergyExe Core Backend' });

  it('serve ReDoc from this server, under a Content-Security-Policy that allows no other origin', async () => {
    const page = await ctx.app.inject({ method: 'GET', url: '/redoc' });
    expect(page.body).toContain('<script src="/redoc/redoc.standalone.js"></script>');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.body).toContain('<title>EnergyExe Core Backend - ReDoc</title>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    const script = await ctx.app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toContain('javascript');
    expect(script.body.length).toBeGreaterThan(100_000);
  });

  it('point Swagger UI at /api/v1/openapi.json under the project name', async () => {
    const page = await ctx.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>EnergyExe Core Backend - Swagger UI</title>');
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
    const init = await ctx.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.body).toContain('"url":"/api/v1/openapi.json"');
    expect(init.body).toContain('data:image/svg+xml;base64,');
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
