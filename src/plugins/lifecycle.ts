import fp from 'fastify-plugin';
import { type AppError, errors } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where the process is in its life: readiness and the requests it refuses follow it. */
    lifecycle: Lifecycle;
  }
}

/** The probes answer whatever the process is doing: an orchestrator must always be able to ask. */
export const PROBE_ROUTES: ReadonlySet<string | undefined> = new Set(['/health', '/health/ready']);

export type LifecycleState = 'serving' | 'draining' | 'stopped';

/**
 * serving → draining (a shutdown signal: readiness says 503 so load balancers stop sending, but every request
 * that still arrives is served in full) → stopped (the connections are closed and the dependencies are closing:
 * anything that still gets through is refused with 503 and Retry-After). Independently, a blocker (migrations
 * pending while the database is down at start) keeps readiness at 503 and the API refused until it is lifted.
 */
export interface Lifecycle {
  readonly state: LifecycleState;
  drain(): void;
  stop(): void;
  block(name: string, message: string): void;
  unblock(name: string): void;
  /** Readiness checks that fail for lifecycle reasons (shutdown, pending start-up work). */
  readinessFailures(): Record<string, 'unavailable'>;
  /** The 503 a request gets now, or undefined when it may be served. */
  refusal(): AppError | undefined;
}

export function createLifecycle(): Lifecycle {
  let state: LifecycleState = 'serving';
  const blockers = new Map<string, string>();
  return {
    get state() {
      return state;
    },
    drain() {
      if (state === 'serving') state = 'draining';
    },
    stop() {
      state = 'stopped';
    },
    block(name, message) {
      blockers.set(name, message);
    },
    unblock(name) {
      blockers.delete(name);
    },
    readinessFailures() {
      const failures: Record<string, 'unavailable'> = {};
      if (state !== 'serving') failures.shutdown = 'unavailable';
      for (const name of blockers.keys()) failures[name] = 'unavailable';
      return failures;
    },
    refusal() {
      if (state === 'stopped') return errors.notServing('The service is shutting down, try again', 1);
      if (blockers.size === 0) return undefined; // every request asks: no iterator for the common answer
      const [reason] = blockers.values();
      return reason === undefined ? undefined : errors.notServing(reason, 5);
    },
  };
}

/** Refuses requests the process cannot serve (see Lifecycle); the probes always answer. */
export const lifecyclePlugin = fp<{ lifecycle: Lifecycle }>(
  (app, { lifecycle }, done) => {
    app.decorate('lifecycle', lifecycle);
    // Callback style: this runs on every request.
    app.addHook('onRequest', (request, reply, next) => {
      const refusal = lifecycle.refusal();
      if (refusal === undefined || PROBE_ROUTES.has(request.routeOptions.url)) return next();
      if (lifecycle.state === 'stopped') reply.header('connection', 'close');
      next(refusal);
    });
    done();
  },
  { name: 'lifecycle', fastify: '5.x' },
);
