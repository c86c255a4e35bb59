import fp from 'fastify-plugin';

const STATIC_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
} as const;

/** The contract's security headers on every response; API responses are never cached. */
export const securityHeadersPlugin = fp<{ apiPrefix: string }>(
  (app, { apiPrefix }, done) => {
    app.addHook('onRequest', (request, reply, next) => {
      reply.headers(STATIC_HEADERS);
      if (request.url.startsWith(apiPrefix)) reply.header('cache-control', 'no-store');
      next();
    });
    done();
  },
  { name: 'security-headers', fastify: '5.x' },
);
