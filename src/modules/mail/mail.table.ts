import { sql } from 'drizzle-orm';
import { bigserial, index, integer, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core';

/**
 * Outgoing email, written in the same request that decides to send it and delivered by a worker, so a
 * slow or failing SMTP server never delays or fails a request, and a restart loses nothing. Bodies are
 * cleared once sent: they may hold single-use links.
 */
export const emailOutbox = pgTable(
  'email_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    toAddress: varchar('to_address', { length: 255 }).notNull(),
    subject: varchar('subject', { length: 255 }).notNull(),
    textBody: text('text_body'),
    htmlBody: text('html_body'),
    status: varchar('status', { length: 16 }).$type<'pending' | 'sent' | 'failed'>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: varchar('last_error', { length: 1000 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [index('email_outbox_pending_idx').on(t.nextAttemptAt).where(sql`status = 'pending'`)],
);

export type EmailOutboxRow = typeof emailOutbox.$inferSelect;
