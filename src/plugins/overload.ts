import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';
import { errors } from '../shared/errors.js';
import { PROBE_ROUTES } from './lifecycle.js';

export interface OverloadOptions {
  /** Mean event-loop delay (ms) above which requests are refused; 0 = never. */
  maxEventLoopDelayMs: number;
  /** JavaScript heap in use (bytes) above which requests are refused; 0 = never. */
  maxHeapUsedBytes: number;
  /** How often the measures are taken (ms). */
  sampleIntervalMs?: number;
}

const RETRY_AFTER_SECONDS = 5;

/**
 * Load shedding: past a threshold every request is answered 503 at once, in the envelope and with Retry-After,
 * instead of joining a queue that only grows. The probes keep answering, so an overloaded process is not
 * restarted for it.
 */
export const overloadPlugin = fp<OverloadOptions>(
  async (app, { maxEventLoopDelayMs, maxHeapUsedBytes, sampleIntervalMs }) => {
    if (maxEventLoopDelayMs === 0 && maxHeapUsedBytes === 0) return;
    // Start-up (opening and migrating the embedded database) stalls the event loop before any request can
    // queue; the first measure after it would refuse the first second of traffic, so it is not counted.
    const interval = sampleIntervalMs ?? 1000;
    let armedAt = Number.POSITIVE_INFINITY;
    app.addHook('onReady', async () => {
      armedAt = Date.now() + interval * 1.5;
    });
    await app.register(underPressure, {
      maxEventLoopDelay: maxEventLoopDelayMs,
      maxHeapUsedBytes,
      sampleInterval: interval,
      pressureHandler: (request, _reply, _type, value) => {
        if (Date.now() < armedAt || PROBE_ROUTES.has(request.routeOptions.url)) return undefined;
        // No measure at all in the last interval (one stall longer than it) is not sustained overload.
        if (!Number.isFinite(value)) return undefined;
        // A rejected promise reaches the error handler, which answers in the envelope.
        return Promise.reject(errors.overloaded(RETRY_AFTER_SECONDS));
      },
    });
  },
  { name: 'overload', fastify: '5.x' },
);
