import type { BackgroundTasks } from '../../shared/background.js';
import type { Clock } from '../../shared/clock.js';
import type { PasswordHasher } from '../../shared/password-hasher.js';
import type { PasswordPolicy } from '../../shared/password-policy.js';
import { generateOpaqueToken, hashOpaqueToken } from '../../shared/tokens.js';
import type { AuditService, RequestMeta } from '../audit/audit.service.js';
import type { MailSender } from '../mail/mail.service.js';
import { passwordChangedEmail, passwordResetEmail, verificationEmail } from '../mail/mail.templates.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { UserRow } from '../users/users.table.js';
import { authErrors } from './auth.errors.js';
import type { AuthRepository } from './auth.repository.js';
import type { LoginThrottle } from './login-throttle.js';

export interface AccountEmailSettings {
  projectName: string;
  /** Links to clients go to the client portal; a reset asked for from the admin portal goes there. */
  clientPortalUrl: string;
  adminPortalUrl: string;
  passwordResetExpireMinutes: number;
  emailVerificationExpireHours: number;
}

export type Portal = 'client' | 'admin';

/** What the users module needs when an address or a password changes; narrow so users does not depend on auth. */
export interface EmailVerifier {
  sendVerification(user: UserRow, meta: RequestMeta | undefined): Promise<void>;
  sendPasswordChanged(user: UserRow): Promise<void>;
}

/** Password reset and email verification: single-use links sent by email. */
export function createAccountEmailsService(deps: {
  authRepository: AuthRepository;
  usersRepository: UsersRepository;
  sessionsService: SessionsService;
  auditService: AuditService;
  mailService: MailSender;
  passwordHasher: PasswordHasher;
  passwordPolicy: PasswordPolicy;
  loginThrottle: LoginThrottle;
  background: BackgroundTasks;
  clock: Clock;
  settings: AccountEmailSettings;
}) {
  const { authRepository, usersRepository, sessionsService, auditService, mailService, clock, settings } = deps;

  const link = (path: string, token: string, portal: Portal = 'client') =>
    `${(portal === 'admin' ? settings.adminPortalUrl : settings.clientPortalUrl).replace(/\/+$/, '')}/${path}?token=${encodeURIComponent(token)}`;
  const displayName = (user: UserRow) => user.firstName ?? user.username;

  async function issue(user: UserRow, purpose: 'password_reset' | 'email_verification', ttlMs: number) {
    const token = generateOpaqueToken();
    const now = clock.now();
    await authRepository.createOneTimeToken({
      userId: user.id,
      purpose,
      tokenHash: hashOpaqueToken(token),
      email: user.email,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
    });
    return token;
  }

  async function sendVerification(user: UserRow, meta: RequestMeta | undefined): Promise<void> {
    const hours = settings.emailVerificationExpireHours;
    const token = await issue(user, 'email_verification', hours * 3_600_000);
    await mailService.send(
      verificationEmail({
        to: user.email,
        name: displayName(user),
        projectName: settings.projectName,
        link: link('verify-email', token),
        hours,
      }),
    );
    await auditService.record({ event: 'auth.email_verification.requested', subjectUserId: user.id }, meta);
  }

  /** Tells the owner, so a change they did not make does not go unnoticed. */
  async function sendPasswordChanged(user: UserRow): Promise<void> {
    await mailService.send(
      passwordChangedEmail({
        to: user.email,
        name: displayName(user),
        projectName: settings.projectName,
        link: `${settings.clientPortalUrl.replace(/\/+$/, '')}/forgot-password`,
      }),
    );
  }

  return {
    sendVerification,

    sendPasswordChanged,

    /**
     * Answers the same way, in the same time, for any address: the work happens after the response, so
     * neither the body nor the timing tells whether an account exists.
     */
    requestPasswordReset(email: string, meta: RequestMeta, portal: Portal = 'client'): void {
      deps.background.run('password reset email', async () => {
        const user = await usersRepository.findByLogin(email);
        if (!user?.isActive || user.email.toLowerCase() !== email.toLowerCase()) return;
        const minutes = settings.passwordResetExpireMinutes;
        const token = await issue(user, 'password_reset', minutes * 60_000);
        await mailService.send(
          passwordResetEmail({
            to: user.email,
            name: displayName(user),
            projectName: settings.projectName,
            link: link('reset-password', token, portal),
            minutes,
          }),
        );
        await auditService.record({ event: 'auth.password_reset.requested', subjectUserId: user.id }, meta);
      });
    },

    /** Sets the password, spends the token (and any other reset link), and ends every session. */
    async resetPassword(token: string, newPassword: string, meta: RequestMeta): Promise<void> {
      const now = clock.now();
      const tokenHash = hashOpaqueToken(token);
      // A password the policy refuses leaves the link usable, so the owner can try a better one.
      const pending = await authRepository.findUsableOneTimeToken(tokenHash, 'password_reset', now);
      const owner = pending && (await usersRepository.findById(pending.userId));
      if (!owner) throw authErrors.invalidOneTimeToken();
      await deps.passwordPolicy.check(newPassword, 'new_password', owner);
      const spent = await authRepository.consumeOneTimeToken(tokenHash, 'password_reset', now);
      if (!spent) throw authErrors.invalidOneTimeToken();
      const hashedPassword = await deps.passwordHasher.hash(newPassword);
      const user = await usersRepository.update(spent.userId, { hashedPassword });
      if (!user) throw authErrors.invalidOneTimeToken();
      await authRepository.consumeAll(user.id, 'password_reset', now);
      await sessionsService.revokeAll(user.id, 'password_reset');
      await deps.loginThrottle.reset(user.id, meta);
      await auditService.record({ event: 'user.password.reset', actorUserId: user.id, subjectUserId: user.id }, meta);
      await sendPasswordChanged(user);
    },

    /** A verification link proves the address it was sent to, and only while the account still has it. */
    async verifyEmail(token: string, meta: RequestMeta): Promise<void> {
      const spent = await authRepository.consumeOneTimeToken(hashOpaqueToken(token), 'email_verification', clock.now());
      if (!spent) throw authErrors.invalidOneTimeToken();
      const user = await usersRepository.findById(spent.userId);
      if (!user || user.email.toLowerCase() !== spent.email.toLowerCase()) throw authErrors.invalidOneTimeToken();
      if (!user.emailVerified) await usersRepository.update(user.id, { emailVerified: true });
      await auditService.record(
        { event: 'user.email.verified', actorUserId: user.id, subjectUserId: user.id, details: { email: user.email } },
        meta,
      );
    },

    /** Same answer whatever the address: sends only to an active, unverified account that has it. */
    requestVerification(email: string, meta: RequestMeta): void {
      deps.background.run('verification email', async () => {
        const user = await usersRepository.findByLogin(email);
        if (!user?.isActive || user.emailVerified || user.email.toLowerCase() !== email.toLowerCase()) return;
        await sendVerification(user, meta);
      });
    },
  };
}

export type AccountEmailsService = ReturnType<typeof createAccountEmailsService>;
