import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { userFeatures } from './features.table.js';

export function createFeaturesRepository(db: Database) {
  return {
    /** The flags stored for a user (keys without a row are absent). */
    async flagsOf(userId: number): Promise<Record<string, boolean>> {
      const rows = await db
        .select({ key: userFeatures.featureKey, enabled: userFeatures.enabled })
        .from(userFeatures)
        .where(eq(userFeatures.userId, userId));
      return Object.fromEntries(rows.map((row) => [row.key, row.enabled]));
    },

    /** Sets the given flags in one statement; keys not given stay as they are. */
    async upsert(userId: number, flags: Record<string, boolean>, now: Date): Promise<void> {
      const entries = Object.entries(flags);
      if (entries.length === 0) return;
      await db
        .insert(userFeatures)
        .values(entries.map(([featureKey, enabled]) => ({ userId, featureKey, enabled, createdAt: now })))
        .onConflictDoUpdate({
          target: [userFeatures.userId, userFeatures.featureKey],
          set: { enabled: sql`excluded.enabled`, updatedAt: now },
        });
    },

    /** Adds the flags a user has no row for yet; flags already set (before approval, say) are kept. */
    async addMissing(userId: number, flags: Record<string, boolean>, now: Date): Promise<void> {
      const entries = Object.entries(flags);
      if (entries.length === 0) return;
      await db
        .insert(userFeatures)
        .values(entries.map(([featureKey, enabled]) => ({ userId, featureKey, enabled, createdAt: now })))
        .onConflictDoNothing({ target: [userFeatures.userId, userFeatures.featureKey] });
    },
  };
}

export type FeaturesRepository = ReturnType<typeof createFeaturesRepository>;
