import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestMeta } from '../../plugins/auth.js';
import { ErrorResponse } from '../../shared/schemas.js';
import { MessageResponse, UserIdParams } from '../users/users.schemas.js';
import { sessionsErrors } from './sessions.errors.js';
import { RevokedResponse, SessionIdParams, SessionList, toSessionResponse } from './sessions.schemas.js';

const authErrors = { 401: ErrorResponse, 422: ErrorResponse };
const adminErrors = { ...authErrors, 403: ErrorResponse, 404: ErrorResponse };

export const sessionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { sessions, users, audit } = app.services;

  app.get(
    '/auth/sessions',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listMySessions',
        tags: ['sessions'],
        summary: 'My active sessions',
        response: { 200: SessionList, ...authErrors },
      },
    },
    async (request) => (await sessions.listActive(request.user.id)).map((s) => toSessionResponse(s, request.sessionId)),
  );

  app.delete(
    '/auth/sessions/:session_id',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'revokeMySession',
        tags: ['sessions'],
        summary: 'End one of my sessions',
        params: SessionIdParams,
        response: { 200: MessageResponse, 404: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const { session_id: sessionId } = request.params;
      // Someone else's session id answers like an unknown one.
      if (!(await sessions.revoke(request.user.id, sessionId, 'revoked'))) throw sessionsErrors.notFound();
      await audit.record(
        {
          event: 'auth.session.revoked',
          actorUserId: request.user.id,
          subjectUserId: request.user.id,
          details: { session_id: sessionId },
        },
        requestMeta(request),
      );
      return { message: 'Session revoked' };
    },
  );

  app.get(
    '/users/:user_id/sessions',
    {
      onRequest: [app.authenticate, app.requireSuperuser],
      schema: {
        operationId: 'listUserSessions',
        tags: ['sessions'],
        summary: "A user's active sessions (superuser)",
        params: UserIdParams,
        response: { 200: SessionList, ...adminErrors },
      },
    },
    async (request) => {
      const user = await users.getById(request.params.user_id);
      return (await sessions.listActive(user.id)).map((s) => toSessionResponse(s, request.sessionId));
    },
  );

  app.delete(
    '/users/:user_id/sessions',
    {
      onRequest: [app.authenticate, app.requireSuperuser],
      schema: {
        operationId: 'revokeUserSessions',
        tags: ['sessions'],
        summary: 'End every session of a user (superuser)',
        params: UserIdParams,
        response: { 200: RevokedResponse, ...adminErrors },
      },
    },
    async (request) => {
      const user = await users.getById(request.params.user_id);
      const revoked = await sessions.revokeAll(user.id, 'admin');
      await audit.record(
        { event: 'user.sessions.revoked', actorUserId: request.user.id, subjectUserId: user.id, details: { revoked } },
        requestMeta(request),
      );
      return { message: 'Sessions revoked', revoked };
    },
  );
};
