import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from './config/config.js';
import type { DatabaseHandle } from './db/client.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { authPlugin } from './plugins/auth.js';
import { corsPlugin } from './plugins/cors.js';
import { databasePlugin } from './plugins/database.js';
import { errorsPlugin } from './plugins/errors.js';
import { openApiPlugin } from './plugins/openapi.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { genRequestId, requestContextPlugin } from './plugins/request-context.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { trustedHostsPlugin } from './plugins/trusted-hosts.js';
import { createLogger, RequestLogController } from './shared/logger.js';
import { createPasswordHasher, type PasswordHasher } from './shared/password-hasher.js';
import { createValidatorCompiler } from './shared/validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    passwordHasher: PasswordHasher;
  }
}

export interface AppDependencies {
  config: Config;
  database: DatabaseHandle;
  logger?: FastifyBaseLogger;
  passwordHasher?: PasswordHasher;
  redis?: Redis | undefined;
}

export const BODY_LIMIT = 1_048_576;

/** Builds the whole API on the given infrastructure; never reads the environment and never listens. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, database, redis } = deps;
  const app = Fastify({
    loggerInstance: deps.logger ?? createLogger({ level: config.logLevel }),
    logController: new RequestLogController(),
    genReqId: genRequestId,
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT,
    trustProxy: config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(createValidatorCompiler());
  app.decorate('passwordHasher', deps.passwordHasher ?? createPasswordHasher());

  // Cross-cutting, in the order they act on a request.
  await app.register(errorsPlugin, { bodyLimit: BODY_LIMIT });
  await app.register(requestContextPlugin);
  await app.register(securityHeadersPlugin, { apiPrefix: config.apiPrefix });
  await app.register(trustedHostsPlugin, { allowedHosts: config.allowedHosts });
  await app.register(corsPlugin, { origins: config.corsOrigins });
  await app.register(databasePlugin, { database });
  await app.register(rateLimitPlugin, { perMinute: config.rateLimitLoginPerMinute, redis });
  await app.register(authPlugin, {
    secretKey: config.secretKey,
    accessTokenExpireMinutes: config.accessTokenExpireMinutes,
  });
  if (config.docsEnabled) {
    await app.register(openApiPlugin, {
      title: config.projectName,
      version: config.version,
      apiPrefix: config.apiPrefix,
    });
  }

  // Modules.
  await app.register(healthRoutes, { version: config.version, redis });
  await app.register(authRoutes, { prefix: `${config.apiPrefix}/auth` });
  await app.register(usersRoutes, { prefix: `${config.apiPrefix}/users` });

  return app;
}
