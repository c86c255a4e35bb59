import fp from 'fastify-plugin';
import type { DatabaseHandle } from '../db/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The database connection: readiness pings. Queries go through the services' repositories. */
    database: DatabaseHandle;
  }
}

/** Shares the database opened by the caller of buildApp; closing it stays the caller's job. */
export const databasePlugin = fp<{ database: DatabaseHandle }>(
  async (app, { database }) => {
    app.decorate('database', database);
  },
  { name: 'database', fastify: '5.x' },
);
