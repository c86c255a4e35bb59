import { boolean, foreignKey, index, integer, pgTable, serial, timestamp, unique, varchar } from 'drizzle-orm/pg-core';
import { users } from '../users/users.table.js';

/**
 * Per-user feature flags, as the FastAPI service's client portal stored them (its constraint and index
 * names are kept, so its database is adopted in place). A missing row means the configured default.
 */
export const userFeatures = pgTable(
  'user_features',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id').notNull(),
    featureKey: varchar('feature_key', { length: 100 }).notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }),
  },
  (t) => [
    foreignKey({ name: 'user_features_user_id_fkey', columns: [t.userId], foreignColumns: [users.id] }).onDelete(
      'cascade',
    ),
    unique('uq_user_feature').on(t.userId, t.featureKey),
    index('ix_user_features_id').on(t.id),
    index('ix_user_features_feature_key').on(t.featureKey),
    index('ix_user_features_user_id').on(t.userId),
  ],
);

export type UserFeatureRow = typeof userFeatures.$inferSelect;
export type NewUserFeatureRow = typeof userFeatures.$inferInsert;
