import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestMeta } from '../../plugins/auth.js';
import { ErrorResponse } from '../../shared/schemas.js';
import { AcceptConsentsBody, ConsentStatus } from './consents.schemas.js';

/** Reachable while consents are missing (REQUIRE_CONSENT exempts /consents): the way to give them. */
export const consentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { consents } = app.services;

  app.get(
    '/me',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'getMyConsents',
        tags: ['consents'],
        summary: 'Which terms and privacy versions the current user accepted, and whether they must accept again',
        response: { 200: ConsentStatus, 401: ErrorResponse },
      },
    },
    async (request) => consents.status(request.user.id),
  );

  app.post(
    '/me/accept',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'acceptMyConsents',
        tags: ['consents'],
        summary: 'Accept the current terms and privacy policy',
        description:
          'Both versions must be the current ones (422 `consent.version_mismatch` otherwise). Appends to the history, with the time, IP and user agent.',
        body: AcceptConsentsBody,
        response: { 200: ConsentStatus, 401: ErrorResponse, 422: ErrorResponse },
      },
    },
    async (request) => consents.accept(request.user.id, request.body, requestMeta(request)),
  );
};
