import type { FastifySchema, HTTPMethods } from 'fastify';
import fp from 'fastify-plugin';

/** One route as registered: what the security battery and the fuzzer are generated from. */
export interface RouteTableEntry {
  method: HTTPMethods;
  /** The full path, prefix included, without a trailing slash (`/api/v1/users/:user_id`). */
  url: string;
  schema: FastifySchema | undefined;
  config: unknown;
  /** Whether an onRequest hook (authentication, for the API's own routes) runs before the handler. */
  hasOnRequestHooks: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app, in registration order; filled as routes are added, complete once ready. */
    routeTable: readonly RouteTableEntry[];
  }
}

const normalize = (url: string) => (url.length > 1 ? url.replace(/\/+$/, '') : url);

/**
 * Records every route registered after it. Registered first, so nothing (docs included) escapes it. HEAD
 * routes Fastify derives from GETs, trailing-slash twins and catch-alls (CORS preflight, static files) are
 * left out: they are not routes anyone wrote.
 */
export const routeTablePlugin = fp(
  async (app) => {
    const table: RouteTableEntry[] = [];
    const seen = new Set<string>();
    app.decorate('routeTable', table);
    app.addHook('onRoute', (route) => {
      if (route.url.includes('*')) return;
      const url = normalize(route.url);
      for (const method of [route.method].flat() as HTTPMethods[]) {
        const key = `${method} ${url}`;
        if (seen.has(key)) continue;
        if (method === 'HEAD' && seen.has(`GET ${url}`)) continue;
        seen.add(key);
        const onRequest = route.onRequest;
        table.push({
          method,
          url,
          schema: route.schema,
          config: route.config,
          hasOnRequestHooks: Array.isArray(onRequest) ? onRequest.length > 0 : onRequest !== undefined,
        });
      }
    });
  },
  { name: 'route-table', fastify: '5.x' },
);
