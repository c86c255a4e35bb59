import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import type { TokenPair } from '../../src/modules/auth/auth.service.js';
import type { OutboxOptions } from '../../src/modules/mail/mail.service.js';
import { createUsersRepository } from '../../src/modules/users/users.repository.js';
import type { CreateUserOptions, NewUser } from '../../src/modules/users/users.service.js';
import type { UserRow } from '../../src/modules/users/users.table.js';
import type { Clock } from '../../src/shared/clock.js';
import { createLogger } from '../../src/shared/logger.js';
import { type Argon2Params, createPasswordHasher, type PasswordHasher } from '../../src/shared/password-hasher.js';
import { recordResponses } from './response-recorder.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** The fields of the contract's user object, sorted: nothing more may leave the service. */
export const USER_FIELDS = [
  'approved_at',
  'company_name',
  'created_at',
  'email',
  'email_verified',
  'first_name',
  'id',
  'is_active',
  'is_approved',
  'is_superuser',
  'last_name',
  'phone',
  'role',
  'updated_at',
  'username',
];

/** GET and PUT /users/me: the user and their effective feature flags. */
export const CURRENT_USER_FIELDS = [...USER_FIELDS, 'features'].sort();

export const TEST_SECRET = 'test-secret-key-that-is-long-enough-0123456789';

/** The configuration tests run with: loaded through the real loader, from an explicit environment. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    ENVIRONMENT: 'test',
    SECRET_KEY: TEST_SECRET,
    LOG_LEVEL: 'info',
    RATE_LIMIT_LOGIN_PER_MINUTE: '0',
    // The abuse limits are opted into by the files that test them (test/security/).
    RATE_LIMIT_PER_MINUTE: '0',
    LOGIN_MAX_FAILURES: '0',
    DOCS_ENABLED: 'true',
    // Load shedding off: a busy test machine stalls the event loop past any threshold (overload.test.ts sets it).
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
}

/**
 * Argon2id at a small cost for the apps of useTestApp, whose tests are about what the routes answer and store, not
 * about the cost of a hash (which would add tens of milliseconds to every sign-up and login). The production
 * parameters stay where they are the subject: the built server (the login timing of
 * test/security/enumeration.test.ts), the CLI, and the re-hash of legacy passwords (test/legacy-adoption.test.ts).
 */
export const TEST_ARGON2: Argon2Params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export const testPasswordHasher = (): PasswordHasher => createPasswordHasher(TEST_ARGON2);

/** Log lines the app wrote, parsed, so tests can assert on what would reach an operator. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    callback();
  }
  clear(): void {
    this.lines.length = 0;
    this.raw.length = 0;
  }
}

export interface TestClock extends Clock {
  /** Moves "now" forward (token and link expiry) without waiting. */
  advance(ms: number): void;
  reset(): void;
}

/** Real time plus an offset the test controls. */
export function createTestClock(): TestClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms) => {
      offset += ms;
    },
    reset: () => {
      offset = 0;
    },
  };
}

export interface TestAppOptions {
  /** Start a real SMTP server in the test process and point SMTP_HOST at it. */
  smtp?: boolean;
  outbox?: Partial<OutboxOptions>;
}

export interface TestContext {
  app: FastifyInstance;
  clock: TestClock;
  smtp?: TestSmtpServer;
  /** The SMTP server of a file that asked for one (`{ smtp: true }`). */
  mailbox(): TestSmtpServer;
  database: TestDatabase;
  config: Config;
  logs: LogCapture;
  /** Creates a user straight through the users service (real hashing), for arranging a test. */
  createUser(input?: Partial<NewUser> & NewUserTestOptions): Promise<UserRow & { password: string }>;
  /** Logs in for real through /auth/login and returns the access token. */
  login(username: string, password: string): Promise<string>;
  /** Creates a user and logs them in. */
  signIn(input?: Partial<NewUser> & NewUserTestOptions): Promise<{
    user: UserRow & { password: string };
    token: string;
    refreshToken: string;
    headers: { authorization: string };
  }>;
  /** Logs in for real and returns the whole token response (access and refresh token). */
  loginPair(username: string, password: string): Promise<TokenPair>;
}

/** Arranging a user: approved unless said otherwise, whatever REGISTRATION_MODE says. */
export interface NewUserTestOptions extends CreateUserOptions {
  is_active?: boolean;
}

let counter = 0;

/**
 * The database of this test file, shared by its useTestApp calls (one per describe block with its own settings):
 * each opens on the first call's beforeAll and closes after the last one's afterAll. Their blocks run one after the
 * other, and each empties the database before each of its tests.
 */
const fileDatabase = {
  users: 0,
  opened: undefined as Promise<TestDatabase> | undefined,
  open(): Promise<TestDatabase> {
    this.opened ??= createTestDatabase();
    return this.opened;
  },
  async release(): Promise<void> {
    this.users -= 1;
    if (this.users > 0 || !this.opened) return;
    const database = this.opened;
    this.opened = undefined;
    await (await database).close();
  },
};

/**
 * One app per test file or describe block, on the file's one database (PGlite takes a moment to start), emptied
 * before each test. Call at the top level of a test file or of a describe block.
 */
export function useTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): TestContext {
  const ctx = { logs: new LogCapture(), clock: createTestClock() } as TestContext;
  fileDatabase.users += 1;

  beforeAll(async () => {
    if (options.smtp) {
      ctx.smtp = await startSmtpServer();
      env = { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(ctx.smtp.port), SMTP_TLS: 'false', ...env };
    }
    ctx.config = testConfig(env);
    ctx.database = await fileDatabase.open();
    ctx.app = await buildApp({
      config: ctx.config,
      database: ctx.database.handle,
      logger: createLogger({ level: ctx.config.logLevel }, ctx.logs),
      clock: ctx.clock,
      passwordHasher: testPasswordHasher(),
      outbox: { baseDelayMs: 50, maxDelayMs: 200, pollIntervalMs: 50, ...options.outbox },
    });
    recordResponses(ctx.app);
    await ctx.app.ready();
  });

  beforeEach(async () => {
    await ctx.app.services.settle();
    await ctx.database.reset();
    ctx.logs.clear();
    ctx.clock.reset();
    ctx.smtp?.clear();
  });

  afterAll(async () => {
    await ctx.app?.close();
    await fileDatabase.release();
    await ctx.smtp?.close();
  });

  ctx.createUser = async (input = {}) => {
    counter += 1;
    const password = input.password ?? `password-${counter}-secret`;
    let user = await ctx.app.services.users.create(
      {
        email: input.email ?? `user${counter}@example.com`,
        username: input.username ?? `user${counter}`,
        password,
        first_name: input.first_name ?? null,
        last_name: input.last_name ?? null,
        company_name: input.company_name ?? null,
        phone: input.phone ?? null,
        is_superuser: input.is_superuser ?? false,
      },
      undefined,
      {
        approved: input.approved ?? true,
        ...(input.role ? { role: input.role } : {}),
        ...(input.emailVerified !== undefined ? { emailVerified: input.emailVerified } : {}),
        ...(input.approvedById !== undefined ? { approvedById: input.approvedById } : {}),
      },
    );
    if (input.is_active === false) {
      user = (await createUsersRepository(ctx.database.handle.db).update(user.id, { isActive: false })) ?? user;
    }
    return { ...user, password };
  };

  ctx.mailbox = () => {
    if (!ctx.smtp) throw new Error('useTestApp(env, { smtp: true }) starts the SMTP server');
    return ctx.smtp;
  };

  ctx.loginPair = async (username, password) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password },
    });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
    return response.json() as TokenPair;
  };

  ctx.login = async (username, password) => (await ctx.loginPair(username, password)).access_token;

  ctx.signIn = async (input = {}) => {
    const user = await ctx.createUser(input);
    const pair = await ctx.loginPair(user.username, user.password);
    return {
      user,
      token: pair.access_token,
      refreshToken: pair.refresh_token,
      headers: { authorization: `Bearer ${pair.access_token}` },
    };
  };

  return ctx;
}

/** The contract's error envelope, checked in one place: type, code, and the request id matching the header. */
export function expectError(response: LightMyRequestResponse, status: number, type: string) {
  const body = response.json() as { error: { type: string; code: string; message: string; request_id: string } };
  if (response.statusCode !== status || body.error?.type !== type) {
    throw new Error(`expected ${status} ${type}, got ${response.statusCode} ${response.body}`);
  }
  if (body.error.request_id !== response.headers['x-request-id']) {
    throw new Error(
      `request_id ${body.error.request_id} does not match X-Request-ID ${response.headers['x-request-id']}`,
    );
  }
  return body.error;
}

/** A sign-in that no longer works: its access token is refused (401) and so is its refresh token. */
export async function expectSignedOut(
  app: FastifyInstance,
  session: { headers: { authorization: string }; refreshToken: string },
): Promise<void> {
  expectError(
    await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: session.headers }),
    401,
    'AuthenticationError',
  );
  expectError(
    await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: session.refreshToken } }),
    401,
    'AuthenticationError',
  );
}
