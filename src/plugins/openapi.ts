import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

export interface OpenApiOptions {
  title: string;
  version: string;
  apiPrefix: string;
}

const redocPage = (title: string, specUrl: string) => `<!DOCTYPE html>
<html>
  <head>
    <title>${title} - ReDoc</title>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="${specUrl}"></redoc>
    <script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
  </body>
</html>`;

/**
 * The OpenAPI document is built from the route schemas that validate and serialize, so it cannot drift.
 * Registered before the routes (it collects them as they are added); only when DOCS_ENABLED.
 */
export const openApiPlugin = fp<OpenApiOptions>(
  async (app, { title, version, apiPrefix }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title, version, description: 'Users, authentication and health of the EnergyExe platform.' },
        components: {
          securitySchemes: {
            OAuth2PasswordBearer: {
              type: 'oauth2',
              flows: { password: { tokenUrl: `${apiPrefix}/auth/token`, scopes: {} } },
            },
            HTTPBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          },
        },
        tags: [
          { name: 'auth', description: 'Registration and login' },
          { name: 'users', description: 'Accounts' },
          { name: 'health', description: 'Liveness and readiness' },
        ],
      },
    });

    await app.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { persistAuthorization: true },
    });

    const specUrl = `${apiPrefix}/openapi.json`;
    app.get(specUrl, { schema: { hide: true } }, async () => app.swagger());
    app.get('/redoc', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(redocPage(title, specUrl)),
    );
  },
  { name: 'openapi', fastify: '5.x' },
);
