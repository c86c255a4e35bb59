import type { Clock } from '../../shared/clock.js';
import { generateOpaqueToken, hashOpaqueToken } from '../../shared/tokens.js';
import type { AuditService, RequestMeta } from '../audit/audit.service.js';
import { sessionsErrors } from './sessions.errors.js';
import type { RevokeReason, SessionsRepository } from './sessions.repository.js';
import type { SessionRow } from './sessions.table.js';

export interface SessionSettings {
  refreshTokenExpireDays: number;
  sessionMaxDays: number;
}

const DAY_MS = 86_400_000;

export function createSessionsService(deps: {
  sessionsRepository: SessionsRepository;
  auditService: AuditService;
  clock: Clock;
  settings: SessionSettings;
}) {
  const { sessionsRepository, auditService, clock, settings } = deps;

  /** A refresh token lives REFRESH_TOKEN_EXPIRE_DAYS, but never past the session's absolute end. */
  const refreshExpiry = (now: Date, sessionExpiresAt: Date) =>
    new Date(Math.min(now.getTime() + settings.refreshTokenExpireDays * DAY_MS, sessionExpiresAt.getTime()));

  return {
    async start(userId: number, meta: RequestMeta): Promise<{ session: SessionRow; refreshToken: string }> {
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + settings.sessionMaxDays * DAY_MS);
      const refreshToken = generateOpaqueToken();
      const session = await sessionsRepository.create({
        userId,
        expiresAt,
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
        ip: meta.ip?.slice(0, 64) ?? null,
        refreshTokenHash: hashOpaqueToken(refreshToken),
        refreshExpiresAt: refreshExpiry(now, expiresAt),
      });
      return { session, refreshToken };
    },

    /**
     * Rotation: the presented token is spent and a new one returned. A spent token presented again means
     * two parties hold it (theft or replay), so the whole session (token family) is revoked. The common case
     * is one statement; only a refusal looks further, to tell a reuse from an unknown or expired token.
     */
    async refresh(
      refreshToken: string,
      meta: RequestMeta,
    ): Promise<{ sessionId: string; userId: number; refreshToken: string }> {
      const now = clock.now();
      const presented = hashOpaqueToken(refreshToken);
      const next = generateOpaqueToken();
      const rotated = await sessionsRepository.rotate(
        presented,
        {
          tokenHash: hashOpaqueToken(next),
          expiresAt: new Date(now.getTime() + settings.refreshTokenExpireDays * DAY_MS),
        },
        now,
      );
      if (rotated) return { ...rotated, refreshToken: next };

      const found = await sessionsRepository.findRefreshToken(presented);
      // Spent before, or just now by a parallel refresh with the same token: either way, a reuse.
      if (found?.token.rotatedAt && !found.session.revokedAt) {
        await sessionsRepository.revoke(found.session.id, 'refresh_reused', now);
        await auditService.record(
          {
            event: 'auth.refresh.reused',
            subjectUserId: found.session.userId,
            details: { session_id: found.session.id },
          },
          meta,
        );
        throw sessionsErrors.refreshTokenReused();
      }
      throw sessionsErrors.invalidRefreshToken();
    },

    findActiveUser: (userId: number, sessionId: string) =>
      sessionsRepository.findActiveUser(userId, sessionId, clock.now()),

    listActive: (userId: number) => sessionsRepository.listActive(userId, clock.now()),

    /** Revokes one session of `userId`; false when it is not theirs or already ended. */
    revoke: (userId: number, sessionId: string, reason: RevokeReason) =>
      sessionsRepository.revoke(sessionId, reason, clock.now(), userId),

    revokeAll: (userId: number, reason: RevokeReason, exceptSessionId?: string) =>
      sessionsRepository.revokeAllForUser(userId, reason, clock.now(), exceptSessionId),
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
