import { bigserial, index, integer, jsonb, pgTable, timestamp, varchar } from 'drizzle-orm/pg-core';

/**
 * Who did what, when. User ids are plain columns, not foreign keys: the history of a deleted user stays.
 * `details` never holds a password, token or hash.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorUserId: integer('actor_user_id'),
    subjectUserId: integer('subject_user_id'),
    event: varchar('event', { length: 64 }).notNull(),
    ip: varchar('ip', { length: 64 }),
    userAgent: varchar('user_agent', { length: 512 }),
    requestId: varchar('request_id', { length: 128 }),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_events_subject_user_id_id_idx').on(t.subjectUserId, t.id.desc()),
    index('audit_events_actor_user_id_id_idx').on(t.actorUserId, t.id.desc()),
    index('audit_events_event_id_idx').on(t.event, t.id.desc()),
    index('audit_events_at_idx').on(t.at),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
export type NewAuditEventRow = typeof auditEvents.$inferInsert;
