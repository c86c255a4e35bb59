import { type TestContext, testPasswordHasher } from './test-app.js';

/** Who can be calling a route: nobody, a user, a user deactivated since they logged in, a superuser. */
export const ACTORS = ['anonymous', 'user', 'inactive', 'superuser'] as const;
export type ActorName = (typeof ACTORS)[number];

export interface SignedInUser {
  id: number;
  username: string;
  email: string;
  sessionId: string;
  token: string;
  refreshToken: string;
}

export interface Actors {
  /** Everyone's password (one argon2id hash with the test app's parameters, computed once per file). */
  password: string;
  user: SignedInUser;
  inactive: SignedInUser;
  superuser: SignedInUser;
  /** A plain user none of the actors is: the object of their requests. */
  other: SignedInUser;
  /** The Authorization header of an actor (none for `anonymous`). */
  headers(actor: ActorName): Record<string, string>;
  /** A further session of a user, as a login would start it. */
  startSession(userId: number): Promise<{ sessionId: string; token: string; refreshToken: string }>;
}

export const ACTOR_PASSWORD = 'actor-password-0123';
let hashed: Promise<string> | undefined;

/**
 * The four kinds of caller, cheaply: the rows go straight into the table with one precomputed hash, and
 * sessions and tokens are made by the real services, as a login makes them (a login per actor would cost
 * an argon2 verification each, in every test).
 */
export async function createActors(ctx: TestContext): Promise<Actors> {
  hashed ??= testPasswordHasher().hash(ACTOR_PASSWORD);
  const hash = await hashed;
  const { sessions, accessTokens } = ctx.app.services;
  const meta = { ip: '127.0.0.1', userAgent: 'security-battery', requestId: 'arrange' };

  async function startSession(userId: number) {
    const { session, refreshToken } = await sessions.start(userId, meta);
    const { access_token: token } = await accessTokens.issue({ userId, sessionId: session.id });
    return { sessionId: session.id, token, refreshToken };
  }

  async function insert(username: string, flags: { superuser?: boolean } = {}): Promise<SignedInUser> {
    const email = `${username}@example.com`;
    const [row] = await ctx.database.query<{ id: number }>(
      'INSERT INTO users (email, username, hashed_password, is_superuser) VALUES ($1, $2, $3, $4) RETURNING id',
      [email, username, hash, flags.superuser ?? false],
    );
    if (!row) throw new Error(`could not insert ${username}`);
    return { id: row.id, username, email, ...(await startSession(row.id)) };
  }

  const user = await insert('matrix-user');
  const inactive = await insert('matrix-inactive');
  const superuser = await insert('matrix-admin', { superuser: true });
  const other = await insert('matrix-other');
  // Deactivated after logging in: the token it holds must stop working.
  await ctx.database.query('UPDATE users SET is_active = false WHERE id = $1', [inactive.id]);

  const byName = { user, inactive, superuser };
  return {
    password: ACTOR_PASSWORD,
    user,
    inactive,
    superuser,
    other,
    headers: (actor): Record<string, string> =>
      actor === 'anonymous' ? {} : { authorization: `Bearer ${byName[actor].token}` },
    startSession,
  };
}
