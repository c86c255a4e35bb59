import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestMeta } from '../../plugins/auth.js';
import { ErrorResponse } from '../../shared/schemas.js';
import { CurrentUser, MessageResponse, toUserResponse } from '../users/users.schemas.js';
import {
  BulkInvitationBody,
  BulkInvitationResult,
  Invitation,
  InvitationAcceptBody,
  InvitationCreateBody,
  InvitationIdParams,
  InvitationList,
  InvitationListQuery,
  InvitationTokenParams,
  InvitationValidation,
  toInvitationResponse,
} from './invitations.schemas.js';

const guarded = { 401: ErrorResponse, 403: ErrorResponse, 422: ErrorResponse };
const onInvitation = { ...guarded, 404: ErrorResponse, 409: ErrorResponse };

/**
 * Registered under API_V1_STR: the admin portal's routes (`/admin/invitations`, admins and superusers) and
 * the invitee's public ones (`/auth/invitation/{token}`, rate limited like the other credential routes).
 */
export const invitationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { invitations } = app.services;
  const onRequest = [app.authenticate, app.requireAdmin];

  app.get(
    '/admin/invitations',
    {
      onRequest,
      schema: {
        operationId: 'listInvitations',
        tags: ['admin'],
        summary: 'Invitations, newest first',
        description: 'Optionally one `status` only. The total is in the `X-Total-Count` header.',
        querystring: InvitationListQuery,
        response: { 200: InvitationList, ...guarded },
      },
    },
    async (request, reply) => {
      const { items, total, now } = await invitations.list(request.query);
      reply.header('x-total-count', String(total));
      return items.map((item) => toInvitationResponse(item, now));
    },
  );

  app.post(
    '/admin/invitations',
    {
      onRequest,
      schema: {
        operationId: 'createInvitation',
        tags: ['admin'],
        summary: 'Invite an address',
        description:
          'Emails a link to `CLIENT_PORTAL_URL/invitation/{token}`, valid INVITATION_EXPIRE_DAYS. Only a superuser may invite an `admin` (403). 409 when the address has an account or a pending invitation; an expired or revoked one does not count.',
        body: InvitationCreateBody,
        response: { 201: Invitation, 409: ErrorResponse, ...guarded },
      },
    },
    async (request, reply) => {
      const created = await invitations.create(request.user, request.body, requestMeta(request));
      return reply.code(201).send(toInvitationResponse(created, created.invitation.createdAt));
    },
  );

  app.post(
    '/admin/invitations/bulk',
    {
      onRequest,
      schema: {
        operationId: 'bulkCreateInvitations',
        tags: ['admin'],
        summary: 'Invite up to 100 addresses as clients',
        description:
          'Each address on its own: those already with an account, with a pending invitation, or given twice are listed in `failed` with the reason; the others are invited.',
        body: BulkInvitationBody,
        response: { 200: BulkInvitationResult, ...guarded },
      },
    },
    async (request) => invitations.createBulk(request.user, request.body.emails, requestMeta(request)),
  );

  app.post(
    '/admin/invitations/:invitation_id/resend',
    {
      onRequest,
      schema: {
        operationId: 'resendInvitation',
        tags: ['admin'],
        summary: 'Send an invitation again, with a new link',
        description:
          'The previous link stops working; the new one is valid INVITATION_EXPIRE_DAYS from now. The original inviter stays recorded. 409 for a used or revoked invitation.',
        params: InvitationIdParams,
        response: { 200: Invitation, ...onInvitation },
      },
    },
    async (request) => {
      const renewed = await invitations.resend(request.user, request.params.invitation_id, requestMeta(request));
      return toInvitationResponse(renewed, renewed.now);
    },
  );

  app.delete(
    '/admin/invitations/:invitation_id',
    {
      onRequest,
      schema: {
        operationId: 'revokeInvitation',
        tags: ['admin'],
        summary: 'Revoke an invitation',
        description: 'The link stops working; the invitation stays listed with `revoked_at`. 409 if used or revoked.',
        params: InvitationIdParams,
        response: { 200: MessageResponse, ...onInvitation },
      },
    },
    async (request) => {
      await invitations.revoke(request.user, request.params.invitation_id, requestMeta(request));
      return { message: 'Invitation revoked' };
    },
  );

  // Like the other /auth routes, the invitee's take JSON or a form.
  await app.register(invitationLinkRoutes);
};

const invitationLinkRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(formbody, { bodyLimit: 16_384 });
  const { invitations } = app.services;

  app.get(
    '/auth/invitation/:token',
    {
      config: { ...app.authRateLimit.config, redactUrl: true },
      schema: {
        operationId: 'getInvitation',
        tags: ['auth'],
        summary: 'Check an invitation link',
        description:
          'Always 200: `valid` with the invited `email`, or the reason in `message` ("Invalid invitation token", "This invitation has already been used", "This invitation has expired").',
        params: InvitationTokenParams,
        response: { 200: InvitationValidation, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request) => invitations.validate(request.params.token),
  );

  app.post(
    '/auth/invitation/:token/accept',
    {
      config: { ...app.authRateLimit.config, redactUrl: true },
      schema: {
        operationId: 'acceptInvitation',
        tags: ['auth'],
        summary: 'Create an account with an invitation link',
        description:
          'The account has the invited address (verified), is approved, has the invited role and the default features. The link works once. 400 `invitations.invalid_token`, `invitations.token_used` or `invitations.token_expired` when it does not work; 409 when the address or username is taken.',
        params: InvitationTokenParams,
        body: InvitationAcceptBody,
        response: {
          201: CurrentUser,
          400: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
          429: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { user, features } = await invitations.accept(request.params.token, request.body, requestMeta(request));
      return reply.code(201).send({ ...toUserResponse(user), features });
    },
  );
};
