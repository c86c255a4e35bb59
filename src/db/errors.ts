interface PgErrorLike {
  code?: string;
  constraint?: string;
  message?: string;
  cause?: unknown;
}

/** Drizzle wraps driver errors (`DrizzleQueryError`); the PostgreSQL fields live on a `cause`. */
function* chain(error: unknown): Generator<PgErrorLike> {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    yield current as PgErrorLike;
    current = (current as PgErrorLike).cause;
  }
}

/** The constraint (index) name of a unique violation, or undefined when the error is something else. */
export function uniqueViolation(error: unknown): string | undefined {
  for (const e of chain(error)) {
    if (e.code === '23505') return e.constraint ?? '';
  }
  return undefined;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** True when the database could not be reached, as opposed to a query that failed. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
    const message = e.message ?? '';
    if (
      /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connect ECONNREFUSED|PGlite is closed|Cannot use a pool after calling end/i.test(
        message,
      )
    ) {
      return true;
    }
  }
  return false;
}
