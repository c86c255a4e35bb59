import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { errors } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Spread into the options of a route that takes credentials: per-IP attempts per minute. */
    authRateLimit: { config?: { rateLimit: { max: number; timeWindow: number } } };
  }
}

/**
 * Brute-force protection for the credential routes. Counters live in Redis when REDIS_URL is set, so
 * every process shares them; otherwise in memory. If Redis is down, requests pass (fail open) rather
 * than locking every user out.
 */
export const rateLimitPlugin = fp<{
  perMinute: number;
  redis?: Redis | undefined;
  /** Told the route template of every request refused (metrics). */
  onRejected?: ((route: string | undefined) => void) | undefined;
}>(
  async (app, { perMinute, redis, onRejected }) => {
    if (perMinute === 0) {
      app.decorate('authRateLimit', {});
      return;
    }
    await app.register(rateLimit, {
      global: false,
      ...(redis ? { redis } : {}),
      nameSpace: 'energyexe:rate-limit:',
      skipOnError: true,
      ...(onRejected ? { onExceeded: (request) => onRejected(request.routeOptions.url) } : {}),
      errorResponseBuilder: (_request, context) => errors.rateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
    });
    app.decorate('authRateLimit', { config: { rateLimit: { max: perMinute, timeWindow: 60_000 } } });
  },
  { name: 'rate-limit', fastify: '5.x' },
);
