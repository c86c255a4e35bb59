import type { Clock } from '../../shared/clock.js';
import type { PasswordHasher } from '../../shared/password-hasher.js';
import type { PasswordPolicy } from '../../shared/password-policy.js';
import type { AuditService, RequestMeta } from '../audit/audit.service.js';
import type { EmailVerifier } from '../auth/account-emails.service.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import { usersErrors } from './users.errors.js';
import type { ListUsersQuery, UserPatch, UsersRepository } from './users.repository.js';
import type { UserUpdate, UserUpdateMe } from './users.schemas.js';
import type { PublicUserRow, UserRole, UserRow } from './users.table.js';

export interface NewUser {
  email: string;
  username: string;
  password: string;
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
  company_name?: string | null | undefined;
  phone?: string | null | undefined;
  is_superuser?: boolean;
}

export interface CreateUserOptions {
  /** The address is already proven (an invitation link, the CLI): no verification email. */
  emailVerified?: boolean;
  role?: UserRole;
  /** Default: approved when REGISTRATION_MODE is open, and always for superusers. */
  approved?: boolean;
  approvedById?: number | null;
}

/** What the users module needs of the feature flags; narrow so users does not depend on features. */
export interface FeatureGranter {
  grantDefaults(userId: number): Promise<void>;
}

export interface UserLookup {
  email?: string | undefined;
  username?: string | undefined;
}

export type RegistrationMode = 'open' | 'approval' | 'invite_only';

/**
 * A username for an account that did not choose one (client sign-up, accepted invitation): the email's local part
 * with only the allowed characters, at least 3 of them, and unique regardless of case with the first free numeric
 * suffix (alice, alice1, alice2...). Two accounts may derive the same name at once; the caller retries on the
 * `users.username_taken` conflict.
 */
export async function deriveUsername(
  email: string,
  usersRepository: Pick<UsersRepository, 'usernamesStartingWith'>,
): Promise<string> {
  let base = (email.split('@')[0] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '')
    .slice(0, 90);
  if (base.length < 3) base = `${base}${base ? '_' : ''}user`.slice(0, 90);
  const taken = await usersRepository.usernamesStartingWith(base);
  if (!taken.has(base)) return base;
  for (let n = 1; ; n++) if (!taken.has(`${base}${n}`)) return `${base}${n}`;
}

/** Copies the fields present in a partial update into the repository's column names. */
function toPatch(input: Omit<UserUpdate, 'password'>): UserPatch {
  const patch: UserPatch = {};
  if (input.email !== undefined) patch.email = input.email.trim().toLowerCase();
  if (input.username !== undefined) patch.username = input.username;
  if (input.first_name !== undefined) patch.firstName = input.first_name;
  if (input.last_name !== undefined) patch.lastName = input.last_name;
  if (input.company_name !== undefined) patch.companyName = input.company_name;
  if (input.phone !== undefined) patch.phone = input.phone;
  if (input.role !== undefined) patch.role = input.role;
  if (input.is_active !== undefined) patch.isActive = input.is_active;
  if (input.is_superuser !== undefined) patch.isSuperuser = input.is_superuser;
  return patch;
}

/** Field names only: the audit log says what changed, never to what (a password, an address). */
const changedFields = (input: object) => Object.keys(input).filter((k) => k !== 'current_password');

export function createUsersService(deps: {
  usersRepository: UsersRepository;
  passwordHasher: PasswordHasher;
  passwordPolicy: PasswordPolicy;
  sessionsService: SessionsService;
  auditService: AuditService;
  emailVerifier: EmailVerifier;
  featureGranter: FeatureGranter;
  clock: Clock;
  settings: { registrationMode: RegistrationMode };
}) {
  const {
    usersRepository,
    passwordHasher,
    passwordPolicy,
    sessionsService,
    auditService,
    emailVerifier,
    featureGranter,
    clock,
  } = deps;

  /**
   * Applies a partial update and its consequences: a new address must be verified again, a new password
   * or a deactivation ends sessions (all of them, or all but the caller's own when they changed it).
   */
  async function applyUpdate(
    actor: PublicUserRow | undefined,
    current: UserRow,
    input: UserUpdate,
    meta: RequestMeta | undefined,
    keepSessionId?: string,
    passwordField = 'password',
  ): Promise<UserRow> {
    const { password, ...rest } = input;
    const patch = toPatch(rest);
    const emailChanged = patch.email !== undefined && patch.email !== current.email.toLowerCase();
    if (emailChanged) patch.emailVerified = false;
    if (password !== undefined) {
      await passwordPolicy.check(password, passwordField, { ...current, ...patch });
      patch.hashedPassword = await passwordHasher.hash(password);
    }
    if (Object.keys(patch).length === 0) return current; // an empty update changes nothing, updated_at included
    const row = await usersRepository.update(current.id, patch);
    if (!row) throw usersErrors.notFound();

    const who = { actorUserId: actor?.id ?? null, subjectUserId: row.id };
    if (changedFields(rest).length > 0) {
      await auditService.record({ event: 'user.updated', ...who, details: { fields: changedFields(rest) } }, meta);
    }
    if (password !== undefined) {
      await sessionsService.revokeAll(row.id, 'password_changed', keepSessionId);
      await auditService.record({ event: 'user.password.changed', ...who }, meta);
      await emailVerifier.sendPasswordChanged(row);
    }
    if (input.is_active === false && current.isActive) {
      const revoked = await sessionsService.revokeAll(row.id, 'user_deactivated');
      await auditService.record({ event: 'user.sessions.revoked', ...who, details: { revoked } }, meta);
    }
    if (emailChanged) await emailVerifier.sendVerification(row, meta);
    return row;
  }

  async function findByLookup(by: UserLookup): Promise<UserRow> {
    const wanted = (by.email ?? by.username ?? '').trim().toLowerCase();
    const user = await usersRepository.findByLogin(wanted);
    // findByLogin picks the column from the value's shape; an email must match an email, a username a username.
    const matches =
      by.email !== undefined ? user?.email.toLowerCase() === wanted : user?.username.toLowerCase() === wanted;
    if (!user || !matches) throw usersErrors.notFound();
    return user;
  }

  return {
    /**
     * Registration, invitations and the CLI all create users here; duplicates surface as 409 from the
     * repository. An approved account gets the default feature flags at once.
     */
    async create(input: NewUser, meta?: RequestMeta, options: CreateUserOptions = {}): Promise<UserRow> {
      const isSuperuser = input.is_superuser ?? false;
      const approved = options.approved ?? (isSuperuser || deps.settings.registrationMode === 'open');
      await passwordPolicy.check(input.password, 'password', {
        username: input.username,
        email: input.email,
        firstName: input.first_name,
        lastName: input.last_name,
      });
      const user = await usersRepository.create({
        email: input.email.trim().toLowerCase(),
        username: input.username,
        hashedPassword: await passwordHasher.hash(input.password),
        firstName: input.first_name ?? null,
        lastName: input.last_name ?? null,
        companyName: input.company_name ?? null,
        phone: input.phone ?? null,
        isActive: true,
        isSuperuser,
        emailVerified: options.emailVerified ?? false,
        role: options.role ?? 'client',
        isApproved: approved,
        approvedAt: approved ? clock.now() : null,
        approvedById: approved ? (options.approvedById ?? null) : null,
      });
      if (approved) await featureGranter.grantDefaults(user.id);
      await auditService.record(
        {
          event: 'user.created',
          actorUserId: options.approvedById ?? null,
          subjectUserId: user.id,
          details: { is_superuser: user.isSuperuser, role: user.role, is_approved: user.isApproved },
        },
        meta,
      );
      if (!user.emailVerified) await emailVerifier.sendVerification(user, meta);
      return user;
    },

    getById: (id: number) => usersRepository.getByIdOrThrow(id),

    list(query: ListUsersQuery) {
      if (query.after_id !== undefined && query.skip > 0) throw usersErrors.skipWithAfterId();
      return usersRepository.list(query);
    },

    listSuperusers: () => usersRepository.listSuperusers(),

    async updateMe(me: PublicUserRow, input: UserUpdateMe, meta?: RequestMeta, sessionId?: string): Promise<UserRow> {
      const { current_password: currentPassword, ...changes } = input;
      // Requests carry the user without the password hash: the row is read whole where it is needed.
      const current = await usersRepository.getByIdOrThrow(me.id);
      if (changes.password !== undefined) {
        if (currentPassword === undefined) throw usersErrors.currentPasswordRequired();
        if (!(await passwordHasher.verify(current.hashedPassword, currentPassword))) {
          throw usersErrors.currentPasswordIncorrect();
        }
      }
      return applyUpdate(current, current, changes, meta, sessionId);
    },

    /** POST /users/me/password: every other session ends, the caller's own goes on. */
    async changePassword(
      me: PublicUserRow,
      input: { current_password: string; new_password: string },
      meta: RequestMeta,
      sessionId: string | undefined,
    ): Promise<void> {
      const current = await usersRepository.getByIdOrThrow(me.id);
      if (!(await passwordHasher.verify(current.hashedPassword, input.current_password))) {
        throw usersErrors.currentPasswordIncorrect();
      }
      await applyUpdate(current, current, { password: input.new_password }, meta, sessionId, 'new_password');
    },

    /** `actorSessionId`: a superuser changing their own password this way keeps their current session. */
    async update(
      actor: PublicUserRow,
      id: number,
      input: UserUpdate,
      meta?: RequestMeta,
      actorSessionId?: string,
    ): Promise<UserRow> {
      if (actor.id === id) {
        // A superuser locking themselves out could leave the service with no administrator at all.
        if (input.is_superuser === false) throw usersErrors.cannotDemoteSelf();
        if (input.is_active === false) throw usersErrors.cannotDeactivateSelf();
      }
      const current = await usersRepository.getByIdOrThrow(id);
      return applyUpdate(actor, current, input, meta, actor.id === id ? actorSessionId : undefined);
    },

    async delete(actor: PublicUserRow, id: number, meta?: RequestMeta): Promise<void> {
      if (actor.id === id) throw usersErrors.cannotDeleteSelf();
      // Sessions go with the row (ON DELETE CASCADE), so the user's tokens fail on the next request.
      if (!(await usersRepository.delete(id))) throw usersErrors.notFound();
      await auditService.record({ event: 'user.deleted', actorUserId: actor.id, subjectUserId: id }, meta);
    },

    /** CLI `promote`: makes an existing account a superuser (already one: nothing to change). */
    async promote(by: UserLookup): Promise<UserRow> {
      const user = await findByLookup(by);
      if (user.isSuperuser) return user;
      return applyUpdate(undefined, user, { is_superuser: true }, undefined);
    },

    /** CLI `set-role`: the same rule as PUT /users/{id} by a superuser (already that role: nothing to change). */
    async setRole(by: UserLookup, role: UserRole): Promise<UserRow> {
      const user = await findByLookup(by);
      if (user.role === role) return user;
      return applyUpdate(undefined, user, { role }, undefined);
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
