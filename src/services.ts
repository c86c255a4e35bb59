import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config/config.js';
import type { Database } from './db/client.js';
import { createAdminRepository } from './modules/admin/admin.repository.js';
import { createAdminService } from './modules/admin/admin.service.js';
import { createAuditRepository } from './modules/audit/audit.repository.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createAccessTokens } from './modules/auth/access-tokens.js';
import { createAccountEmailsService } from './modules/auth/account-emails.service.js';
import { createAuthRepository } from './modules/auth/auth.repository.js';
import { createAuthService, type LoginOutcome } from './modules/auth/auth.service.js';
import { createLoginThrottle, type LoginThrottle } from './modules/auth/login-throttle.js';
import { createConsentsRepository } from './modules/consents/consents.repository.js';
import { createConsentsService } from './modules/consents/consents.service.js';
import { createFeaturesRepository } from './modules/features/features.repository.js';
import { createFeaturesService } from './modules/features/features.service.js';
import { createInvitationsRepository } from './modules/invitations/invitations.repository.js';
import { createInvitationsService } from './modules/invitations/invitations.service.js';
import { createMailRepository } from './modules/mail/mail.repository.js';
import {
  createMailService,
  type DeliveryResult,
  type MailSender,
  type OutboxOptions,
} from './modules/mail/mail.service.js';
import type { MailTransport } from './modules/mail/mail.transport.js';
import { createSessionsRepository } from './modules/sessions/sessions.repository.js';
import { createSessionsService } from './modules/sessions/sessions.service.js';
import { createUsersRepository } from './modules/users/users.repository.js';
import { createUsersService } from './modules/users/users.service.js';
import { type BackgroundTasks, createBackgroundTasks } from './shared/background.js';
import type { Clock } from './shared/clock.js';
import { type CounterStore, createMemoryCounterStore } from './shared/counter-store.js';
import { createLimitEvents, type LimitEvents } from './shared/limit-events.js';
import type { PasswordHasher } from './shared/password-hasher.js';
import { createPasswordPolicy, type PasswordPolicy } from './shared/password-policy.js';

export interface ServiceDependencies {
  config: Config;
  db: Database;
  clock: Clock;
  passwordHasher: PasswordHasher;
  mailTransport: MailTransport;
  logger: FastifyBaseLogger;
  outbox?: Partial<OutboxOptions>;
  /** Where the per-account login counters live (default: this process's memory). */
  counters?: CounterStore;
  limitEvents?: LimitEvents;
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
  const background = createBackgroundTasks(logger);
  const limitEvents = deps.limitEvents ?? createLimitEvents();
  const passwordPolicy = createPasswordPolicy({ minLength: config.passwordMinLength });
  // Throttling is not part of any request's transaction: its counters and audit rows stand on their own.
  const loginThrottle = createLoginThrottle({
    store: deps.counters ?? createMemoryCounterStore(),
    clock,
    auditService: createAuditService({ auditRepository: createAuditRepository(db) }),
    events: limitEvents,
    settings: config.loginThrottle,
  });
  const mail = createMailService({
    mailRepository: createMailRepository(db),
    transport: deps.mailTransport,
    clock,
    logger,
    ...(deps.outbox ? { options: deps.outbox } : {}),
    onDelivery: deps.observers?.emailDelivery,
  });

  const shared = { config, clock, passwordHasher, passwordPolicy, loginThrottle, background };
  const root = createScopedServices(shared, db, mail);
  const accessTokens = createAccessTokens({
    secretKey: config.secretKey,
    expiresInSeconds: config.accessTokenExpireMinutes * 60,
    clock,
  });
  const auth = createAuthService({
    usersRepository: root.usersRepository,
    usersService: root.users,
    sessionsService: root.sessions,
    auditService: root.audit,
    passwordHasher,
    accessTokens,
    loginThrottle,
    onLoginOutcome: deps.observers?.loginOutcome,
    settings: { requireEmailVerification: config.requireEmailVerification, registrationMode: config.registrationMode },
  });

  /**
   * Runs `work` in one database transaction, with the users, features, audit, sessions and account-email
   * services bound to it (`scope.db` is the transaction, for a module's own repositories; `scope.mail`
   * queues email that exists only if the transaction commits). On the embedded database a transaction
   * holds the only connection: inside `work`, use the scope's services, never the top-level ones, or the
   * call waits forever.
   */
  const transaction = <T>(work: (scope: TransactionScope) => Promise<T>): Promise<T> =>
    db.transaction((tx) => {
      const handle: Database = tx;
      return work(createScopedServices(shared, handle, mail.through(createMailRepository(handle))));
    });
  const admin = createAdminService({
    usersRepository: root.usersRepository,
    features: root.features,
    transaction,
    listPending: createAdminRepository(db).listPending,
    clock,
    settings: { projectName: config.projectName, clientPortalUrl: config.clientPortalUrl },
  });

  const invitations = createInvitationsService({
    invitationsRepository: createInvitationsRepository(db),
    transaction,
    clock,
    settings: {
      projectName: config.projectName,
      clientPortalUrl: config.clientPortalUrl,
      invitationExpireDays: config.invitationExpireDays,
    },
  });

  const consents = createConsentsService({
    consentsRepository: createConsentsRepository(db),
    auditService: root.audit,
    clock,
    settings: { termsVersion: config.termsVersion, privacyVersion: config.privacyVersion },
  });

  return {
    audit: root.audit,
    sessions: root.sessions,
    mail,
    accountEmails: root.accountEmails,
    users: root.users,
    features: root.features,
    accessTokens,
    auth,
    loginThrottle,
    limitEvents,
    admin,
    invitations,
    consents,
    transaction,
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

/**
 * The services whose writes belong together, built on one database handle: the pool, or a transaction
 * (`transaction` below), so that everything they write inside it commits or rolls back as one.
 */
function createScopedServices(
  shared: {
    config: Config;
    clock: Clock;
    passwordHasher: PasswordHasher;
    passwordPolicy: PasswordPolicy;
    loginThrottle: LoginThrottle;
    background: BackgroundTasks;
  },
  handle: Database,
  mailSender: MailSender,
) {
  const { config, clock, passwordHasher, passwordPolicy, loginThrottle, background } = shared;
  const usersRepository = createUsersRepository(handle);
  const audit = createAuditService({ auditRepository: createAuditRepository(handle) });
  const sessions = createSessionsService({
    sessionsRepository: createSessionsRepository(handle, { consentVersions: consentVersions(config) }),
    auditService: audit,
    clock,
    settings: { refreshTokenExpireDays: config.refreshTokenExpireDays, sessionMaxDays: config.sessionMaxDays },
  });
  const features = createFeaturesService({
    featuresRepository: createFeaturesRepository(handle),
    auditService: audit,
    clock,
    settings: { userFeatures: config.userFeatures },
  });
  const accountEmails = createAccountEmailsService({
    authRepository: createAuthRepository(handle),
    usersRepository,
    sessionsService: sessions,
    auditService: audit,
    mailService: mailSender,
    passwordHasher,
    passwordPolicy,
    loginThrottle,
    background,
    clock,
    settings: {
      projectName: config.projectName,
      clientPortalUrl: config.clientPortalUrl,
      adminPortalUrl: config.adminPortalUrl,
      passwordResetExpireMinutes: config.passwordResetExpireMinutes,
      emailVerificationExpireHours: config.emailVerificationExpireHours,
    },
  });
  const users = createUsersService({
    usersRepository,
    passwordHasher,
    passwordPolicy,
    sessionsService: sessions,
    auditService: audit,
    emailVerifier: accountEmails,
    featureGranter: features,
    clock,
    settings: { registrationMode: config.registrationMode },
  });
  return { db: handle, mail: mailSender, usersRepository, audit, sessions, features, accountEmails, users };
}

/** The versions a user must have accepted, when REQUIRE_CONSENT asks for them; undefined: no check. */
function consentVersions(config: Config): { terms: string; privacy: string } | undefined {
  if (!config.requireConsent || (!config.termsVersion && !config.privacyVersion)) return undefined;
  return { terms: config.termsVersion, privacy: config.privacyVersion };
}

export type Services = ReturnType<typeof createServices>;
/** The services `transaction` hands to its callback, bound to the transaction. */
export type TransactionScope = ReturnType<typeof createScopedServices>;
