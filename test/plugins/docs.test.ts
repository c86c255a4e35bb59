import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

describe('with DOCS_ENABLED', () => {
  const ctx = useTestApp({ DOCS_ENABLED: 'true' });

  it('serves Swagger UI and ReDoc', async () => {
    for (const url of ['/docs', '/redoc']) {
      const response = await ctx.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
    }
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/api/v1/auth/register',
      '/api/v1/auth/login',
      '/api/v1/auth/token',
      '/api/v1/auth/refresh',
      '/api/v1/users/me',
      '/api/v1/users',
      '/api/v1/users/{user_id}',
      '/api/v1/audit-events',
      '/health/ready',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.components.securitySchemes.OAuth2PasswordBearer.flows.password.tokenUrl).toBe('/api/v1/auth/token');
    expect(doc.components.securitySchemes.HTTPBearer).toMatchObject({ type: 'http', scheme: 'bearer' });

    const me = doc.paths['/api/v1/users/me'].get;
    expect(me.security).toEqual([{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }]);
    const user = me.responses['200'].content['application/json'].schema;
    expect(Object.keys(user.properties)).not.toContain('hashed_password');
    expect(user.properties.email.examples).toEqual(['alice@example.com']);
    expect(me.responses['401'].content['application/json'].schema.properties.error).toBeDefined();
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
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().token_type).toBe('bearer');
  });
});

describe('without DOCS_ENABLED', () => {
  const ctx = useTestApp({ DOCS_ENABLED: 'false' });

  it('serves no docs', async () => {
    for (const url of ['/docs', '/redoc', '/api/v1/openapi.json']) {
      expect((await ctx.app.inject({ method: 'GET', url })).statusCode).toBe(404);
    }
  });
});
