import { Type } from 'typebox';
import type { SessionRow } from './sessions.table.js';

/** A list of sessions is bounded like every other list the API returns. */
export const SESSIONS_LISTED = 1000;

export const Session = Type.Object(
  {
    id: Type.String({ format: 'uuid', maxLength: 36 }),
    created_at: Type.String({ format: 'date-time', maxLength: 32 }),
    last_used_at: Type.String({ format: 'date-time', maxLength: 32 }),
    expires_at: Type.String({ format: 'date-time', maxLength: 32, description: 'Absolute end of the session.' }),
    user_agent: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 512 }),
    ip: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 64 }),
    current: Type.Boolean({ description: 'True for the session of the token making this request.' }),
  },
  { title: 'Session', additionalProperties: false },
);

export const SessionList = Type.Array(Session, {
  title: 'SessionList',
  maxItems: SESSIONS_LISTED,
  description: `The ${SESSIONS_LISTED} most recently started active sessions.`,
});

export const SessionIdParams = Type.Object({ session_id: Type.String({ format: 'uuid', maxLength: 36 }) });

export const RevokedResponse = Type.Object(
  {
    message: Type.String({ maxLength: 256 }),
    revoked: Type.Integer({ format: 'int32', minimum: 0, maximum: 2_147_483_647, description: 'Sessions revoked.' }),
  },
  { title: 'Revoked' },
);

export function toSessionResponse(row: SessionRow, currentSessionId: string | undefined) {
  return {
    id: row.id,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    user_agent: row.userAgent,
    ip: row.ip,
    current: row.id === currentSessionId,
  };
}
