import { type Static, Type } from 'typebox';
import type { AuditEventRow } from './audit.table.js';

export const AuditEvent = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    actor_user_id: Type.Unsafe<number | null>({ type: ['integer', 'null'] }),
    subject_user_id: Type.Unsafe<number | null>({ type: ['integer', 'null'] }),
    event: Type.String({ examples: ['auth.login.succeeded'] }),
    ip: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
    user_agent: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
    request_id: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
    details: Type.Record(Type.String(), Type.Unknown()),
  },
  { title: 'AuditEvent', additionalProperties: false },
);

export const AuditEventList = Type.Array(AuditEvent, { title: 'AuditEventList' });

const pageFields = {
  before: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Cursor: events older than this id (the `X-Next-Before-Id` header).' }),
  ),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
};

export const OwnAuditQuery = Type.Object(pageFields);
export type OwnAuditQuery = Static<typeof OwnAuditQuery>;

export const AuditQuery = Type.Object({
  user_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Acting or acted upon.' })),
  event: Type.Optional(Type.String({ maxLength: 64, examples: ['auth.login.failed'] })),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  ...pageFields,
});
export type AuditQuery = Static<typeof AuditQuery>;

export function toAuditEventResponse(row: AuditEventRow) {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actor_user_id: row.actorUserId,
    subject_user_id: row.subjectUserId,
    event: row.event,
    ip: row.ip,
    user_agent: row.userAgent,
    request_id: row.requestId,
    details: row.details,
  };
}
