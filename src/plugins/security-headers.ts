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

/**
 * Browsers that reached us over HTTPS keep to it for a year, subdomains included. Sent only on HTTPS responses
 * (RFC 6797 §7.2): directly, or through a trusted proxy's X-Forwarded-Proto (TRUST_PROXY), which
 * `request.protocol` already weighs.
 */
export const HSTS = 'max-age=31536000; includeSubDomains';

/** The contract's security headers on every response. */
export const securityHeadersPlugin = fp<{ apiPrefix: string }>(
  (app, { apiPrefix }, done) => {
    app.addHook('onRequest', (request, reply, next) => {
      setSecurityHeaders(reply, request.url, apiPrefix);
      if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
      next();
    });
    done();
  },
  { name: 'security-headers', fastify: '5.x' },
);
