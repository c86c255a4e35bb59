import { and, desc, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type UserRow, users } from '../users/users.table.js';
import { SESSIONS_LISTED } from './sessions.schemas.js';
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
     * The whole rotation in one statement (one round trip, atomic): spends the presented token if it is
     * unspent and unexpired, its session active and its user active, stores the successor (never outliving
     * the session) and touches the session. Only one caller can spend a token (`rotated_at IS NULL` is
     * re-checked after a concurrent update): undefined means it was not spendable, for whatever reason.
     */
    async rotate(
      tokenHash: string,
      next: { tokenHash: string; expiresAt: Date },
      now: Date,
    ): Promise<{ sessionId: string; userId: number } | undefined> {
      const result = await db.execute(sql`
        WITH claimed AS (
          UPDATE ${refreshTokens} AS t SET rotated_at = ${now}
          FROM ${sessions} AS s, ${users} AS u
          WHERE t.token_hash = ${tokenHash} AND t.rotated_at IS NULL AND t.expires_at > ${now}
            AND s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > ${now}
            AND u.id = s.user_id AND u.is_active
          RETURNING s.id AS session_id, s.user_id, s.expires_at
        ), successor AS (
          INSERT INTO ${refreshTokens} (session_id, token_hash, expires_at)
          SELECT session_id, ${next.tokenHash}, LEAST(${next.expiresAt}::timestamptz, expires_at) FROM claimed
        ), touched AS (
          UPDATE ${sessions} SET last_used_at = ${now} WHERE id IN (SELECT session_id FROM claimed)
        )
        SELECT session_id, user_id FROM claimed`);
      const row = (result as unknown as { rows: { session_id: string; user_id: number }[] }).rows[0];
      return row ? { sessionId: row.session_id, userId: Number(row.user_id) } : undefined;
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
        .orderBy(desc(sessions.createdAt), desc(sessions.id))
        .limit(SESSIONS_LISTED);
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
