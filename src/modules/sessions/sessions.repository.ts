import { and, desc, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type UserRow, users } from '../users/users.table.js';
import { type RefreshTokenRow, refreshTokens, type SessionRow, sessions } from './sessions.table.js';

export interface NewSession {
  userId: number;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  refreshTokenHash: string;
  refreshExpiresAt: Date;
}

export type RevokeReason =
  | 'logout'
  | 'logout_all'
  | 'revoked'
  | 'refresh_reused'
  | 'password_changed'
  | 'password_reset'
  | 'user_deactivated'
  | 'admin';

export function createSessionsRepository(db: Database) {
  /**
   * The authentication hot path: the user and their session checked in one round trip, so a revoked
   * session, a deactivated or a deleted user fail the very next request.
   */
  const activeUser = db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sql.placeholder('sessionId')),
        eq(sessions.userId, sql.placeholder('userId')),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql.placeholder('now')),
        eq(users.isActive, true),
      ),
    )
    .prepare('sessions_active_user');

  return {
    async findActiveUser(userId: number, sessionId: string, now: Date): Promise<UserRow | undefined> {
      const [row] = await activeUser.execute({ userId, sessionId, now });
      return row?.user;
    },

    /** Creates the session and its first refresh token together. */
    create(input: NewSession): Promise<SessionRow> {
      return db.transaction(async (tx) => {
        const [session] = await tx
          .insert(sessions)
          .values({ userId: input.userId, expiresAt: input.expiresAt, userAgent: input.userAgent, ip: input.ip })
          .returning();
        const created = session as SessionRow;
        await tx.insert(refreshTokens).values({
          sessionId: created.id,
          tokenHash: input.refreshTokenHash,
          expiresAt: input.refreshExpiresAt,
        });
        return created;
      });
    },

    async findRefreshToken(tokenHash: string): Promise<{ token: RefreshTokenRow; session: SessionRow } | undefined> {
      const [row] = await db
        .select({ token: refreshTokens, session: sessions })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .where(eq(refreshTokens.tokenHash, tokenHash))
        .limit(1);
      return row;
    },

    /**
     * Marks the presented token rotated and stores its successor, atomically. Only one caller can rotate a
     * given token (the `rotated_at IS NULL` guard): false means someone else did first.
     */
    rotate(
      tokenId: string,
      next: { sessionId: string; tokenHash: string; expiresAt: Date },
      now: Date,
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const claimed = await tx
          .update(refreshTokens)
          .set({ rotatedAt: now })
          .where(and(eq(refreshTokens.id, tokenId), isNull(refreshTokens.rotatedAt)))
          .returning({ id: refreshTokens.id });
        if (claimed.length === 0) return false;
        await tx.insert(refreshTokens).values(next);
        await tx.update(sessions).set({ lastUsedAt: now }).where(eq(sessions.id, next.sessionId));
        return true;
      });
    },

    async revoke(sessionId: string, reason: RevokeReason, now: Date, userId?: number): Promise<boolean> {
      const rows = await db
        .update(sessions)
        .set({ revokedAt: now, revokedReason: reason })
        .where(
          and(
            eq(sessions.id, sessionId),
            isNull(sessions.revokedAt),
            userId === undefined ? undefined : eq(sessions.userId, userId),
          ),
        )
        .returning({ id: sessions.id });
      return rows.length > 0;
    },

    /** Revokes every active session of a user, but `exceptSessionId`; returns how many. */
    async revokeAllForUser(userId: number, reason: RevokeReason, now: Date, exceptSessionId?: string): Promise<number> {
      const rows = await db
        .update(sessions)
        .set({ revokedAt: now, revokedReason: reason })
        .where(
          and(
            eq(sessions.userId, userId),
            isNull(sessions.revokedAt),
            exceptSessionId === undefined ? undefined : ne(sessions.id, exceptSessionId),
          ),
        )
        .returning({ id: sessions.id });
      return rows.length;
    },

    /** Active sessions of a user, newest first. */
    listActive(userId: number, now: Date): Promise<SessionRow[]> {
      return db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
        .orderBy(desc(sessions.createdAt), desc(sessions.id));
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
