import { type Static, Type } from 'typebox';
import { OffsetPaginationFields, StringEnum } from '../../shared/schemas.js';
import {
  EmailField,
  PasswordField,
  PhoneField,
  RequiredCompanyNameField,
  RequiredNameField,
  RoleField,
} from '../users/users.schemas.js';
import { USER_ROLES } from '../users/users.table.js';
import { type InvitationStatus, type InvitationWithInviter, statusOf } from './invitations.repository.js';

const StatusField = StringEnum(['pending', 'used', 'expired', 'revoked'], {
  description: '`pending` (the link works), `used`, `expired` or `revoked`.',
});

const Timestamp = Type.String({ format: 'date-time', maxLength: 32, examples: ['2026-01-01T12:00:00.000Z'] });
const NullableTimestamp = Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date-time', maxLength: 32 });

/** The FastAPI service's InvitationResponse, plus `role`, `status` and `revoked_at`. Never the token. */
export const Invitation = Type.Object(
  {
    id: Type.Integer({ format: 'int32', minimum: 1, maximum: 2_147_483_647, examples: [1] }),
    email: Type.String({ format: 'email', maxLength: 255, examples: ['new.client@example.com'] }),
    role: RoleField,
    status: StatusField,
    invited_by_id: Type.Unsafe<number | null>({
      type: ['integer', 'null'],
      format: 'int32',
      minimum: 1,
      maximum: 2_147_483_647,
      description: 'Who sent the invitation (a resend keeps it); null once their account is deleted.',
    }),
    invited_by_name: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 201, examples: ['Ada Admin'] }),
    expires_at: Timestamp,
    used_at: NullableTimestamp,
    revoked_at: NullableTimestamp,
    created_at: Timestamp,
    is_expired: Type.Boolean({ description: 'The expiry has passed (whether or not the link was used).' }),
    is_used: Type.Boolean(),
    is_valid: Type.Boolean({ description: 'The link works: not used, not revoked, not expired.' }),
  },
  { title: 'Invitation', additionalProperties: false },
);
export type Invitation = Static<typeof Invitation>;

export const InvitationList = Type.Array(Invitation, { title: 'InvitationList', maxItems: 1000 });

export const InvitationListQuery = Type.Object({
  ...OffsetPaginationFields,
  status: Type.Optional(StatusField),
});
export type InvitationListQuery = Static<typeof InvitationListQuery>;

export const InvitationIdParams = Type.Object({
  invitation_id: Type.Integer({ format: 'int32', minimum: 1, maximum: 2_147_483_647, description: 'Invitation id.' }),
});

export const InvitationCreateBody = Type.Object(
  {
    email: EmailField,
    role: Type.Optional(
      StringEnum(USER_ROLES, {
        default: 'client',
        description: 'The role of the account the link creates; only a superuser may invite an `admin`.',
      }),
    ),
  },
  { title: 'InvitationCreate', additionalProperties: false },
);
export type InvitationCreateBody = Static<typeof InvitationCreateBody>;

export const BulkInvitationBody = Type.Object(
  {
    emails: Type.Array(EmailField, {
      minItems: 1,
      maxItems: 100,
      description: '1 to 100 addresses, each invited as a client.',
    }),
  },
  { title: 'BulkInvitationCreate', additionalProperties: false },
);
export type BulkInvitationBody = Static<typeof BulkInvitationBody>;

export const BulkInvitationResult = Type.Object(
  {
    successful: Type.Array(Type.String({ maxLength: 255 }), {
      maxItems: 100,
      description: 'Addresses invited (and emailed).',
    }),
    failed: Type.Array(
      Type.Object(
        {
          email: Type.String({ maxLength: 255 }),
          reason: Type.String({ maxLength: 255, examples: ['A user with this email already exists'] }),
          code: Type.String({ maxLength: 64, examples: ['invitations.user_exists'] }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
    total_sent: Type.Integer({ format: 'int32', minimum: 0, maximum: 100 }),
    total_failed: Type.Integer({ format: 'int32', minimum: 0, maximum: 100 }),
  },
  { title: 'BulkInvitationResult', additionalProperties: false },
);
export type BulkInvitationResult = Static<typeof BulkInvitationResult>;

export const InvitationTokenParams = Type.Object({
  token: Type.String({ maxLength: 256, description: 'The token of the link `CLIENT_PORTAL_URL/invitation/{token}`.' }),
});

export const InvitationValidation = Type.Object(
  {
    valid: Type.Boolean(),
    email: Type.Unsafe<string | null>({
      type: ['string', 'null'],
      maxLength: 255,
      description: 'The invited address, when the link works.',
      examples: ['new.client@example.com'],
    }),
    message: Type.Unsafe<string | null>({
      type: ['string', 'null'],
      maxLength: 100,
      description:
        'Why the link does not work: "Invalid invitation token", "This invitation has already been used" or "This invitation has expired".',
    }),
  },
  { title: 'InvitationValidation', additionalProperties: false },
);
export type InvitationValidation = Static<typeof InvitationValidation>;

export const InvitationAcceptBody = Type.Object(
  {
    first_name: RequiredNameField,
    last_name: RequiredNameField,
    password: PasswordField,
    company_name: RequiredCompanyNameField,
    phone: Type.Optional(PhoneField),
    username: Type.Optional(
      Type.String({
        minLength: 3,
        maxLength: 100,
        pattern: '^[A-Za-z0-9_.-]+$',
        description:
          'Default: made from the invited address (its local part, with a number added when taken). 3 to 100 letters, digits, `_`, `.` or `-`.',
      }),
    ),
  },
  { title: 'InvitationAccept', additionalProperties: false },
);
export type InvitationAcceptBody = Static<typeof InvitationAcceptBody>;

export const displayName = (person: { firstName: string | null; lastName: string | null; username: string }) =>
  `${person.firstName ?? ''} ${person.lastName ?? ''}`.trim() || person.username;

export function toInvitationResponse({ invitation, inviter }: InvitationWithInviter, now: Date): Invitation {
  const status: InvitationStatus = statusOf(invitation, now);
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    status,
    invited_by_id: invitation.invitedById,
    invited_by_name: inviter ? displayName(inviter) : null,
    expires_at: invitation.expiresAt.toISOString(),
    used_at: invitation.usedAt?.toISOString() ?? null,
    revoked_at: invitation.revokedAt?.toISOString() ?? null,
    created_at: invitation.createdAt.toISOString(),
    is_expired: invitation.expiresAt.getTime() <= now.getTime(),
    is_used: invitation.usedAt !== null,
    is_valid: status === 'pending',
  };
}
