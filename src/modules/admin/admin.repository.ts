import { and, count, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { foreignKeyViolation } from '../../db/errors.js';
import { usersErrors } from '../users/users.errors.js';
import { type UserRow, users } from '../users/users.table.js';

/** Clients waiting for an admin: superusers and admins never wait. */
const pending = and(eq(users.isApproved, false), eq(users.role, 'client'), eq(users.isSuperuser, false));

export function createAdminRepository(db: Database) {
  return {
    async listPending(query: { skip: number; limit: number }): Promise<{ items: UserRow[]; total: number }> {
      const [items, totals] = await Promise.all([
        db
          .select()
          .from(users)
          .where(pending)
          .orderBy(desc(users.createdAt), desc(users.id))
          .offset(query.skip)
          .limit(query.limit),
        db.select({ total: count() }).from(users).where(pending),
      ]);
      return { items, total: totals[0]?.total ?? 0 };
    },

    /** Approves only a user not approved yet: of two admins approving at once, one gets the row. */
    async approve(id: number, by: number, now: Date): Promise<UserRow | undefined> {
      const [row] = await db
        .update(users)
        .set({ isApproved: true, approvedAt: now, approvedById: by, updatedAt: sql`now()` })
        .where(and(eq(users.id, id), eq(users.isApproved, false)))
        .returning();
      return row;
    },

    /** Deletes only a user still waiting for approval; a foreign table's reference refuses it (409). */
    async deletePending(id: number): Promise<boolean> {
      try {
        const rows = await db
          .delete(users)
          .where(and(eq(users.id, id), eq(users.isApproved, false)))
          .returning({ id: users.id });
        return rows.length > 0;
      } catch (error) {
        const reference = foreignKeyViolation(error);
        if (reference) throw usersErrors.referenced(reference.table);
        throw error;
      }
    },

    /** Sets is_active when it differs; undefined when it already had that value (or the user is gone). */
    async setActive(id: number, active: boolean): Promise<UserRow | undefined> {
      const [row] = await db
        .update(users)
        .set({ isActive: active, updatedAt: sql`now()` })
        .where(and(eq(users.id, id), eq(users.isActive, !active)))
        .returning();
      return row;
    },
  };
}

export type AdminRepository = ReturnType<typeof createAdminRepository>;
