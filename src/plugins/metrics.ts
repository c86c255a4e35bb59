import fp from 'fastify-plugin';
import type { Metrics } from '../modules/metrics/metrics.registry.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Present only with METRICS_ENABLED. */
    metrics?: Metrics;
  }
}

/**
 * Counts and times every request by its route template, never its URL (`/users/:user_id` is one series
 * whatever the id). Registered only when metrics are on: with them off no hook runs at all.
 */
export const metricsPlugin = fp<{ metrics: Metrics }>(
  (app, { metrics }, done) => {
    app.decorate('metrics', metrics);
    app.addHook('onRequest', (_request, reply, next) => {
      metrics.http.started();
      // 'close' comes exactly once, also when the client leaves before the answer ('finish' would not).
      reply.raw.once('close', metrics.http.finished);
      next();
    });
    app.addHook('onResponse', (request, reply, next) => {
      metrics.http.answered(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
      next();
    });
    done();
  },
  { name: 'metrics', fastify: '5.x' },
);
