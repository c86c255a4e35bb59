import { sql } from 'drizzle-orm';
import { foreignKey, index, integer, pgTable, serial, timestamp, uniqueIndex, varchar } from 'drizzle-orm/pg-core';
import { type UserRole, users } from '../users/users.table.js';

/**
 * Invitations to create an account. Only the SHA-256 of a token is stored (the FastAPI service kept the
 * plaintext; migration 0004 hashes its rows in place). The inviter is kept as long as their account exists:
 * deleting them keeps the invitation and forgets who sent it.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: serial('id').primaryKey(),
    email: varchar('email', { length: 255 }).notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull(),
    role: varchar('role', { length: 50 }).$type<UserRole>().notNull().default('client'),
    invitedById: integer('invited_by_id'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('invitations_token_hash_key').on(t.tokenHash),
    foreignKey({
      name: 'invitations_invited_by_id_fkey',
      columns: [t.invitedById],
      foreignColumns: [users.id],
    }).onDelete('set null'),
    index('ix_invitations_id').on(t.id),
    index('ix_invitations_email').on(t.email),
    index('invitations_email_lower_idx').on(sql`lower(${t.email})`),
  ],
);

export type InvitationRow = typeof invitations.$inferSelect;
export type NewInvitationRow = typeof invitations.$inferInsert;
