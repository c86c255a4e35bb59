import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's X-Request-ID when it is safe to echo and log; otherwise makes a new one. */
export function genRequestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** X-Request-ID and X-Process-Time on every response, errors included. */
export const requestContextPlugin = fp(
  (app, _options, done) => {
    // Callback-style hooks: these run on every request, and skip the promise an async hook costs.
    app.addHook('onRequest', (request, reply, next) => {
      reply.header('x-request-id', request.id);
      next();
    });
    app.addHook('onSend', (_request, reply, payload, next) => {
      reply.header('x-process-time', (reply.elapsedTime / 1000).toFixed(4));
      next(null, payload);
    });
    done();
  },
  { name: 'request-context', fastify: '5.x' },
);
