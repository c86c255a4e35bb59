import { AppError } from '../../shared/errors.js';
import type { PasswordHasher } from '../../shared/password-hasher.js';
import type { AuditService, RequestMeta } from '../audit/audit.service.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import type { UsersRepository } from '../users/users.repository.js';
import { deriveUsername, type NewUser, type RegistrationMode, type UsersService } from '../users/users.service.js';
import type { UserRow } from '../users/users.table.js';
import type { AccessTokens, IssuedAccessToken } from './access-tokens.js';
import { authErrors } from './auth.errors.js';
import type { LoginThrottle } from './login-throttle.js';

export interface TokenPair extends IssuedAccessToken {
  refresh_token: string;
}

/** How a login attempt ended, as metrics count it; `throttled` is reported by the per-account throttle. */
export type LoginOutcome =
  | 'success'
  | 'wrong_password'
  | 'unknown_user'
  | 'inactive'
  | 'email_not_verified'
  | 'pending_approval'
  | 'throttled';

export const LOGIN_OUTCOMES: readonly LoginOutcome[] = [
  'success',
  'wrong_password',
  'unknown_user',
  'inactive',
  'email_not_verified',
  'pending_approval',
  'throttled',
];

export function createAuthService(deps: {
  usersRepository: UsersRepository;
  usersService: UsersService;
  sessionsService: SessionsService;
  auditService: AuditService;
  passwordHasher: PasswordHasher;
  accessTokens: AccessTokens;
  loginThrottle: LoginThrottle;
  settings: { requireEmailVerification: boolean; registrationMode: RegistrationMode };
  /** Told how every login attempt ends (metrics); absent when nothing measures. "throttled" comes from the throttle's events. */
  onLoginOutcome?: ((outcome: LoginOutcome) => void) | undefined;
}) {
  const { usersRepository, usersService, sessionsService, auditService, passwordHasher, accessTokens, loginThrottle } =
    deps;
  const onLoginOutcome = deps.onLoginOutcome;

  const failed = async (reason: Exclude<LoginOutcome, 'success' | 'throttled'>, meta: RequestMeta, user?: UserRow) => {
    onLoginOutcome?.(reason);
    await auditService.record({ event: 'auth.login.failed', subjectUserId: user?.id, details: { reason } }, meta);
  };

  /**
   * The same answer, in about the same time, for an unknown account and a wrong password, so the
   * response does not tell which accounts exist. Only a correct password learns that an account is inactive.
   */
  async function checkCredentials(login: string, password: string, meta: RequestMeta): Promise<UserRow> {
    const user = await usersRepository.findByLogin(login);
    const subject = loginThrottle.subject(user?.id, login);
    const throttle = await loginThrottle.check(subject, meta);
    if (!user) {
      await passwordHasher.verifyDummy(password);
      await loginThrottle.failed(subject, meta);
      await failed('unknown_user', meta);
      throw authErrors.invalidCredentials();
    }
    if (!(await passwordHasher.verify(user.hashedPassword, password))) {
      await loginThrottle.failed(subject, meta);
      await failed('wrong_password', meta, user);
      throw authErrors.invalidCredentials();
    }
    await loginThrottle.succeeded(subject, throttle);
    if (!user.isActive) {
      await failed('inactive', meta, user);
      throw authErrors.inactiveUser();
    }
    if (deps.settings.requireEmailVerification && !user.emailVerified) {
      await failed('email_not_verified', meta, user);
      throw authErrors.emailNotVerified();
    }
    // Admins and superusers never wait for approval (a superuser whose role is client included).
    if (!user.isApproved && !user.isSuperuser && user.role !== 'admin') {
      await failed('pending_approval', meta, user);
      throw authErrors.pendingApproval();
    }
    if (passwordHasher.needsRehash(user.hashedPassword)) {
      // FastAPI-era bcrypt (or older argon2 parameters) is replaced while the plain password is at hand.
      await usersRepository.replacePasswordHash(user.id, await passwordHasher.hash(password));
    }
    return user;
  }

  async function tokens(userId: number, sessionId: string, refreshToken: string): Promise<TokenPair> {
    return { ...(await accessTokens.issue({ userId, sessionId })), refresh_token: refreshToken };
  }

  return {
    /** Self-registration, as REGISTRATION_MODE has it: approved at once (open), waiting (approval), or refused. */
    async register(input: NewUser, meta: RequestMeta): Promise<UserRow> {
      if (deps.settings.registrationMode === 'invite_only') throw authErrors.registrationClosed();
      return usersService.create({ ...input, is_superuser: false }, meta);
    },

    /**
     * The client portal's sign-up. Two sign-ups may derive the same username at once: the loser of the
     * race picks again (the email conflict, a real one, is answered as such).
     */
    async registerClient(input: Omit<NewUser, 'username'>, meta: RequestMeta): Promise<UserRow> {
      if (deps.settings.registrationMode === 'invite_only') throw authErrors.registrationClosed();
      for (let attempt = 1; ; attempt++) {
        try {
          const username = await deriveUsername(input.email, usersRepository);
          return await usersService.create({ ...input, username, is_superuser: false }, meta);
        } catch (error) {
          if (!(error instanceof AppError && error.code === 'users.username_taken') || attempt >= 5) throw error;
        }
      }
    },

    async login(login: string, password: string, meta: RequestMeta): Promise<TokenPair> {
      const user = await checkCredentials(login, password, meta);
      const { session, refreshToken } = await sessionsService.start(user.id, meta);
      await auditService.record(
        {
          event: 'auth.login.succeeded',
          actorUserId: user.id,
          subjectUserId: user.id,
          details: { session_id: session.id },
        },
        meta,
      );
      onLoginOutcome?.('success');
      return tokens(user.id, session.id, refreshToken);
    },

    /** The user's activity and the session are checked inside the rotation itself. */
    async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
      const rotated = await sessionsService.refresh(refreshToken, meta);
      return tokens(rotated.userId, rotated.sessionId, rotated.refreshToken);
    },

    async logout(user: Pick<UserRow, 'id'>, sessionId: string, meta: RequestMeta): Promise<void> {
      await sessionsService.revoke(user.id, sessionId, 'logout');
      await auditService.record(
        { event: 'auth.logout', actorUserId: user.id, subjectUserId: user.id, details: { session_id: sessionId } },
        meta,
      );
    },

    async logoutAll(user: Pick<UserRow, 'id'>, meta: RequestMeta): Promise<number> {
      const revoked = await sessionsService.revokeAll(user.id, 'logout_all');
      await auditService.record(
        { event: 'user.sessions.revoked', actorUserId: user.id, subjectUserId: user.id, details: { revoked } },
        meta,
      );
      return revoked;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
