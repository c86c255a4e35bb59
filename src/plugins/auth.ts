import { randomUUID } from 'node:crypto';
import jwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { createUsersRepository } from '../modules/users/users.repository.js';
import type { UserRow } from '../modules/users/users.table.js';
import { errors } from '../shared/errors.js';

export interface AccessTokenClaims {
  sub: string;
  jti: string;
  iat?: number;
  exp?: number;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

/** What the auth service needs to mint tokens; narrow so it can be built without Fastify. */
export interface TokenIssuer {
  issue(userId: number): IssuedToken;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenClaims;
    user: UserRow;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenIssuer;
    /** onRequest hook: a valid bearer token of an existing, active user, loaded into `request.user`. */
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** onRequest hook, after `authenticate`: 403 unless the user is a superuser. */
    requireSuperuser(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-_.~+/]+=*)[ \t]*$/i;
const MAX_USER_ID = 2_147_483_647;

export const authPlugin = fp<{ secretKey: string; accessTokenExpireMinutes: number }>(
  async (app, { secretKey, accessTokenExpireMinutes }) => {
    const expiresIn = accessTokenExpireMinutes * 60;
    await app.register(jwt, {
      secret: secretKey,
      sign: { algorithm: 'HS256', expiresIn: `${expiresIn}s` },
      // Only HS256: a token claiming `none` or an asymmetric algorithm is refused before its signature is read.
      verify: { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] },
    });

    const usersRepository = createUsersRepository(app.db);

    app.decorate('tokens', {
      issue(userId: number): IssuedToken {
        const access_token = app.jwt.sign({ sub: String(userId), jti: randomUUID() });
        return { access_token, token_type: 'bearer', expires_in: expiresIn };
      },
    });

    app.decorate('authenticate', async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      if (!header) throw errors.unauthenticated('Not authenticated', 'auth.not_authenticated');
      const token = BEARER.exec(header)?.[1];
      if (!token) throw errors.unauthenticated('Not authenticated', 'auth.not_authenticated');

      let claims: AccessTokenClaims;
      try {
        claims = app.jwt.verify<AccessTokenClaims>(token);
      } catch (error) {
        if ((error as { code?: string }).code === 'FAST_JWT_EXPIRED') {
          throw errors.unauthenticated('Token has expired', 'auth.token_expired');
        }
        throw errors.unauthenticated();
      }
      const id = /^\d{1,10}$/.test(claims.sub) ? Number(claims.sub) : 0;
      if (id < 1 || id > MAX_USER_ID) throw errors.unauthenticated();

      const user = await usersRepository.findById(id);
      // A deleted or deactivated account's tokens stop working at once, not when they expire.
      if (!user?.isActive) throw errors.unauthenticated();
      request.user = user;
    });

    app.decorate('requireSuperuser', async (request: FastifyRequest) => {
      if (!request.user?.isSuperuser) {
        throw errors.forbidden("The user doesn't have enough privileges", 'auth.superuser_required');
      }
    });
  },
  { name: 'auth', fastify: '5.x', dependencies: ['database'] },
);
