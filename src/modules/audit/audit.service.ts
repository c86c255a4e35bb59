import type { AuditQuery, AuditRepository } from './audit.repository.js';

export type AuditEventName =
  | 'auth.login.succeeded'
  | 'auth.login.failed'
  | 'auth.login.throttled'
  | 'auth.login.throttle_ended'
  | 'auth.logout'
  | 'auth.refresh.reused'
  | 'auth.session.revoked'
  | 'auth.password_reset.requested'
  | 'auth.email_verification.requested'
  | 'user.created'
  | 'user.updated'
  | 'user.deleted'
  | 'user.password.changed'
  | 'user.password.reset'
  | 'user.email.verified'
  | 'user.sessions.revoked'
  // Client portal.
  | 'user.approved'
  | 'user.rejected'
  | 'user.deactivated'
  | 'user.reactivated'
  | 'user.features.updated'
  | 'user.consents.accepted'
  | 'invitation.created'
  | 'invitation.resent'
  | 'invitation.revoked'
  | 'invitation.accepted';

/** Where a request came from; recorded with each event. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export interface AuditEntry {
  event: AuditEventName;
  actorUserId?: number | null | undefined;
  subjectUserId?: number | null | undefined;
  details?: Record<string, unknown>;
}

/** Keys that must never reach the audit log, whatever a caller passes in `details`. */
const FORBIDDEN_DETAIL = /password|token|hash|secret/i;

function sanitize(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details ?? {})) if (!FORBIDDEN_DETAIL.test(key)) out[key] = value;
  return out;
}

export function createAuditService(deps: { auditRepository: AuditRepository }) {
  const { auditRepository } = deps;
  return {
    record(entry: AuditEntry, meta: RequestMeta | undefined): Promise<void> {
      return auditRepository.insert({
        event: entry.event,
        actorUserId: entry.actorUserId ?? null,
        subjectUserId: entry.subjectUserId ?? null,
        ip: meta?.ip?.slice(0, 64) ?? null,
        userAgent: meta?.userAgent?.slice(0, 512) ?? null,
        requestId: meta?.requestId ?? null,
        details: sanitize(entry.details),
      });
    },

    list: (query: AuditQuery) => auditRepository.list(query),
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
