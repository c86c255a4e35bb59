import { and, desc, eq, gt, isNull, ne, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { userConsents } from '../consents/consents.table.js';
import { userFeatures } from '../features/features.table.js';
import { type PublicUserRow, publicUserColumns, users } from '../users/users.table.js';
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

/** The authenticated user, with what the request hooks need to know about them. */
export interface ActiveUser {
  /** The signed-in user as requests see it: every column but the password hash and the approver's id. */
  user: PublicUserRow;
  /** The feature flags stored for the user (keys without a row are absent). */
  featureFlags: Record<string, boolean>;
  /** Whether the current terms and privacy versions are accepted; true when no consent is required. */
  consented: boolean;
}

export interface SessionsRepositoryOptions {
  /** The versions REQUIRE_CONSENT asks for; absent: the consent check is left out of the query. */
  consentVersions?: { terms: string; privacy: string } | undefined;
}

/** An account not approved yet cannot use a session; admins and superusers never wait for approval. */
const mayUseSessions = or(eq(users.isApproved, true), eq(users.isSuperuser, true), eq(users.role, 'admin'));

export function createSessionsRepository(db: Database, options: SessionsRepositoryOptions = {}) {
  const versions = options.consentVersions;
  const accepted = (type: 'terms' | 'privacy', version: string) =>
    version === ''
      ? sql`true`
      : sql`EXISTS (SELECT 1 FROM ${userConsents} c WHERE c.user_id = ${users.id} AND c.document_type = ${type} AND c.document_version = ${version})`;

  /**
   * The authentication hot path: the user, their session, their feature flags (and their consents when
   * they are required) in one round trip, so a revoked session, a deactivated, unapproved or deleted user
   * fail the very next request, and GET /users/me needs no second query.
   */
  const activeUser = db
    .select({
      user: publicUserColumns,
      featureFlags: sql<Record<
        string,
        boolean
      > | null>`(SELECT json_object_agg(f.feature_key, f.enabled) FROM ${userFeatures} f WHERE f.user_id = ${users.id})`,
      consented: versions
        ? sql<boolean>`(${accepted('terms', versions.terms)} AND ${accepted('privacy', versions.privacy)})`
        : sql<boolean>`true`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sql.placeholder('sessionId')),
        eq(sessions.userId, sql.placeholder('userId')),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql.placeholder('now')),
        eq(users.isActive, true),
        mayUseSessions,
      ),
    )
    .prepare(versions ? 'sessions_active_user_consent' : 'sessions_active_user');

  return {
    async findActiveUser(userId: number, sessionId: string, now: Date): Promise<ActiveUser | undefined> {
      const [row] = await activeUser.execute({ userId, sessionId, now });
      if (!row) return undefined;
      return { user: row.user, featureFlags: row.featureFlags ?? {}, consented: row.consented };
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
            AND u.id = s.user_id AND u.is_active AND (u.is_approved OR u.is_superuser OR u.role = 'admin')
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
