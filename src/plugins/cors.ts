import cors from '@fastify/cors';
import fp from 'fastify-plugin';

/** CORS for the configured origins only; any other origin gets no CORS headers at all (never reflected). */
export const corsPlugin = fp<{ origins: string[] }>(
  async (app, { origins }) => {
    // Nothing to allow: no hook at all, rather than one that runs on every request to add nothing.
    if (origins.length === 0) return;
    const allowAny = origins.includes('*');
    const allowed = new Set(origins);
    await app.register(cors, {
      origin: allowAny ? '*' : (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
      credentials: !allowAny,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      exposedHeaders: [
        'X-Request-ID',
        'X-Process-Time',
        'X-Total-Count',
        'X-Next-After-Id',
        'X-Next-Before-Id',
        'Retry-After',
      ],
      maxAge: 600,
      strictPreflight: false,
    });
  },
  { name: 'cors', fastify: '5.x' },
);
