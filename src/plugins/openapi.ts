import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { describeRoute, hoistNamedSchemas } from './openapi-conventions.js';

export interface OpenApiOptions {
  title: string;
  version: string;
  apiPrefix: string;
}

const REDOC_SCRIPT = '/redoc/redoc.standalone.js';

/**
 * Both pages load nothing but this server's own files, so they work offline and under this policy. Swagger UI
 * and ReDoc style their elements inline and ReDoc's search runs in a worker it builds from a blob.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const redocPage = (title: string, specUrl: string) => `<!DOCTYPE html>
<html lang="en">
  <head>
    <title>${escapeHtml(title)} - ReDoc</title>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="${escapeHtml(specUrl)}"></redoc>
    <script src="${REDOC_SCRIPT}"></script>
  </body>
</html>`;

/** The project's name as the Swagger UI logo, instead of Swagger's. */
const logo = (title: string) =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${16 + title.length * 12}" height="40"><text x="0" y="28" font-family="sans-serif" font-size="22" font-weight="bold" fill="#ffffff">${escapeHtml(title)}</text></svg>`,
  );

/**
 * The OpenAPI document is built from the route schemas that validate and serialize, so it cannot drift; the
 * statuses and headers every route of a kind can send are derived from its declaration (openapi-conventions).
 * Registered after the auth plugin and before the routes (it collects them as they are added); only when
 * DOCS_ENABLED.
 */
export const openApiPlugin = fp<OpenApiOptions>(
  async (app, { title, version, apiPrefix }) => {
    const specUrl = `${apiPrefix}/openapi.json`;
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title,
          version,
          description: 'Users, authentication and health of the EnergyExe platform.',
          license: { name: 'Proprietary', identifier: 'LicenseRef-EnergyExe-Proprietary' },
          contact: { name: 'EnergyExe platform team' },
        },
        servers: [
          {
            url: '/',
            description: 'The server that serves this document (production, staging or local development).',
            'x-internal': false,
          } as { url: string; description: string },
        ],
        components: {
          securitySchemes: {
            OAuth2PasswordBearer: {
              type: 'oauth2',
              description:
                'JWT access tokens (HS256 only, with `exp`, `iat` and `jti`), issued and checked as RFC8725 recommends; short lived, renewed with a single-use refresh token.',
              flows: {
                password: {
                  tokenUrl: `${apiPrefix}/auth/token`,
                  refreshUrl: `${apiPrefix}/auth/refresh`,
                  // Roles, not grants: the server checks them on the account; a token carries no scopes.
                  scopes: {
                    admin: 'Role admin (or superuser): manages client accounts, invitations and feature flags',
                    superuser: 'Superuser: manages every account, roles and the audit log',
                  },
                },
              },
            },
            HTTPBearer: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'The same access token pasted by hand; a JWS (HS256) that follows RFC8725.',
            },
          },
        },
        tags: [
          { name: 'auth', description: 'Registration, login, token refresh and account emails' },
          { name: 'sessions', description: 'The sessions (devices) a user is logged in on' },
          { name: 'users', description: 'Accounts' },
          { name: 'audit', description: 'Who did what, when' },
          {
            name: 'admin',
            description: 'Client portal administration: approvals, accounts, feature flags, invitations',
          },
          { name: 'consents', description: 'Terms and privacy policy acceptance' },
          { name: 'health', description: 'Liveness and readiness' },
        ],
      },
      transform: describeRoute({
        authenticate: app.authenticate,
        requireAdmin: app.requireAdmin,
        requireSuperuser: app.requireSuperuser,
      }),
      transformObject: (document) =>
        'openapiObject' in document
          ? (hoistNamedSchemas(document.openapiObject as Record<string, unknown>) as typeof document.openapiObject)
          : document.swaggerObject,
    });

    await app.register(swaggerUi, {
      routePrefix: '/docs',
      logo: { type: 'image/svg+xml', content: logo(title), href: '/docs', target: '_self' },
      theme: { title: `${title} - Swagger UI` },
      uiConfig: {
        persistAuthorization: true,
        displayOperationId: true,
        // The document the API publishes, rather than the UI's own copy at /docs/json.
        urls: [{ url: specUrl, name: specUrl }],
      },
    });

    const redocScript = readFileSync(createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js'));

    // Callback style: this runs on every request, and an async hook would cost each one a promise.
    app.addHook('onRequest', (request, reply, next) => {
      if (request.url.startsWith('/docs') || request.url.startsWith('/redoc')) {
        reply.header('content-security-policy', DOCS_CSP);
      }
      next();
    });

    app.get(specUrl, { schema: { hide: true } }, async () => app.swagger());
    app.get('/redoc', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(redocPage(title, specUrl)),
    );
    app.get(REDOC_SCRIPT, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('application/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .send(redocScript),
    );
  },
  { name: 'openapi', fastify: '5.x', dependencies: ['auth'] },
);
