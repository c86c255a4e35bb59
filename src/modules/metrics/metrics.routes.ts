import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { metricsErrors } from './metrics.errors.js';

export interface MetricsRoutesOptions {
  /** Bearer token a scrape must present (METRICS_TOKEN); none asked when absent. */
  token?: string | undefined;
  /** The text to answer: this process's figures, or every worker's in cluster mode. */
  scrape: () => Promise<string>;
  contentType: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** GET /metrics, the Prometheus text format. Outside API_V1_STR and out of the OpenAPI document. */
export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { token, scrape, contentType }) => {
  // Digests have one length whatever the token's, so the comparison takes the same time for any guess.
  const expected = token === undefined ? undefined : digest(token);
  const authorized = (header: string | undefined): boolean => {
    if (!expected) return true;
    const presented = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };

  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!authorized(request.headers.authorization)) throw metricsErrors.invalidToken();
    let body: string;
    try {
      body = await scrape();
    } catch (error) {
      throw metricsErrors.unavailable(error);
    }
    return reply.header('cache-control', 'no-store').type(contentType).send(body);
  });
};
