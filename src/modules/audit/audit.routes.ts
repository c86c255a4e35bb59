import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { ErrorResponse } from '../../shared/schemas.js';
import { AuditEventList, AuditQuery, OwnAuditQuery, toAuditEventResponse } from './audit.schemas.js';
import type { AuditEventRow } from './audit.table.js';

const authErrors = { 401: ErrorResponse, 422: ErrorResponse };

/** A full page may have more behind it: the next page starts before its last id. */
function page(reply: FastifyReply, rows: AuditEventRow[], limit: number) {
  const last = rows.at(-1);
  if (rows.length === limit && last) reply.header('x-next-before-id', String(last.id));
  return rows.map(toAuditEventResponse);
}

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { audit } = app.services;

  app.get(
    '/audit-events',
    {
      onRequest: [app.authenticate, app.requireSuperuser],
      schema: {
        operationId: 'listAuditEvents',
        tags: ['audit'],
        summary: 'Audit events (superuser)',
        description:
          'Newest first. For the next page pass `before` = the `X-Next-Before-Id` header (absent on the last page).',
        querystring: AuditQuery,
        response: { 200: AuditEventList, 403: ErrorResponse, ...authErrors },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const rows = await audit.list({
        userId: q.user_id,
        event: q.event,
        since: q.since === undefined ? undefined : new Date(q.since),
        until: q.until === undefined ? undefined : new Date(q.until),
        before: q.before,
        limit: q.limit,
      });
      return page(reply, rows, q.limit);
    },
  );

  app.get(
    '/users/me/audit-events',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'listMyAuditEvents',
        tags: ['audit'],
        summary: 'My account history',
        description: 'Events about the current user, newest first; paginated like /audit-events.',
        querystring: OwnAuditQuery,
        response: { 200: AuditEventList, ...authErrors },
      },
    },
    async (request, reply) => {
      const { before, limit } = request.query;
      return page(reply, await audit.list({ subjectUserId: request.user.id, before, limit }), limit);
    },
  );
};
