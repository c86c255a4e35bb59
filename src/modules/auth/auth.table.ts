import { index, integer, pgTable, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';
import { users } from '../users/users.table.js';

/**
 * Single-use tokens sent by email (password reset, email verification), stored only as SHA-256 hashes.
 * `email` pins a verification token to the address it was sent to, so it cannot verify a later one.
 */
export const oneTimeTokens = pgTable(
  'one_time_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: varchar('purpose', { length: 32 }).$type<'password_reset' | 'email_verification'>().notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull().unique('one_time_tokens_token_hash_key'),
    email: varchar('email', { length: 255 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('one_time_tokens_user_id_purpose_idx').on(t.userId, t.purpose)],
);

export type OneTimeTokenRow = typeof oneTimeTokens.$inferSelect;
