import { and, count, desc, eq, gt, isNotNull, isNull, lte, ne, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { users } from '../users/users.table.js';
import { type InvitationRow, invitations, type NewInvitationRow } from './invitations.table.js';

export const INVITATION_STATUSES = ['pending', 'used', 'expired', 'revoked'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

export interface Inviter {
  firstName: string | null;
  lastName: string | null;
  username: string;
}

/** An invitation and who sent it (null once their account is deleted). */
export interface InvitationWithInviter {
  invitation: InvitationRow;
  inviter: Inviter | null;
}

const open = and(isNull(invitations.usedAt), isNull(invitations.revokedAt));

/** The same precedence as `statusOf`: used, then revoked, then expired; `now` comes from the clock. */
function statusFilter(status: InvitationStatus, now: Date): SQL | undefined {
  switch (status) {
    case 'used':
      return isNotNull(invitations.usedAt);
    case 'revoked':
      return and(isNull(invitations.usedAt), isNotNull(invitations.revokedAt));
    case 'expired':
      return and(open, lte(invitations.expiresAt, now));
    case 'pending':
      return and(open, gt(invitations.expiresAt, now));
  }
}

export function statusOf(row: InvitationRow, now: Date): InvitationStatus {
  if (row.usedAt) return 'used';
  if (row.revokedAt) return 'revoked';
  return row.expiresAt.getTime() <= now.getTime() ? 'expired' : 'pending';
}

const sameEmail = (email: string) => sql`lower(${invitations.email}) = ${email.trim().toLowerCase()}`;

export function createInvitationsRepository(db: Database) {
  // The inviter's columns are selected flat: Drizzle turns a left-joined nested object into null when its
  // first column is null, which would hide an inviter without a first name.
  const withInviter = () =>
    db
      .select({
        invitation: invitations,
        inviterUsername: users.username,
        inviterFirstName: users.firstName,
        inviterLastName: users.lastName,
      })
      .from(invitations)
      .leftJoin(users, eq(users.id, invitations.invitedById));

  const toWithInviter = (row: {
    invitation: InvitationRow;
    inviterUsername: string | null;
    inviterFirstName: string | null;
    inviterLastName: string | null;
  }): InvitationWithInviter => ({
    invitation: row.invitation,
    inviter:
      row.inviterUsername === null
        ? null
        : { username: row.inviterUsername, firstName: row.inviterFirstName, lastName: row.inviterLastName },
  });

  return {
    /** Newest first, optionally one status only. */
    async list(
      query: { skip: number; limit: number; status?: InvitationStatus | undefined },
      now: Date,
    ): Promise<{ items: InvitationWithInviter[]; total: number }> {
      const where = query.status ? statusFilter(query.status, now) : undefined;
      const [items, totals] = await Promise.all([
        withInviter()
          .where(where)
          .orderBy(desc(invitations.createdAt), desc(invitations.id))
          .offset(query.skip)
          .limit(query.limit),
        db.select({ total: count() }).from(invitations).where(where),
      ]);
      return { items: items.map(toWithInviter), total: totals[0]?.total ?? 0 };
    },

    async findById(id: number): Promise<InvitationWithInviter | undefined> {
      const [row] = await withInviter().where(eq(invitations.id, id));
      return row && toWithInviter(row);
    },

    async findByTokenHash(tokenHash: string): Promise<InvitationRow | undefined> {
      const [row] = await db.select().from(invitations).where(eq(invitations.tokenHash, tokenHash));
      return row;
    },

    /** A link for this address that still works (other than `exceptId`), regardless of case. */
    async findPendingByEmail(email: string, now: Date, exceptId?: number): Promise<InvitationRow | undefined> {
      const [row] = await db
        .select()
        .from(invitations)
        .where(
          and(
            sameEmail(email),
            open,
            gt(invitations.expiresAt, now),
            exceptId === undefined ? undefined : ne(invitations.id, exceptId),
          ),
        )
        .limit(1);
      return row;
    },

    /**
     * Serializes, until the transaction ends, everything that invites this address: without it two admins
     * inviting the same address at once would both find no pending invitation and both send one.
     */
    async lockEmail(email: string): Promise<void> {
      await db.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`invitation:${email.trim().toLowerCase()}`}))`);
    },

    async insert(values: NewInvitationRow): Promise<InvitationRow> {
      const [row] = await db.insert(invitations).values(values).returning();
      return row as InvitationRow;
    },

    /** A new token and expiry for an invitation still open; the inviter stays who it was. */
    async renew(id: number, tokenHash: string, expiresAt: Date): Promise<InvitationRow | undefined> {
      const [row] = await db
        .update(invitations)
        .set({ tokenHash, expiresAt })
        .where(and(eq(invitations.id, id), open))
        .returning();
      return row;
    },

    async revoke(id: number, now: Date): Promise<InvitationRow | undefined> {
      const [row] = await db
        .update(invitations)
        .set({ revokedAt: now })
        .where(and(eq(invitations.id, id), open))
        .returning();
      return row;
    },

    /**
     * Marks the link used if it still works, in one statement: of two accepts at once, the second waits for
     * the first's transaction and then finds the row used (or open again, if the first rolled back).
     */
    async spend(tokenHash: string, now: Date): Promise<InvitationRow | undefined> {
      const [row] = await db
        .update(invitations)
        .set({ usedAt: now })
        .where(and(eq(invitations.tokenHash, tokenHash), open, gt(invitations.expiresAt, now)))
        .returning();
      return row;
    },
  };
}

export type InvitationsRepository = ReturnType<typeof createInvitationsRepository>;
