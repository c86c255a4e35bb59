import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config/config.js';
import type { Database } from './db/client.js';
import { createAuditRepository } from './modules/audit/audit.repository.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createAccessTokens } from './modules/auth/access-tokens.js';
import { createAccountEmailsService } from './modules/auth/account-emails.service.js';
import { createAuthRepository } from './modules/auth/auth.repository.js';
import { createAuthService, type LoginOutcome } from './modules/auth/auth.service.js';
import { createMailRepository } from './modules/mail/mail.repository.js';
import { createMailService, type DeliveryResult, type OutboxOptions } from './modules/mail/mail.service.js';
import type { MailTransport } from './modules/mail/mail.transport.js';
import { createSessionsRepository } from './modules/sessions/sessions.repository.js';
import { createSessionsService } from './modules/sessions/sessions.service.js';
import { createUsersRepository } from './modules/users/users.repository.js';
import { createUsersService } from './modules/users/users.service.js';
import { createBackgroundTasks } from './shared/background.js';
import type { Clock } from './shared/clock.js';
import type { PasswordHasher } from './shared/password-hasher.js';

export interface ServiceDependencies {
  config: Config;
  db: Database;
  clock: Clock;
  passwordHasher: PasswordHasher;
  mailTransport: MailTransport;
  logger: FastifyBaseLogger;
  outbox?: Partial<OutboxOptions>;
  observers?: ServiceObservers | undefined;
}

/** What the services tell the metrics; absent (metrics off), nothing is measured. */
export interface ServiceObservers {
  loginOutcome(outcome: LoginOutcome): void;
  emailDelivery(result: DeliveryResult): void;
}

/**
 * Every service, wired once from its repositories. The HTTP modules and the CLI use the same instances'
 * logic, so a rule (a password check, an audit row) cannot differ between them.
 */
export function createServices(deps: ServiceDependencies) {
  const { config, db, clock, passwordHasher, logger } = deps;
  const usersRepository = createUsersRepository(db);
  const background = createBackgroundTasks(logger);

  const audit = createAuditService({ auditRepository: createAuditRepository(db) });
  const sessions = createSessionsService({
    sessionsRepository: createSessionsRepository(db),
    auditService: audit,
    clock,
    settings: { refreshTokenExpireDays: config.refreshTokenExpireDays, sessionMaxDays: config.sessionMaxDays },
  });
  const mail = createMailService({
    mailRepository: createMailRepository(db),
    transport: deps.mailTransport,
    clock,
    logger,
    ...(deps.outbox ? { options: deps.outbox } : {}),
    onDelivery: deps.observers?.emailDelivery,
  });
  const accountEmails = createAccountEmailsService({
    authRepository: createAuthRepository(db),
    usersRepository,
    sessionsService: sessions,
    auditService: audit,
    mailService: mail,
    passwordHasher,
    background,
    clock,
    settings: {
      projectName: config.projectName,
      frontendUrl: config.frontendUrl,
      passwordResetExpireMinutes: config.passwordResetExpireMinutes,
      emailVerificationExpireHours: config.emailVerificationExpireHours,
    },
  });
  const users = createUsersService({
    usersRepository,
    passwordHasher,
    sessionsService: sessions,
    auditService: audit,
    emailVerifier: accountEmails,
  });
  const accessTokens = createAccessTokens({
    secretKey: config.secretKey,
    expiresInSeconds: config.accessTokenExpireMinutes * 60,
    clock,
  });
  const auth = createAuthService({
    usersRepository,
    usersService: users,
    sessionsService: sessions,
    auditService: audit,
    passwordHasher,
    accessTokens,
    settings: { requireEmailVerification: config.requireEmailVerification },
    onLoginOutcome: deps.observers?.loginOutcome,
  });

  return {
    audit,
    sessions,
    mail,
    accountEmails,
    users,
    accessTokens,
    auth,
    /** Starts the email worker. */
    start(): void {
      mail.start();
    },
    /** Lets background work and pending deliveries finish, then stops the worker. */
    async stop(): Promise<void> {
      await background.settle();
      await mail.stop();
    },
    /** Waits for background work and delivers what is due (tests). */
    async settle(): Promise<void> {
      await background.settle();
      await mail.flush();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
