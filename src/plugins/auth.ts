import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RequestMeta } from '../modules/audit/audit.service.js';
import type { PublicUserRow } from '../modules/users/users.table.js';
import { AppError, errors } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; set by `app.authenticate`. */
    user: PublicUserRow;
    /** The session of the access token; set by `app.authenticate`. */
    sessionId: string | undefined;
    /** The feature flags stored for the user (absent keys: the defaults); set by `app.authenticate`. */
    featureFlags: Record<string, boolean>;
  }
  interface FastifyInstance {
    /**
     * onRequest hook: a valid bearer token of an active session of an active, approved user, else 401;
     * then the route's `config.feature` (403 auth.feature_disabled) and, with REQUIRE_CONSENT, the consents
     * (403 consent.required).
     */
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** onRequest hook, after `authenticate`: 403 unless the user is a superuser. */
    requireSuperuser(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** onRequest hook, after `authenticate`: 403 unless the user is an admin or a superuser. */
    requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
  interface FastifyContextConfig {
    /** A USER_FEATURES key the client must have on; admins and superusers always pass. */
    feature?: string;
  }
}

const featureDisabled = () =>
  new AppError('AuthorizationError', 'auth.feature_disabled', 'This feature is not enabled for your account');
const consentRequired = () =>
  new AppError(
    'AuthorizationError',
    'consent.required',
    'Accept the current terms and privacy policy first (GET /consents/me)',
  );

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-_.~+/]+=*)[ \t]*$/i;

/** Where a request came from, for the audit log and the sessions list. */
export const requestMeta = (request: FastifyRequest): RequestMeta => ({
  ip: request.ip ?? null,
  userAgent: request.headers['user-agent'] ?? null,
  requestId: request.id,
});

export const authPlugin = fp<{ apiPrefix: string }>(
  async (app, { apiPrefix }) => {
    app.decorateRequest('user', null as unknown as PublicUserRow);
    app.decorateRequest('sessionId', undefined);
    app.decorateRequest('featureFlags', null as unknown as Record<string, boolean>);
    const { features } = app.services;

    /** onRequest hook of a route with `config.feature`, after `authenticate` (fails closed without a user). */
    const requireFeature = (feature: string) => async (request: FastifyRequest) => {
      if (!request.user) throw errors.unauthenticated();
      if (!features.effective(request.user, request.featureFlags)[feature]) throw featureDisabled();
    };

    // The feature check is added to the routes that declare one, so no other request pays for it; a typo in a
    // route's feature would lock every client out of it silently, so it is refused at start-up.
    app.addHook('onRoute', (route) => {
      const feature = (route.config as { feature?: string } | undefined)?.feature;
      if (feature === undefined) return;
      if (!features.isAllowed(feature)) {
        throw new Error(`Route ${route.method} ${route.url}: feature "${feature}" is not in USER_FEATURES`);
      }
      route.onRequest = [...[route.onRequest ?? []].flat(), requireFeature(feature)];
    });

    // The routes a user who has not accepted the current documents still reaches: to read and accept them.
    const consentExempt = (url: string) =>
      url === `${apiPrefix}/users/me` ||
      url.startsWith(`${apiPrefix}/consents/`) ||
      url.startsWith(`${apiPrefix}/auth/`);

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
      if (!token) throw errors.unauthenticated('Not authenticated', 'auth.not_authenticated');
      const { userId, sessionId } = await app.services.accessTokens.verify(token);
      // One round trip checks the user and the session: logout, revocation, deactivation and deletion
      // all take effect on the very next request, not when the token expires.
      const active = await app.services.sessions.findActiveUser(userId, sessionId);
      if (!active) throw errors.unauthenticated();
      const { user, featureFlags } = active;
      request.user = user;
      request.sessionId = sessionId;
      request.featureFlags = featureFlags;
      if (!active.consented && !consentExempt(request.routeOptions.url ?? '')) throw consentRequired();
    });

    app.decorate('requireSuperuser', async (request: FastifyRequest) => {
      if (!request.user?.isSuperuser) {
        throw errors.forbidden("The user doesn't have enough privileges", 'auth.superuser_required');
      }
    });

    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      const user = request.user;
      if (!user?.isSuperuser && user?.role !== 'admin') {
        throw errors.forbidden("The user doesn't have enough privileges", 'auth.admin_required');
      }
    });
  },
  { name: 'auth', fastify: '5.x', dependencies: ['services'] },
);
