import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config, TrustProxy } from './config/config.js';
import type { DatabaseHandle } from './db/client.js';
import { adminRoutes } from './modules/admin/admin.routes.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { consentsRoutes } from './modules/consents/consents.routes.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { invitationsRoutes } from './modules/invitations/invitations.routes.js';
import type { OutboxOptions } from './modules/mail/mail.service.js';
import { createMailTransport, type MailTransport } from './modules/mail/mail.transport.js';
import { sessionsRoutes } from './modules/sessions/sessions.routes.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { authPlugin } from './plugins/auth.js';
import { bodyParsingPlugin } from './plugins/body-parsing.js';
import { corsPlugin } from './plugins/cors.js';
import { databasePlugin } from './plugins/database.js';
import { createClientErrorHandler, createFrameworkErrorHandler, errorsPlugin } from './plugins/errors.js';
import { createLifecycle, type Lifecycle, lifecyclePlugin } from './plugins/lifecycle.js';
import { openApiPlugin } from './plugins/openapi.js';
import { overloadPlugin } from './plugins/overload.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { genRequestId, requestContextPlugin } from './plugins/request-context.js';
import { routeTablePlugin } from './plugins/route-table.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { servicesPlugin } from './plugins/services.js';
import { trustedHostsPlugin } from './plugins/trusted-hosts.js';
import { createServices } from './services.js';
import { type Clock, systemClock } from './shared/clock.js';
import { type CounterStore, createFailoverCounterStore, createMemoryCounterStore } from './shared/counter-store.js';
import { createLimitEvents, type LimitEvents } from './shared/limit-events.js';
import { createLogger, RequestLogController } from './shared/logger.js';
import { createPasswordHasher, type PasswordHasher } from './shared/password-hasher.js';
import { createValidatorCompiler } from './shared/validation.js';
import type { Tracing } from './tracing/tracing.js';

export interface AppDependencies {
  config: Config;
  database: DatabaseHandle;
  logger?: FastifyBaseLogger;
  passwordHasher?: PasswordHasher;
  redis?: Redis | undefined;
  /** Outgoing email: SMTP when SMTP_HOST is set, else the log. */
  mailTransport?: MailTransport;
  clock?: Clock;
  outbox?: Partial<OutboxOptions>;
  /** Shutdown and start-up state shared with the server process (a fresh one when absent). */
  lifecycle?: Lifecycle;
  /** Sampling interval of the overload measures (tests). */
  overloadSampleIntervalMs?: number;
  /** Tracing, when OTEL_EXPORTER_OTLP_ENDPOINT is set (see startTracing). */
  tracing?: Tracing | undefined;
  /** A worker of a cluster: GET /metrics answers the sum of every worker's figures, gathered by the primary. */
  clusterWorker?: boolean;
}

export const BODY_LIMIT = 1_048_576;

/**
 * Connection limits (issue 7). Headers: Node's 16 KiB, stated here so it cannot drift (431 beyond). A request
 * must arrive whole within 30 s, so a slow sender cannot hold a connection; an idle socket closes after 60 s.
 * Keep-alive stays 72 s, longer than the 60 s idle timeout of common load balancers, so they close first and
 * never reuse a socket we are closing.
 */
export const SERVER_LIMITS = {
  maxHeaderSize: 16_384,
  requestTimeout: 30_000,
  connectionTimeout: 60_000,
  keepAliveTimeout: 72_000,
};

/** A hop count becomes the function Fastify uses for one (its types list only the other forms). */
function toFastifyTrustProxy(trustProxy: TrustProxy) {
  return typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What the limits refuse, for metrics: `app.limitEvents.on((event) => ...)`. */
    limitEvents: LimitEvents;
  }
}

/** Builds the whole API on the given infrastructure; never reads the environment and never listens. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, database, redis } = deps;
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const app = Fastify({
    loggerInstance: logger,
    logController: new RequestLogController(),
    genReqId: genRequestId,
    requestIdHeader: false,
    frameworkErrors: createFrameworkErrorHandler(config.apiPrefix),
    bodyLimit: BODY_LIMIT,
    http: { maxHeaderSize: SERVER_LIMITS.maxHeaderSize },
    requestTimeout: SERVER_LIMITS.requestTimeout,
    connectionTimeout: SERVER_LIMITS.connectionTimeout,
    keepAliveTimeout: SERVER_LIMITS.keepAliveTimeout,
    clientErrorHandler: createClientErrorHandler(logger),
    // The lifecycle plugin refuses late requests itself, in the envelope with Retry-After.
    return503OnClosing: false,
    trustProxy: toFastifyTrustProxy(config.trustProxy),
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(createValidatorCompiler());
  const limitEvents = createLimitEvents();
  app.decorate('limitEvents', limitEvents);
  const counters: CounterStore = redis
    ? createFailoverCounterStore({
        redis,
        logger,
        onSwitch: (backend) => limitEvents.emit({ type: 'counter_backend', backend }),
      })
    : createMemoryCounterStore();
  // Observability is loaded only when asked for: off, neither prom-client nor OpenTelemetry is imported and
  // none of their hooks runs on a request.
  const metrics = config.metricsEnabled
    ? (await import('./modules/metrics/metrics.registry.js')).createMetrics({
        version: config.version,
        database: database.kind,
        poolStats: database.poolStats,
        outboxDepth: () => services.mail.outboxDepth(),
      })
    : undefined;
  if (metrics) {
    limitEvents.on((event) => {
      if (event.type === 'rate_limited') metrics.rateLimited(event.route);
      else if (event.type === 'login_throttled') metrics.observers.loginOutcome('throttled');
    });
  }
  const services = createServices({
    config,
    db: database.db,
    clock: deps.clock ?? systemClock,
    passwordHasher: deps.passwordHasher ?? createPasswordHasher(),
    mailTransport: deps.mailTransport ?? createMailTransport(config, logger),
    logger,
    counters,
    limitEvents,
    ...(deps.outbox ? { outbox: deps.outbox } : {}),
    observers: metrics?.observers,
  });

  // First, so that it sees every route registered after it (docs included).
  await app.register(routeTablePlugin);
  // Cross-cutting, in the order they act on a request.
  if (deps.tracing) {
    await app.register((await import('./plugins/tracing.js')).tracingPlugin, { tracer: deps.tracing.tracer });
  }
  if (metrics) await app.register((await import('./plugins/metrics.js')).metricsPlugin, { metrics });
  await app.register(errorsPlugin, { bodyLimit: BODY_LIMIT });
  await app.register(bodyParsingPlugin);
  await app.register(requestContextPlugin);
  await app.register(securityHeadersPlugin, { apiPrefix: config.apiPrefix });
  await app.register(overloadPlugin, {
    ...config.overload,
    ...(deps.overloadSampleIntervalMs ? { sampleIntervalMs: deps.overloadSampleIntervalMs } : {}),
  });
  await app.register(lifecyclePlugin, { lifecycle: deps.lifecycle ?? createLifecycle() });
  await app.register(trustedHostsPlugin, { allowedHosts: config.allowedHosts });
  await app.register(corsPlugin, { origins: config.corsOrigins });
  await app.register(databasePlugin, { database });
  await app.register(rateLimitPlugin, {
    perMinute: config.rateLimitLoginPerMinute,
    globalPerMinute: config.rateLimitPerMinute,
    counters,
    events: limitEvents,
  });
  await app.register(servicesPlugin, { services });
  await app.register(authPlugin, { apiPrefix: config.apiPrefix });
  if (config.docsEnabled) {
    await app.register(openApiPlugin, {
      title: config.projectName,
      version: config.version,
      apiPrefix: config.apiPrefix,
    });
  }

  // Modules.
  await app.register(healthRoutes, { version: config.version, redis });
  if (metrics) {
    const scrape = deps.clusterWorker
      ? (await import('./modules/metrics/metrics.cluster.js')).scrapeThroughPrimary(metrics.registry)
      : metrics.scrape;
    await app.register((await import('./modules/metrics/metrics.routes.js')).metricsRoutes, {
      token: config.metricsToken,
      scrape,
      contentType: metrics.contentType,
    });
  }
  await app.register(authRoutes, { prefix: `${config.apiPrefix}/auth` });
  await app.register(usersRoutes, { prefix: `${config.apiPrefix}/users` });
  await app.register(sessionsRoutes, { prefix: config.apiPrefix });
  await app.register(auditRoutes, { prefix: config.apiPrefix });
  await app.register(adminRoutes, { prefix: `${config.apiPrefix}/admin` });
  await app.register(consentsRoutes, { prefix: `${config.apiPrefix}/consents` });
  await app.register(invitationsRoutes, { prefix: config.apiPrefix });

  return app;
}
