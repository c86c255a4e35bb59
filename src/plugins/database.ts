import fp from 'fastify-plugin';
import type { Database, DatabaseHandle } from '../db/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Drizzle database; repositories take it as their first argument. */
    db: Database;
    /** The connection itself: readiness pings and shutdown. */
    database: DatabaseHandle;
  }
}

/** Shares the database opened by the caller of buildApp; closing it stays the caller's job. */
export const databasePlugin = fp<{ database: DatabaseHandle }>(
  async (app, { database }) => {
    app.decorate('database', database);
    app.decorate('db', database.db);
  },
  { name: 'database', fastify: '5.x' },
);
