import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestMeta } from '../../plugins/auth.js';
import { ErrorResponse } from '../../shared/schemas.js';
import { MessageResponse, toUserResponse, User, UserIdParams, UserList } from '../users/users.schemas.js';
import { FeatureMap, FeaturesUpdateBody, PendingUsersQuery, RejectBody } from './admin.schemas.js';

const guarded = { 401: ErrorResponse, 403: ErrorResponse, 422: ErrorResponse };
const onUser = { ...guarded, 404: ErrorResponse };

/** The admin portal's routes: admins and superusers; an admin acting on an admin or superuser gets 403. */
export const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { admin } = app.services;
  const onRequest = [app.authenticate, app.requireAdmin];

  app.get(
    '/users/pending',
    {
      onRequest,
      schema: {
        operationId: 'listPendingUsers',
        tags: ['admin'],
        summary: 'Clients waiting for approval',
        description:
          'Newest first, verified or not (`email_verified` tells). The total is in the `X-Total-Count` header.',
        querystring: PendingUsersQuery,
        response: { 200: UserList, ...guarded },
      },
    },
    async (request, reply) => {
      const { items, total } = await admin.listPending(request.query);
      reply.header('x-total-count', String(total));
      return items.map(toUserResponse);
    },
  );

  app.post(
    '/users/:user_id/approve',
    {
      onRequest,
      schema: {
        operationId: 'approveUser',
        tags: ['admin'],
        summary: 'Approve a client',
        description:
          'Sets `is_approved`, `approved_at` and the approver, gives the default features (flags already set are kept) and emails the user. 409 if already approved.',
        params: UserIdParams,
        response: { 200: User, 409: ErrorResponse, ...onUser },
      },
    },
    async (request) => toUserResponse(await admin.approve(request.user, request.params.user_id, requestMeta(request))),
  );

  app.post(
    '/users/:user_id/reject',
    {
      onRequest,
      // The reason is optional, and so is the body that carries it: a POST without one counts as `{}`.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        operationId: 'rejectUser',
        tags: ['admin'],
        summary: 'Reject a client waiting for approval',
        description:
          'Emails the reason, then deletes the account. Only an account not approved yet (409 otherwise, before any email); 409 `users.referenced` when another table still refers to the user.',
        params: UserIdParams,
        body: RejectBody,
        response: { 200: MessageResponse, 409: ErrorResponse, ...onUser },
      },
    },
    async (request) => {
      await admin.reject(request.user, request.params.user_id, request.body.reason, requestMeta(request));
      return { message: 'User application rejected' };
    },
  );

  app.post(
    '/users/:user_id/deactivate',
    {
      onRequest,
      schema: {
        operationId: 'deactivateUser',
        tags: ['admin'],
        summary: 'Deactivate an account',
        description: 'Ends every session of the user at once. Not your own account (400); 409 if already inactive.',
        params: UserIdParams,
        response: { 200: User, 400: ErrorResponse, 409: ErrorResponse, ...onUser },
      },
    },
    async (request) =>
      toUserResponse(await admin.deactivate(request.user, request.params.user_id, requestMeta(request))),
  );

  app.post(
    '/users/:user_id/reactivate',
    {
      onRequest,
      schema: {
        operationId: 'reactivateUser',
        tags: ['admin'],
        summary: 'Reactivate an account',
        description: '409 if the account is active.',
        params: UserIdParams,
        response: { 200: User, 409: ErrorResponse, ...onUser },
      },
    },
    async (request) =>
      toUserResponse(await admin.reactivate(request.user, request.params.user_id, requestMeta(request))),
  );

  app.get(
    '/users/:user_id/features',
    {
      onRequest,
      schema: {
        operationId: 'getUserFeatures',
        tags: ['admin'],
        summary: "A user's feature flags",
        description: 'Every key of USER_FEATURES: the value set for the user, or its default.',
        params: UserIdParams,
        response: { 200: FeatureMap, ...onUser },
      },
    },
    async (request) => admin.getFeatures(request.user, request.params.user_id),
  );

  app.put(
    '/users/:user_id/features',
    {
      onRequest,
      schema: {
        operationId: 'updateUserFeatures',
        tags: ['admin'],
        summary: "Change a user's feature flags",
        description:
          'Partial: only the keys given change. A key not in USER_FEATURES refuses the whole update (422 `features.unknown_key`). Returns every flag.',
        params: UserIdParams,
        body: FeaturesUpdateBody,
        response: { 200: FeatureMap, ...onUser },
      },
    },
    async (request) =>
      admin.updateFeatures(request.user, request.params.user_id, request.body.features, requestMeta(request)),
  );
};
