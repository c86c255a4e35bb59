import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { type OneTimeTokenRow, oneTimeTokens } from './auth.table.js';

export type OneTimePurpose = OneTimeTokenRow['purpose'];

/** A token that may be spent now: of that purpose, unused and unexpired. Reading and spending agree on it. */
const usable = (tokenHash: string, purpose: OneTimePurpose, now: Date) =>
  and(
    eq(oneTimeTokens.tokenHash, tokenHash),
    eq(oneTimeTokens.purpose, purpose),
    isNull(oneTimeTokens.usedAt),
    gt(oneTimeTokens.expiresAt, now),
  );

export function createAuthRepository(db: Database) {
  return {
    async createOneTimeToken(values: {
      userId: number;
      purpose: OneTimePurpose;
      tokenHash: string;
      email: string;
      expiresAt: Date;
      createdAt: Date;
    }): Promise<void> {
      await db.insert(oneTimeTokens).values(values);
    },

    /** Reads a token that could be spent now, without spending it. */
    async findUsableOneTimeToken(
      tokenHash: string,
      purpose: OneTimePurpose,
      now: Date,
    ): Promise<OneTimeTokenRow | undefined> {
      const [row] = await db
        .select()
        .from(oneTimeTokens)
        .where(usable(tokenHash, purpose, now))
        .limit(1);
      return row;
    },

    /**
     * Spends a token: only an unused, unexpired token of that purpose matches, and marking it used in the
     * same statement means two requests with one token cannot both succeed.
     */
    async consumeOneTimeToken(
      tokenHash: string,
      purpose: OneTimePurpose,
      now: Date,
    ): Promise<OneTimeTokenRow | undefined> {
      const [row] = await db
        .update(oneTimeTokens)
        .set({ usedAt: now })
        .where(usable(tokenHash, purpose, now))
        .returning();
      return row;
    },

    /** Spends every outstanding token of a purpose (older reset links die once one was used). */
    async consumeAll(userId: number, purpose: OneTimePurpose, now: Date): Promise<void> {
      await db
        .update(oneTimeTokens)
        .set({ usedAt: now })
        .where(and(eq(oneTimeTokens.userId, userId), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt)));
    },
  };
}

export type AuthRepository = ReturnType<typeof createAuthRepository>;
