import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorResponse } from '../../shared/schemas.js';
import { createUsersRepository } from '../users/users.repository.js';
import { toUserResponse, User } from '../users/users.schemas.js';
import { createUsersService } from '../users/users.service.js';
import { LoginBody, RegisterBody, TokenForm, TokenResponse } from './auth.schemas.js';
import { createAuthService } from './auth.service.js';

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Form bodies only here (login and the OAuth2 token form); the rest of the API takes JSON alone.
  await app.register(formbody, { bodyLimit: 16_384 });

  const usersRepository = createUsersRepository(app.db);
  const auth = createAuthService({
    usersRepository,
    usersService: createUsersService({ usersRepository, passwordHasher: app.passwordHasher }),
    passwordHasher: app.passwordHasher,
    tokens: app.tokens,
  });
  const loginErrors = { 401: ErrorResponse, 403: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse };
  const rateLimit = app.authRateLimit;

  app.post(
    '/register',
    {
      ...rateLimit,
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        body: RegisterBody,
        response: { 201: User, 409: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await auth.register(request.body);
      return reply.code(201).send(toUserResponse(user));
    },
  );

  app.post(
    '/login',
    {
      ...rateLimit,
      schema: {
        tags: ['auth'],
        summary: 'Log in with a username (or email) and password',
        description: 'Accepts JSON or an `application/x-www-form-urlencoded` form with the same fields.',
        body: LoginBody,
        response: { 200: TokenResponse, ...loginErrors },
      },
    },
    async (request) => auth.login(request.body.username, request.body.password),
  );

  app.post(
    '/token',
    {
      ...rateLimit,
      schema: {
        tags: ['auth'],
        summary: 'OAuth2 password grant (used by the docs "Authorize" button)',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenForm,
        response: { 200: TokenResponse, ...loginErrors },
      },
    },
    async (request) => auth.login(request.body.username, request.body.password),
  );
};
