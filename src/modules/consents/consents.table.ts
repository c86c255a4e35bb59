import { foreignKey, index, integer, pgTable, serial, timestamp, varchar } from 'drizzle-orm/pg-core';
import { users } from '../users/users.table.js';

export type ConsentDocument = 'terms' | 'privacy';

/**
 * Acceptances of the terms and privacy documents, append-only: a new version accepted is a new row, so
 * the history of what a user agreed to, when and from where, stays. Names as the FastAPI service had them.
 */
export const userConsents = pgTable(
  'user_consents',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id').notNull(),
    documentType: varchar('document_type', { length: 16 }).$type<ConsentDocument>().notNull(),
    documentVersion: varchar('document_version', { length: 32 }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }).notNull().defaultNow(),
    ipAddress: varchar('ip_address', { length: 45 }),
    userAgent: varchar('user_agent', { length: 512 }),
  },
  (t) => [
    foreignKey({ name: 'user_consents_user_id_fkey', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'cascade',
    ),
    index('ix_user_consents_id').on(t.id),
    index('ix_user_consents_user_id').on(t.userId),
    index('ix_user_consents_user_doc').on(t.userId, t.documentType),
    index('ix_user_consents_accepted_at').on(t.acceptedAt),
  ],
);

export type UserConsentRow = typeof userConsents.$inferSelect;
export type NewUserConsentRow = typeof userConsents.$inferInsert;
