import { getTableColumns, sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  pgTable,
  serial,
  timestamp,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/pg-core';

export const USER_ROLES = ['client', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/**
 * The FastAPI service's `users` table, adopted in place (migration 0000) and then evolved: timestamps
 * became timestamptz (the old naive values were UTC), and usernames and emails are unique regardless of
 * case. Its original indexes are kept so that service could still run against the database. The client
 * portal columns (role, approval, company, phone) match the FastAPI service's 2026 schema (migration 0004).
 */
export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    email: varchar('email', { length: 255 }).notNull(),
    username: varchar('username', { length: 100 }).notNull(),
    hashedPassword: varchar('hashed_password', { length: 255 }).notNull(),
    firstName: varchar('first_name', { length: 100 }),
    lastName: varchar('last_name', { length: 100 }),
    isActive: boolean('is_active').notNull().default(true),
    isSuperuser: boolean('is_superuser').notNull().default(false),
    emailVerified: boolean('email_verified').notNull().default(false),
    role: varchar('role', { length: 50 }).$type<UserRole>().notNull().default('client'),
    isApproved: boolean('is_approved').notNull().default(true),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    approvedById: integer('approved_by_id'),
    companyName: varchar('company_name', { length: 255 }),
    phone: varchar('phone', { length: 50 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('ix_users_id').on(t.id),
    uniqueIndex('ix_users_email').on(t.email),
    uniqueIndex('ix_users_username').on(t.username),
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`),
    // The FastAPI service's constraint name, kept; it had no ON DELETE, so deleting an approver failed.
    foreignKey({ name: 'fk_users_approved_by_id', columns: [t.approvedById], foreignColumns: [t.id] }).onDelete(
      'set null',
    ),
    check('users_role_check', sql`${t.role} IN ('client', 'admin')`),
  ],
);

export type UserRow = typeof users.$inferSelect;

/** Every column but the password hash and the approver's id: what requests carry and lists show. */
const { hashedPassword: _hash, approvedById: _approver, ...publicColumns } = getTableColumns(users);
export const publicUserColumns = publicColumns;
export type PublicUserRow = Omit<UserRow, 'hashedPassword' | 'approvedById'>;
export type NewUserRow = typeof users.$inferInsert;
