import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RequestMeta } from '../modules/audit/audit.service.js';
import type { UserRow } from '../modules/users/users.table.js';
import { errors } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; set by `app.authenticate`. */
    user: UserRow;
    /** The session of the access token; set by `app.authenticate`. */
    sessionId: string | undefined;
  }
  interface FastifyInstance {
    /** onRequest hook: a valid bearer token of an active session of an active user, else 401. */
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** onRequest hook, after `authenticate`: 403 unless the user is a superuser. */
    requireSuperuser(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-_.~+/]+=*)[ \t]*$/i;

/** Where a request came from, for the audit log and the sessions list. */
export const requestMeta = (request: FastifyRequest): RequestMeta => ({
  ip: request.ip ?? null,
  userAgent: request.headers['user-agent'] ?? null,
  requestId: request.id,
});

export const authPlugin = fp(
  async (app) => {
    app.decorateRequest('user', null as unknown as UserRow);
    app.decorateRequest('sessionId', undefined);

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
      if (!token) throw errors.unauthenticated('Not authenticated', 'auth.not_authenticated');
      const { userId, sessionId } = await app.services.accessTokens.verify(token);
      // One round trip checks the user and the session: logout, revocation, deactivation and deletion
      // all take effect on the very next request, not when the token expires.
      const user = await app.services.sessions.findActiveUser(userId, sessionId);
      if (!user) throw errors.unauthenticated();
      request.user = user;
      request.sessionId = sessionId;
    });

    app.decorate('requireSuperuser', async (request: FastifyRequest) => {
      if (!request.user?.isSuperuser) {
        throw errors.forbidden("The user doesn't have enough privileges", 'auth.superuser_required');
      }
    });
  },
  { name: 'auth', fastify: '5.x', dependencies: ['services'] },
);
