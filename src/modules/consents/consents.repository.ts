import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type ConsentDocument, type NewUserConsentRow, type UserConsentRow, userConsents } from './consents.table.js';

export function createConsentsRepository(db: Database) {
  return {
    /** The latest acceptance of a document by a user, or undefined. */
    async latest(userId: number, document: ConsentDocument): Promise<UserConsentRow | undefined> {
      const [row] = await db
        .select()
        .from(userConsents)
        .where(and(eq(userConsents.userId, userId), eq(userConsents.documentType, document)))
        .orderBy(desc(userConsents.acceptedAt), desc(userConsents.id))
        .limit(1);
      return row;
    },

    /** Appends; acceptances are never updated or deleted (but with the account). */
    async append(rows: NewUserConsentRow[]): Promise<void> {
      if (rows.length > 0) await db.insert(userConsents).values(rows);
    },
  };
}

export type ConsentsRepository = ReturnType<typeof createConsentsRepository>;
