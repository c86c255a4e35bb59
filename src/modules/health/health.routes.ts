import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import { LivenessResponse, NotReadyResponse, ReadyResponse, RootResponse } from './health.schemas.js';
import { createHealthService, type ReadinessCheck } from './health.service.js';

export const healthRoutes: FastifyPluginAsyncTypebox<{ version: string; redis?: Redis | undefined }> = async (
  app,
  { version, redis },
) => {
  const checks: ReadinessCheck[] = [{ name: 'database', ping: () => app.database.ping() }];
  if (redis) checks.push({ name: 'redis', ping: () => redis.ping() });
  const health = createHealthService({ checks });
  const root = { message: 'EnergyExe Core Backend API', version, status: 'healthy' as const };

  app.get(
    '/',
    { schema: { tags: ['health'], summary: 'Service banner', response: { 200: RootResponse } } },
    async () => root,
  );

  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        description: 'Never touches the database: answers as long as the process serves HTTP.',
        response: { 200: LivenessResponse },
      },
    },
    async () => ({ status: 'healthy' as const }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness',
        description: 'Checks every dependency; 503 with the failing ones when the service cannot serve.',
        response: { 200: ReadyResponse, 503: NotReadyResponse },
      },
    },
    async (request, reply) => {
      const result = await health.readiness();
      const { failures } = result;
      const checks = { ...result.checks, ...app.lifecycle.readinessFailures() };
      const ready = Object.values(checks).every((check) => check === 'ok');
      if (ready) return { status: 'ready' as const, checks };
      request.log.warn({ failures }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable' as const, checks });
    },
  );
};
