import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * Runs one statement inside a span. The implementation lives with the tracing SDK, which is loaded only when
 * tracing is on; the database layer only knows this shape.
 */
export interface QueryTracer {
  trace<T>(statement: string, run: () => Promise<T>): Promise<T>;
}

type AnyFunction = (...args: unknown[]) => unknown;

/** The SQL of the first argument of `query(text | { text }, ...)`. */
function statementOf(first: unknown): string {
  if (typeof first === 'string') return first;
  const text = (first as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : '';
}

/**
 * The span has to start before the call: with a busy pool the driver runs the statement later, in the
 * asynchronous context of whichever request released the connection, so a span started inside the driver
 * could land in another request's trace.
 */
function tracedQuery(query: AnyFunction, tracer: QueryTracer): AnyFunction {
  return (...args) => {
    // Callback style (not used by this code base) is passed through untraced.
    if (typeof args.at(-1) === 'function') return query(...args);
    return tracer.trace(statementOf(args[0]), () => query(...args) as Promise<unknown>);
  };
}

/** A view of a checked-out client whose `query` is traced; the pool keeps the untouched client. */
function tracedClient<T extends object>(client: T, tracer: QueryTracer): T {
  const query = tracedQuery(((client as { query: AnyFunction }).query as AnyFunction).bind(client), tracer);
  return new Proxy(client, {
    get(target, key) {
      if (key === 'query') return query;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as AnyFunction).bind(target) : value;
    },
  });
}

/** Traces the pool's own queries and those of the clients it lends for transactions (node-postgres). */
export function tracePool(pool: pg.Pool, tracer: QueryTracer): void {
  const target = pool as unknown as { query: AnyFunction; connect: AnyFunction };
  target.query = tracedQuery(target.query.bind(pool), tracer);
  const connect = target.connect.bind(pool);
  target.connect = (...args) => {
    if (typeof args[0] === 'function') return connect(...args);
    return (connect() as Promise<pg.PoolClient>).then((client) => tracedClient(client, tracer));
  };
}

/** Traces the embedded database's queries, inside transactions too. */
export function tracePglite(client: PGlite, tracer: QueryTracer): void {
  const target = client as unknown as { query: AnyFunction; transaction: AnyFunction };
  target.query = tracedQuery(target.query.bind(client), tracer);
  const transaction = target.transaction.bind(client);
  target.transaction = (callback: unknown) =>
    transaction((tx: Transaction) => (callback as (tx: Transaction) => unknown)(tracedClient(tx, tracer)));
}
