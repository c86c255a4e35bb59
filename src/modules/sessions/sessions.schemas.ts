import { Type } from 'typebox';
import type { SessionRow } from './sessions.table.js';

export const Session = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({ format: 'date-time', description: 'Absolute end of the session.' }),
    user_agent: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
    ip: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
    current: Type.Boolean({ description: 'True for the session of the token making this request.' }),
  },
  { title: 'Session', additionalProperties: false },
);

export const SessionList = Type.Array(Session, { title: 'SessionList' });

export const SessionIdParams = Type.Object({ session_id: Type.String({ format: 'uuid' }) });

export const RevokedResponse = Type.Object(
  { message: Type.String(), revoked: Type.Integer({ description: 'Sessions revoked.' }) },
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
