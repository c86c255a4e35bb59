import { createSecretKey, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../../shared/clock.js';
import { errors } from '../../shared/errors.js';

export interface IssuedAccessToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface AccessTokenSubject {
  userId: number;
  sessionId: string;
}

const VERIFIED_CACHE_SIZE = 10_000;
const MAX_USER_ID = 2_147_483_647;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * HS256 access tokens: `sub` is the user id (renaming a user keeps their tokens valid), `sid` the session
 * that a request is checked against, plus `iat`, `exp` and a unique `jti`.
 */
export function createAccessTokens(deps: { secretKey: string; expiresInSeconds: number; clock: Clock }) {
  // A KeyObject made once: handing jose the raw bytes would import the key again on every call.
  const key = createSecretKey(Buffer.from(deps.secretKey, 'utf8'));
  /**
   * Tokens whose signature was already checked, until they expire. Revocation does not depend on this:
   * every request still checks the session in the database.
   */
  const verified = new Map<string, AccessTokenSubject & { exp: number }>();

  return {
    async issue(subject: AccessTokenSubject): Promise<IssuedAccessToken> {
      const iat = Math.floor(deps.clock.now().getTime() / 1000);
      const access_token = await new SignJWT({ sid: subject.sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(String(subject.userId))
        .setIssuedAt(iat)
        .setExpirationTime(iat + deps.expiresInSeconds)
        .setJti(randomUUID())
        .sign(key);
      return { access_token, token_type: 'bearer', expires_in: deps.expiresInSeconds };
    },

    /**
     * The token's subject, or a 401: bad signature, another algorithm (`none`, RS256...), another `typ`,
     * expired, malformed. jose checks the signature before any claim, so a forged token is reported invalid
     * even when its `exp` has passed: "expired" is only ever said of a token the service signed.
     */
    async verify(token: string): Promise<AccessTokenSubject> {
      const now = deps.clock.now();
      const cached = verified.get(token);
      if (cached && cached.exp * 1000 > now.getTime()) return cached;
      let payload: { sub?: unknown; sid?: unknown; exp?: number };
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          // Only what `issue` produces: a JWT of another type signed with the same key is not an access token.
          typ: 'JWT',
          requiredClaims: ['sub', 'exp', 'sid'],
          currentDate: now,
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw errors.unauthenticated('Token has expired', 'auth.token_expired');
        throw errors.unauthenticated();
      }
      const userId = typeof payload.sub === 'string' && /^\d{1,10}$/.test(payload.sub) ? Number(payload.sub) : 0;
      if (userId < 1 || userId > MAX_USER_ID || typeof payload.sid !== 'string' || !UUID.test(payload.sid)) {
        throw errors.unauthenticated();
      }
      const subject = { userId, sessionId: payload.sid, exp: payload.exp ?? 0 };
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
      verified.set(token, subject);
      return subject;
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
