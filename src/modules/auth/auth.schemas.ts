import { type Static, Type } from 'typebox';
import { StringEnum } from '../../shared/schemas.js';
import {
  EmailField,
  NameField,
  PasswordField,
  PhoneField,
  RequiredCompanyNameField,
  RequiredNameField,
  UsernameField,
} from '../users/users.schemas.js';

export const RegisterBody = Type.Object(
  {
    email: EmailField,
    username: UsernameField,
    password: PasswordField,
    first_name: Type.Optional(NameField),
    last_name: Type.Optional(NameField),
  },
  { title: 'UserCreate', additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

/** The client portal's sign-up (the FastAPI service's ClientRegister): the username comes from the email. */
export const ClientRegisterBody = Type.Object(
  {
    email: EmailField,
    password: PasswordField,
    first_name: RequiredNameField,
    last_name: RequiredNameField,
    company_name: RequiredCompanyNameField,
    phone: Type.Optional(PhoneField),
  },
  { title: 'ClientRegister', additionalProperties: false },
);
export type ClientRegisterBody = Static<typeof ClientRegisterBody>;

// Login never rejects by the minimum length a password may predate; the 128 maximum is the contract's own (no
// account can hold a longer one), and refusing longer input bounds the hashing work.
const loginFields = {
  username: Type.String({ minLength: 1, maxLength: 255, description: 'Username or email.', examples: ['alice'] }),
  password: Type.String({ minLength: 1, maxLength: 128, examples: ['correct-horse-battery'] }),
};

export const LoginBody = Type.Object(loginFields, { title: 'LoginRequest', additionalProperties: false });
export type LoginBody = Static<typeof LoginBody>;

/** OAuth2 password grant form (RFC 6749 §4.3), as Swagger UI's "Authorize" dialog sends it. */
export const TokenForm = Type.Object(
  {
    ...loginFields,
    grant_type: Type.Optional(Type.String({ pattern: '^password$', maxLength: 8 })),
    scope: Type.Optional(Type.String({ maxLength: 1024 })),
    client_id: Type.Optional(Type.String({ maxLength: 1024 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { title: 'OAuth2PasswordRequestForm', additionalProperties: false },
);
export type TokenForm = Static<typeof TokenForm>;

export const TokenResponse = Type.Object(
  {
    access_token: Type.String({ maxLength: 2048, examples: ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...'] }),
    token_type: Type.Literal('bearer'),
    expires_in: Type.Integer({
      format: 'int32',
      minimum: 1,
      maximum: 2_147_483_647,
      description: 'Seconds until the access token expires.',
      examples: [1800],
    }),
    refresh_token: Type.String({
      maxLength: 256,
      description: 'Single use: POST it to /auth/refresh for a new pair. Keep it secret.',
      examples: ['q5Ck1vVfC0o3m7bJ0y0m6b2dQm8m9xZ2JtQeWk3Yq0A'],
    }),
  },
  { title: 'Token' },
);

const OpaqueToken = Type.String({ minLength: 1, maxLength: 256 });

export const RefreshBody = Type.Object(
  { refresh_token: OpaqueToken },
  { title: 'RefreshRequest', additionalProperties: false },
);
export type RefreshBody = Static<typeof RefreshBody>;

export const EmailBody = Type.Object({ email: EmailField }, { title: 'EmailRequest', additionalProperties: false });

export const ForgotPasswordBody = Type.Object(
  {
    email: EmailField,
    portal: Type.Optional(
      StringEnum(['client', 'admin'], {
        default: 'client',
        description: 'Which portal the reset link opens: CLIENT_PORTAL_URL or ADMIN_PORTAL_URL.',
      }),
    ),
  },
  { title: 'ForgotPasswordRequest', additionalProperties: false },
);

export const ResetPasswordBody = Type.Object(
  { token: OpaqueToken, new_password: PasswordField },
  { title: 'ResetPasswordRequest', additionalProperties: false },
);

export const VerifyEmailBody = Type.Object(
  { token: OpaqueToken },
  { title: 'VerifyEmailRequest', additionalProperties: false },
);

export const AcceptedResponse = Type.Object(
  {
    message: Type.String({
      maxLength: 256,
      examples: ['If the address belongs to an account, an email is on its way'],
    }),
  },
  { title: 'Accepted' },
);
