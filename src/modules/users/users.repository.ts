import { and, asc, count, eq, gt, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { foreignKeyViolation, uniqueViolation } from '../../db/errors.js';
import { usersErrors } from './users.errors.js';
import { type NewUserRow, type PublicUserRow, publicUserColumns, type UserRow, users } from './users.table.js';

export type UserPatch = Partial<
  Pick<
    NewUserRow,
    | 'email'
    | 'username'
    | 'hashedPassword'
    | 'firstName'
    | 'lastName'
    | 'isActive'
    | 'isSuperuser'
    | 'emailVerified'
    | 'role'
    | 'isApproved'
    | 'approvedAt'
    | 'approvedById'
    | 'companyName'
    | 'phone'
  >
>;

export interface ListUsersQuery {
  skip: number;
  limit: number;
  /** Keyset cursor: only ids above it (an index range scan, unlike a large offset). */
  after_id?: number | undefined;
  search?: string | undefined;
}

/** Turns a unique violation into the conflict the client can act on; anything else passes through. */
function mapConflict(error: unknown): never {
  const constraint = uniqueViolation(error);
  if (constraint !== undefined) {
    throw constraint.includes('username') ? usersErrors.usernameTaken() : usersErrors.emailTaken();
  }
  throw error;
}

const escapeLike = (term: string) => term.replace(/[\\%_]/g, (c) => `\\${c}`);

export function createUsersRepository(db: Database) {
  const byId = db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .prepare('users_by_id');

  // The unfiltered list is the common case: prepared once per connection, not parsed and planned per request.
  const firstPages = db
    .select(publicUserColumns)
    .from(users)
    .orderBy(asc(users.id))
    .offset(sql.placeholder('skip'))
    .limit(sql.placeholder('limit'))
    .prepare('users_list');
  const countAll = db.select({ total: count() }).from(users).prepare('users_count');

  /**
   * The same expression as the trigram index of migration 0003 (columns joined by chr(31), which no search
   * term contains), so PostgreSQL can answer `%term%` from the index.
   */
  function searchFilter(search: string | undefined): SQL | undefined {
    if (!search) return undefined;
    const pattern = `%${escapeLike(search)}%`;
    return sql`(coalesce(${users.username}, '') || chr(31) || coalesce(${users.email}, '') || chr(31) || coalesce(${users.firstName}, '') || chr(31) || coalesce(${users.lastName}, '')) ILIKE ${pattern}`;
  }

  return {
    async findById(id: number): Promise<UserRow | undefined> {
      const [row] = await byId.execute({ id });
      return row;
    },

    async getByIdOrThrow(id: number): Promise<UserRow> {
      const [row] = await byId.execute({ id });
      if (!row) throw usersErrors.notFound();
      return row;
    },

    /** `login` is a username or an email, both compared case-insensitively (usernames cannot hold '@'). */
    async findByLogin(login: string): Promise<UserRow | undefined> {
      const value = login.trim().toLowerCase();
      const column = value.includes('@') ? users.email : users.username;
      const [row] = await db.select().from(users).where(sql`lower(${column}) = ${value}`).limit(1);
      return row;
    },

    async create(values: NewUserRow): Promise<UserRow> {
      try {
        const [row] = await db.insert(users).values(values).returning();
        return row as UserRow;
      } catch (error) {
        return mapConflict(error);
      }
    },

    async update(id: number, patch: UserPatch): Promise<UserRow | undefined> {
      try {
        const [row] = await db
          .update(users)
          .set({ ...patch, updatedAt: sql`now()` })
          .where(eq(users.id, id))
          .returning();
        return row;
      } catch (error) {
        return mapConflict(error);
      }
    },

    /** A hash upgrade after login is not an edit of the account, so `updated_at` stays. */
    async replacePasswordHash(id: number, hashedPassword: string): Promise<void> {
      await db.update(users).set({ hashedPassword }).where(eq(users.id, id));
    },

    /** The delete is one statement: refused by a foreign key, it changes nothing (409). */
    async delete(id: number): Promise<boolean> {
      try {
        const rows = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
        return rows.length > 0;
      } catch (error) {
        const reference = foreignKeyViolation(error);
        if (reference) throw usersErrors.referenced(reference.table);
        throw error;
      }
    },

    async list(query: ListUsersQuery): Promise<{ items: PublicUserRow[]; total: number }> {
      const where = searchFilter(query.search);
      if (!where && query.after_id === undefined) {
        const [items, totals] = await Promise.all([
          firstPages.execute({ skip: query.skip, limit: query.limit }),
          countAll.execute(),
        ]);
        return { items, total: totals[0]?.total ?? 0 };
      }
      const page = query.after_id === undefined ? where : and(where, gt(users.id, query.after_id));
      const [items, totals] = await Promise.all([
        db
          .select(publicUserColumns)
          .from(users)
          .where(page)
          .orderBy(asc(users.id))
          .offset(query.skip)
          .limit(query.limit),
        db.select({ total: count() }).from(users).where(where),
      ]);
      return { items, total: totals[0]?.total ?? 0 };
    },

    /** Usernames (lower-cased) that start with `prefix`, regardless of case: to pick a free one. */
    async usernamesStartingWith(prefix: string): Promise<Set<string>> {
      const rows = await db
        .select({ username: sql<string>`lower(${users.username})` })
        .from(users)
        .where(sql`lower(${users.username}) LIKE ${`${escapeLike(prefix.toLowerCase())}%`}`);
      return new Set(rows.map((row) => row.username));
    },

    listSuperusers(): Promise<UserRow[]> {
      return db.select().from(users).where(eq(users.isSuperuser, true)).orderBy(asc(users.id));
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
