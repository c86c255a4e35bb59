import { type Static, Type } from 'typebox';
import type { AuditEventRow } from './audit.table.js';

const USER_ID = { format: 'int32', minimum: 1, maximum: 2_147_483_647 };

export const AuditEvent = Type.Object(
  {
    id: Type.Integer({ format: 'int64', minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    at: Type.String({ format: 'date-time', maxLength: 32 }),
    actor_user_id: Type.Unsafe<number | null>({ type: ['integer', 'null'], ...USER_ID }),
    subject_user_id: Type.Unsafe<number | null>({ type: ['integer', 'null'], ...USER_ID }),
    event: Type.String({ maxLength: 64, examples: ['auth.login.succeeded'] }),
    ip: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 64 }),
    user_agent: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 512 }),
    request_id: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 128 }),
    details: Type.Record(Type.String(), Type.Unknown()),
  },
  { title: 'AuditEvent', additionalProperties: false },
);

export const AuditEventList = Type.Array(AuditEvent, { title: 'AuditEventList', maxItems: 500 });

const pageFields = {
  before: Type.Optional(
    Type.Integer({
      format: 'int64',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Cursor: events older than this id (the `X-Next-Before-Id` header).',
    }),
  ),
  limit: Type.Integer({ format: 'int32', minimum: 1, maximum: 500, default: 100 }),
};

export const OwnAuditQuery = Type.Object(pageFields);
export type OwnAuditQuery = Static<typeof OwnAuditQuery>;

export const AuditQuery = Type.Object({
  user_id: Type.Optional(Type.Integer({ ...USER_ID, description: 'Acting or acted upon.' })),
  event: Type.Optional(Type.String({ maxLength: 64, examples: ['auth.login.failed'] })),
  since: Type.Optional(Type.String({ format: 'date-time', maxLength: 64 })),
  until: Type.Optional(Type.String({ format: 'date-time', maxLength: 64 })),
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
