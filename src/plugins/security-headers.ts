import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

const STATIC_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
} as const;

/** The contract's security headers; API responses are never cached. */
export function setSecurityHeaders(reply: FastifyReply, url: string, apiPrefix: string): void {
  reply.headers(STATIC_HEADERS);
  if (url.startsWith(apiPrefix)) reply.header('cache-control', 'no-store');
}

/** The contract's security headers on every response. */
export const securityHeadersPlugin = fp<{ apiPrefix: string }>(
  (app, { apiPrefix }, done) => {
    app.addHook('onRequest', (request, reply, next) => {
      setSecurityHeaders(reply, request.url, apiPrefix);
      next();
    });
    done();
  },
  { name: 'security-headers', fastify: '5.x' },
);
