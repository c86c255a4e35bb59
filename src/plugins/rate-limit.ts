import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { CounterStore } from '../shared/counter-store.js';
import { errors } from '../shared/errors.js';
import type { LimitEvents } from '../shared/limit-events.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Spread into the options of a route that takes credentials: per-IP attempts per minute. */
    authRateLimit: { config: { rateLimit: { max: number; timeWindow: number } | false } };
  }
}

export interface RateLimitOptions {
  /** Per address and credential route, per minute; 0 = off. */
  perMinute: number;
  /** Per address on every route but the health probes, per minute and process; 0 = off. */
  globalPerMinute: number;
  /** Where the credential-route counters live: Redis (with its memory fallback) or memory. */
  counters: CounterStore;
  events: LimitEvents;
}

const WINDOW_MS = 60_000;

/** Probes are polled by orchestrators from a few addresses all day: limiting them would fail a healthy instance. */
export const UNLIMITED_ROUTES = new Set(['/health', '/health/ready']);

/** @fastify/rate-limit's store interface over our CounterStore, one key space per route. */
class CredentialRouteStore {
  constructor(
    private readonly counters: CounterStore,
    private readonly prefix = '',
  ) {}

  incr(
    key: string,
    callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
    timeWindow: number,
  ) {
    this.counters.hit(`${this.prefix}${key}`, timeWindow).then(
      ({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }),
      (error: Error) => callback(error),
    );
  }

  /** Called by the plugin with the route's options (and a `routeInfo` its types do not declare). */
  child(routeOptions: { routeInfo: { method: string; url: string } }) {
    return new CredentialRouteStore(this.counters, `${routeOptions.routeInfo.method}${routeOptions.routeInfo.url}-`);
  }
}

/**
 * The global limit is counted in this process's memory, in fixed one-minute windows: it is checked on every
 * request, and a Redis round trip there would cost every request its latency. It is a backstop against one
 * client flooding the API, so N processes allowing N × the limit is acceptable; the tight limits that stop
 * guessing (credential routes, per-account throttle) are the shared ones.
 */
function createGlobalLimiter(perMinute: number) {
  let counts = new Map<string, number>();
  let windowEnds = 0;
  return (ip: string, now: number) => {
    if (now >= windowEnds) {
      // A new window forgets every address at once: memory is bounded by one minute's clients.
      counts = new Map();
      windowEnds = now + WINDOW_MS;
    }
    const count = (counts.get(ip) ?? 0) + 1;
    counts.set(ip, count);
    return { allowed: count <= perMinute, remaining: Math.max(0, perMinute - count), resetMs: windowEnds - now };
  };
}

/**
 * Limits per client address (request.ip, which honours TRUST_PROXY and nothing else): a generous global one on
 * every route but the health probes, and a tight one on each credential route, whose counters are shared
 * through Redis when REDIS_URL is set. Neither fails open: the counters fall back to memory when Redis is down.
 */
export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app, { perMinute, globalPerMinute, counters, events }) => {
    if (globalPerMinute > 0) {
      const limiter = createGlobalLimiter(globalPerMinute);
      const limit = String(globalPerMinute);
      app.addHook('onRequest', (request: FastifyRequest, reply, done) => {
        const route = request.routeOptions.url;
        if (route !== undefined && UNLIMITED_ROUTES.has(route)) return done();
        const { allowed, remaining, resetMs } = limiter(request.ip, Date.now());
        const reset = String(Math.max(1, Math.ceil(resetMs / 1000)));
        reply.header('ratelimit-limit', limit);
        reply.header('ratelimit-remaining', String(remaining));
        reply.header('ratelimit-reset', reset);
        if (allowed) return done();
        events.emit({ type: 'rate_limited', scope: 'global', route: route ?? '(unknown)' });
        done(errors.rateLimited(Number(reset)));
      });
    }

    if (perMinute === 0) {
      // Still marked, so the OpenAPI document shows the 429 a deployment with the limit on can send.
      app.decorate('authRateLimit', { config: { rateLimit: false } });
      return;
    }
    const store = new CredentialRouteStore(counters);
    await app.register(rateLimit, {
      global: false,
      store: class {
        constructor() {
          // biome-ignore lint/correctness/noConstructorReturn: @fastify/rate-limit constructs the store itself; this hands it ours.
          return store;
        }
      } as never,
      // The store never fails (it falls back to memory), and if it did, the request must not pass unlimited.
      skipOnError: false,
      enableDraftSpec: true,
      onExceeded: (request) =>
        events.emit({ type: 'rate_limited', scope: 'credentials', route: request.routeOptions.url ?? '(unknown)' }),
      errorResponseBuilder: (_request, context) => errors.rateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
    });
    app.decorate('authRateLimit', { config: { rateLimit: { max: perMinute, timeWindow: WINDOW_MS } } });
  },
  { name: 'rate-limit', fastify: '5.x' },
);
