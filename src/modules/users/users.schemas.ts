import { type Static, Type } from 'typebox';
import { OffsetPaginationFields, StringEnum } from '../../shared/schemas.js';
import { type PublicUserRow, USER_ROLES } from './users.table.js';

/**
 * Field rules shared by every request shape. `transform` (ajv-keywords) trims and lower-cases an email
 * before `format` checks it, so " Alice@Example.COM " is accepted and stored as "alice@example.com"; the
 * OpenAPI document leaves the keyword out (it is not JSON Schema) and says so in the description.
 */
export const EmailField = Type.String({
  transform: ['trim', 'toLowerCase'],
  format: 'email',
  maxLength: 255,
  description: 'Surrounding spaces are removed and the address is lower-cased before it is checked and stored.',
  examples: ['alice@example.com'],
});
export const UsernameField = Type.String({
  minLength: 3,
  maxLength: 100,
  pattern: '^[A-Za-z0-9_.-]+$',
  description: '3 to 100 letters, digits, `_`, `.` or `-`; unique regardless of case.',
  examples: ['alice'],
});
export const PasswordField = Type.String({
  minLength: 8,
  maxLength: 128,
  description: '8 to 128 characters; every character counts.',
  examples: ['correct-horse-battery'],
});
export const NameField = Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 100, examples: ['Alice'] });
export const CompanyNameField = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  maxLength: 255,
  examples: ['WindCo'],
});
/** The client portal's account forms (sign-up, invitation acceptance) require a name and a company. */
export const RequiredNameField = Type.String({ minLength: 1, maxLength: 100 });
export const RequiredCompanyNameField = Type.String({ minLength: 1, maxLength: 255, examples: ['WindCo'] });
export const PhoneField = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  maxLength: 50,
  examples: ['+45 20 12 34 56'],
});
export const RoleField = StringEnum(USER_ROLES, {
  description: '`client` (the default) or `admin`; `is_superuser` is a separate flag above both.',
});

export const User = Type.Object(
  {
    id: Type.Integer({ format: 'int32', minimum: 1, maximum: 2_147_483_647, examples: [1] }),
    email: Type.String({ format: 'email', maxLength: 255, examples: ['alice@example.com'] }),
    username: Type.String({ maxLength: 100, examples: ['alice'] }),
    first_name: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 100, examples: ['Alice'] }),
    last_name: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 100, examples: ['Smith'] }),
    is_active: Type.Boolean(),
    is_superuser: Type.Boolean(),
    email_verified: Type.Boolean({ description: 'Whether the address was confirmed through its verification link.' }),
    role: RoleField,
    is_approved: Type.Boolean({ description: 'Whether an admin approved the account (or it needed no approval).' }),
    approved_at: Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date-time', maxLength: 32 }),
    company_name: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 255, examples: ['WindCo'] }),
    phone: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 50, examples: ['+45 20 12 34 56'] }),
    created_at: Type.String({ format: 'date-time', maxLength: 32, examples: ['2026-01-01T12:00:00.000Z'] }),
    updated_at: Type.String({ format: 'date-time', maxLength: 32, examples: ['2026-01-01T12:00:00.000Z'] }),
  },
  { title: 'User', additionalProperties: false },
);
export type User = Static<typeof User>;

export const UserList = Type.Array(User, { title: 'UserList', maxItems: 1000 });

export const FeatureMap = Type.Record(Type.String(), Type.Boolean(), {
  title: 'FeatureMap',
  description: 'Every allowed feature key (USER_FEATURES) and whether it is on.',
  examples: [{ can_view_dashboard: true, can_export_data: false }],
});
export type FeatureMap = Static<typeof FeatureMap>;

/** The current user, with their effective feature flags (admins and superusers have every feature). */
export const CurrentUser = Type.Object(
  { ...User.properties, features: FeatureMap },
  { title: 'CurrentUser', additionalProperties: false },
);
export type CurrentUser = Static<typeof CurrentUser>;

const ownFields = {
  email: Type.Optional(EmailField),
  username: Type.Optional(UsernameField),
  first_name: Type.Optional(NameField),
  last_name: Type.Optional(NameField),
  company_name: Type.Optional(CompanyNameField),
  phone: Type.Optional(PhoneField),
  password: Type.Optional(PasswordField),
};

export const UserUpdateMe = Type.Object(
  {
    ...ownFields,
    current_password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Required together with `password`.' }),
    ),
  },
  { title: 'UserUpdateMe', additionalProperties: false },
);
export type UserUpdateMe = Static<typeof UserUpdateMe>;

export const UserUpdate = Type.Object(
  {
    ...ownFields,
    is_active: Type.Optional(Type.Boolean()),
    is_superuser: Type.Optional(Type.Boolean()),
    role: Type.Optional(RoleField),
  },
  { title: 'UserUpdate', additionalProperties: false },
);
export type UserUpdate = Static<typeof UserUpdate>;

export const ChangePasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 128 }), new_password: PasswordField },
  { title: 'ChangePasswordRequest', additionalProperties: false },
);

export const UserIdParams = Type.Object({
  user_id: Type.Integer({ format: 'int32', minimum: 1, maximum: 2_147_483_647, description: 'User id.' }),
});

export const ListUsersQuery = Type.Object({
  ...OffsetPaginationFields,
  after_id: Type.Optional(
    Type.Integer({
      format: 'int32',
      minimum: 0,
      maximum: 2_147_483_647,
      description:
        'Keyset pagination: users with a larger id. Pass the `X-Next-After-Id` header of the previous page; as fast on the last page as on the first. Not together with `skip`.',
    }),
  ),
  search: Type.Optional(
    Type.String({
      maxLength: 255,
      description: 'Case-insensitive substring of username, email, first or last name.',
    }),
  ),
});
export type ListUsersQuery = Static<typeof ListUsersQuery>;

export const MessageResponse = Type.Object(
  { message: Type.String({ maxLength: 256, examples: ['User deleted successfully'] }) },
  { title: 'Message' },
);

/** The only way a user leaves the service: listed fields, never the password hash. */
export function toUserResponse(row: PublicUserRow): User {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    first_name: row.firstName,
    last_name: row.lastName,
    is_active: row.isActive,
    is_superuser: row.isSuperuser,
    email_verified: row.emailVerified,
    role: row.role,
    is_approved: row.isApproved,
    approved_at: row.approvedAt?.toISOString() ?? null,
    company_name: row.companyName,
    phone: row.phone,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
