import { and, desc, eq, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type AuditEventRow, auditEvents, type NewAuditEventRow } from './audit.table.js';

export interface AuditQuery {
  /** Events where the user acted or was acted upon. */
  userId?: number | undefined;
  /** Only events where the user was the subject (a user's own history). */
  subjectUserId?: number | undefined;
  event?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Cursor: only events with a smaller id (older). */
  before?: number | undefined;
  limit: number;
}

export function createAuditRepository(db: Database) {
  return {
    async insert(row: NewAuditEventRow): Promise<void> {
      await db.insert(auditEvents).values(row);
    },

    /** Newest first, by id (ids grow with time), so `before` is a stable cursor under concurrent writes. */
    list(query: AuditQuery): Promise<AuditEventRow[]> {
      const filters: (SQL | undefined)[] = [
        query.userId === undefined
          ? undefined
          : or(eq(auditEvents.subjectUserId, query.userId), eq(auditEvents.actorUserId, query.userId)),
        query.subjectUserId === undefined ? undefined : eq(auditEvents.subjectUserId, query.subjectUserId),
        query.event === undefined ? undefined : eq(auditEvents.event, query.event),
        query.since === undefined ? undefined : gte(auditEvents.at, query.since),
        query.until === undefined ? undefined : lte(auditEvents.at, query.until),
        query.before === undefined ? undefined : lt(auditEvents.id, query.before),
      ];
      return db
        .select()
        .from(auditEvents)
        .where(and(...filters))
        .orderBy(desc(auditEvents.id))
        .limit(query.limit);
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
