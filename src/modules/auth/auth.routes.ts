import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestMeta } from '../../plugins/auth.js';
import { ErrorResponse } from '../../shared/schemas.js';
import { MessageResponse, toUserResponse, User } from '../users/users.schemas.js';
import {
  AcceptedResponse,
  ClientRegisterBody,
  EmailBody,
  ForgotPasswordBody,
  LoginBody,
  RefreshBody,
  RegisterBody,
  ResetPasswordBody,
  TokenForm,
  TokenResponse,
  VerifyEmailBody,
} from './auth.schemas.js';

export const AUTH_BODY_LIMIT = 65_536;

const ACCEPTED = { message: 'If the address belongs to an account, an email is on its way' };

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Form bodies on the auth routes only (login and the OAuth2 token form need them); the rest of the API
  // takes JSON alone.
  await app.register(formbody, { bodyLimit: 16_384 });
  // Nothing sent to /auth comes near 64 KiB: a larger body is refused (413) from its Content-Length, unread.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= AUTH_BODY_LIMIT;
  });

  const { auth, accountEmails } = app.services;
  const loginErrors = { 401: ErrorResponse, 403: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse };
  const rateLimit = app.authRateLimit;

  app.post(
    '/register',
    {
      ...rateLimit,
      schema: {
        operationId: 'register',
        tags: ['auth'],
        summary: 'Create an account',
        description:
          'The new account starts with `email_verified: false`; a verification email is sent. With REGISTRATION_MODE=approval it waits for an admin (`is_approved: false`); with invite_only the answer is 403 `auth.registration_closed`.',
        body: RegisterBody,
        response: { 201: User, 403: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await auth.register(request.body, requestMeta(request));
      return reply.code(201).send(toUserResponse(user));
    },
  );

  app.post(
    '/client/register',
    {
      ...rateLimit,
      schema: {
        operationId: 'registerClient',
        tags: ['auth'],
        summary: 'Sign up to the client portal',
        description:
          'The username is made from the email (its local part, with a number added when taken). Follows REGISTRATION_MODE like /auth/register and sends the verification email.',
        body: ClientRegisterBody,
        response: { 201: User, 403: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await auth.registerClient(request.body, requestMeta(request));
      return reply.code(201).send(toUserResponse(user));
    },
  );

  app.post(
    '/login',
    {
      ...rateLimit,
      schema: {
        operationId: 'login',
        tags: ['auth'],
        summary: 'Log in with a username (or email) and password',
        description: 'Accepts JSON or an `application/x-www-form-urlencoded` form with the same fields.',
        body: LoginBody,
        response: { 200: TokenResponse, ...loginErrors },
      },
    },
    async (request) => auth.login(request.body.username, request.body.password, requestMeta(request)),
  );

  app.post(
    '/token',
    {
      ...rateLimit,
      schema: {
        operationId: 'issueToken',
        tags: ['auth'],
        summary: 'OAuth2 password grant (used by the docs "Authorize" button)',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenForm,
        response: { 200: TokenResponse, ...loginErrors },
      },
    },
    async (request) => auth.login(request.body.username, request.body.password, requestMeta(request)),
  );

  // Not rate limited: a refresh token is 256 random bits (nothing to guess), and many clients behind one
  // address refresh routinely.
  app.post(
    '/refresh',
    {
      schema: {
        operationId: 'refreshToken',
        tags: ['auth'],
        summary: 'Trade a refresh token for a new access and refresh token',
        description:
          'Rotation: the refresh token presented is spent. Presenting a spent token again revokes the whole session.',
        body: RefreshBody,
        response: { 200: TokenResponse, 401: ErrorResponse, 422: ErrorResponse },
      },
    },
    async (request) => auth.refresh(request.body.refresh_token, requestMeta(request)),
  );

  app.post(
    '/logout',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'logout',
        tags: ['auth'],
        summary: 'End the current session',
        response: { 200: MessageResponse, 401: ErrorResponse },
      },
    },
    async (request) => {
      if (request.sessionId) await auth.logout(request.user, request.sessionId, requestMeta(request));
      return { message: 'Logged out' };
    },
  );

  app.post(
    '/logout-all',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'logoutAll',
        tags: ['auth'],
        summary: 'End every session of the current user, this one included',
        response: { 200: MessageResponse, 401: ErrorResponse },
      },
    },
    async (request) => {
      await auth.logoutAll(request.user, requestMeta(request));
      return { message: 'Logged out of every session' };
    },
  );

  app.post(
    '/forgot-password',
    {
      ...rateLimit,
      schema: {
        operationId: 'forgotPassword',
        tags: ['auth'],
        summary: 'Email a password reset link',
        description:
          'Always 202 with the same body, whether or not the address belongs to an account. `portal` picks the link: the client portal (default) or the admin portal.',
        body: ForgotPasswordBody,
        response: { 202: AcceptedResponse, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      accountEmails.requestPasswordReset(request.body.email, requestMeta(request), request.body.portal ?? 'client');
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post(
    '/reset-password',
    {
      ...rateLimit,
      schema: {
        operationId: 'resetPassword',
        tags: ['auth'],
        summary: 'Set a new password with a reset token',
        description: 'The token works once. Every session of the account ends.',
        body: ResetPasswordBody,
        response: { 200: MessageResponse, 400: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request) => {
      await accountEmails.resetPassword(request.body.token, request.body.new_password, requestMeta(request));
      return { message: 'Password has been reset' };
    },
  );

  app.post(
    '/verify-email',
    {
      ...rateLimit,
      schema: {
        operationId: 'verifyEmail',
        tags: ['auth'],
        summary: 'Confirm an email address with the token from the verification email',
        body: VerifyEmailBody,
        response: { 200: MessageResponse, 400: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request) => {
      await accountEmails.verifyEmail(request.body.token, requestMeta(request));
      return { message: 'Email verified' };
    },
  );

  app.post(
    '/resend-verification',
    {
      ...rateLimit,
      schema: {
        operationId: 'resendVerification',
        tags: ['auth'],
        summary: 'Send the verification email again',
        description: 'Always 202 with the same body, whether or not the address belongs to an unverified account.',
        body: EmailBody,
        response: { 202: AcceptedResponse, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      accountEmails.requestVerification(request.body.email, requestMeta(request));
      return reply.code(202).send(ACCEPTED);
    },
  );
};
