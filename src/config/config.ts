import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { ConfigError } from './config-error.js';
import { resolveSecretKey } from './secret.js';

export { ConfigError } from './config-error.js';

type Parser<T> = (raw: string, key: string) => T;

interface Setting<T> {
  /** Value when the variable is unset or empty; `undefined` means "no value". */
  default: T;
  /** Shown in the README, `.env.example` and error messages. */
  description: string;
  parse: Parser<T>;
  /** Human form of the default, for docs, when it differs from String(default). */
  defaultLabel?: string;
}

const fail = (key: string, expected: string, raw: string): never => {
  throw new ConfigError(`${key} must be ${expected} (got ${JSON.stringify(raw)})`);
};

const str: Parser<string> = (raw) => raw;

const int =
  (min: number, max: number): Parser<number> =>
  (raw, key) => {
    const n = Number(raw.trim());
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      return fail(key, `an integer from ${min} to ${max}`, raw);
    }
    return n;
  };

const TRUE = new Set(['1', 'true', 'yes', 'on', 't', 'y']);
const FALSE = new Set(['0', 'false', 'no', 'off', 'f', 'n']);
const bool: Parser<boolean> = (raw, key) => {
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return fail(key, 'a boolean (true/false, 1/0, yes/no, on/off)', raw);
};

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, key) => {
    const v = raw.trim().toLowerCase() as T;
    return values.includes(v) ? v : fail(key, `one of ${values.join(', ')}`, raw);
  };

/** A comma-separated list or a JSON array of strings (pydantic-settings accepted both). */
const list: Parser<string[]> = (raw, key) => {
  const text = raw.trim();
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail(key, 'a JSON array of strings or a comma-separated list', raw);
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
      return fail(key, 'a JSON array of strings or a comma-separated list', raw);
    }
    return parsed.map((v: string) => v.trim()).filter(Boolean);
  }
  return text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
};

const origins: Parser<string[]> = (raw, key) =>
  list(raw, key).map((origin) => {
    if (origin === '*') return origin;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return fail(key, 'a list of origins such as https://app.example.com', origin);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return fail(key, 'a list of http(s) origins', origin);
    }
    return url.origin;
  });

/**
 * Accepts the FastAPI service's SQLAlchemy URLs (`postgresql+asyncpg://`) and hands node-postgres
 * a plain `postgresql://` URL.
 */
const databaseUrl: Parser<string | undefined> = (raw, key) => {
  const text = raw.trim();
  const match = /^(postgres|postgresql)(\+[a-z0-9]+)?:\/\//i.exec(text);
  if (!match) return fail(key, 'a PostgreSQL URL (postgresql://user:pass@host:5432/db)', '<redacted>');
  const normalised = `postgresql://${text.slice(match[0].length)}`;
  try {
    const url = new URL(normalised);
    if (!url.hostname && !url.searchParams.get('host')) throw new Error('no host');
  } catch {
    return fail(key, 'a PostgreSQL URL (postgresql://user:pass@host:5432/db)', '<redacted>');
  }
  return normalised;
};

const redisUrl: Parser<string | undefined> = (raw, key) => {
  const text = raw.trim();
  try {
    const url = new URL(text);
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('scheme');
  } catch {
    return fail(key, 'a Redis URL (redis://host:6379/0)', '<redacted>');
  }
  return text;
};

const httpUrl: Parser<string> = (raw, key) => {
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return url.toString().replace(/\/+$/, '');
  } catch {
    return fail(key, 'an http(s) URL such as https://app.example.com', raw);
  }
};

const optional =
  <T>(parse: Parser<T>): Parser<T | undefined> =>
  (raw, key) =>
    parse(raw, key);

/** Fastify's trustProxy: false, true, a hop count, or a list of proxy addresses and CIDR ranges. */
export type TrustProxy = boolean | number | string[];

const trustProxy: Parser<TrustProxy> = (raw, key) => {
  const text = raw.trim().toLowerCase();
  if (TRUE.has(text) && text !== '1') return true;
  if (FALSE.has(text) && text !== '0') return false;
  // A number is a hop count ("1" included: one proxy in front); 0 trusts nobody.
  if (/^\d+$/.test(text)) return int(0, 100)(text, key) || false;
  const entries = list(raw, key);
  const bad = entries.find((entry) => {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return true;
    return bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
  if (entries.length === 0 || bad !== undefined) {
    return fail(key, 'true, false, a hop count or a comma list of IP addresses/CIDRs such as 10.0.0.0/8', raw);
  }
  return entries;
};

/**
 * Feature keys and their defaults: `key` (on), `key=false` (off), comma-separated, or a JSON object of
 * booleans. Keys are what the admin routes accept and what `config: { feature }` on a route names.
 */
const featureMap: Parser<Record<string, boolean>> = (raw, key) => {
  const expected = 'a comma list of feature keys (key or key=true|false) or a JSON object of booleans';
  const text = raw.trim();
  let entries: [string, unknown][];
  if (text.startsWith('{')) {
    try {
      entries = Object.entries(JSON.parse(text) as Record<string, unknown>);
    } catch {
      return fail(key, expected, raw);
    }
  } else {
    entries = text
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name = '', value] = part.split('=').map((v) => v.trim());
        return [
          name,
          value === undefined
            ? true
            : TRUE.has(value.toLowerCase())
              ? true
              : FALSE.has(value.toLowerCase())
                ? false
                : value,
        ];
      });
  }
  const out: Record<string, boolean> = {};
  for (const [name, value] of entries) {
    if (!/^[a-z][a-z0-9_]{0,99}$/.test(name) || typeof value !== 'boolean') return fail(key, expected, raw);
    out[name] = value;
  }
  return out;
};

const documentVersion: Parser<string> = (raw, key) => {
  const text = raw.trim();
  return text.length <= 32 ? text : fail(key, 'a document version of at most 32 characters', raw);
};

const logLevel = oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent');

const apiPrefix: Parser<string> = (raw, key) => {
  const text = raw.trim().replace(/\/+$/, '');
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(text)) fail(key, 'a path starting with / such as /api/v1', raw);
  return text;
};

/** Every setting the service reads, with its default and meaning. The README table mirrors this. */
export const settings = {
  PROJECT_NAME: { default: 'EnergyExe Core Backend', description: 'Name shown in the API docs.', parse: str },
  ENVIRONMENT: {
    default: 'development' as const,
    description: 'development, production or test. Production refuses a missing or short SECRET_KEY.',
    parse: oneOf('development', 'production', 'test'),
  },
  DEBUG: { default: false, description: 'Debug mode: enables the docs by default and debug logging.', parse: bool },
  DOCS_ENABLED: {
    default: undefined,
    defaultLabel: 'value of DEBUG',
    description: 'Serve /docs, /redoc and the OpenAPI document.',
    parse: optional(bool),
  },
  API_V1_STR: { default: '/api/v1', description: 'Prefix of every API route.', parse: apiPrefix },
  HOST: { default: '0.0.0.0', description: 'Address the HTTP server listens on.', parse: str },
  PORT: { default: 8000, description: 'Port the HTTP server listens on.', parse: int(0, 65535) },
  LOG_LEVEL: {
    default: 'info',
    description: 'fatal, error, warn, info, debug, trace or silent.',
    parse: logLevel,
  },
  SECRET_KEY: {
    default: undefined,
    defaultLabel: 'generated and kept in DATA_DIR (not in production)',
    description: 'HS256 signing key for access tokens; at least 32 characters in production.',
    parse: optional(str),
  },
  ACCESS_TOKEN_EXPIRE_MINUTES: {
    default: 30,
    description: 'Lifetime of an access token.',
    parse: int(1, 60 * 24 * 365),
  },
  REFRESH_TOKEN_EXPIRE_DAYS: {
    default: 14,
    description: 'Lifetime of a refresh token; each refresh issues a new one.',
    parse: int(1, 3650),
  },
  SESSION_MAX_DAYS: {
    default: 30,
    description: 'Absolute lifetime of a session (a login), whatever the refreshes.',
    parse: int(1, 3650),
  },
  PASSWORD_RESET_EXPIRE_MINUTES: {
    default: 60,
    description: 'Lifetime of a password reset link.',
    parse: int(1, 60 * 24 * 7),
  },
  EMAIL_VERIFICATION_EXPIRE_HOURS: {
    default: 48,
    description: 'Lifetime of an email verification link.',
    parse: int(1, 24 * 365),
  },
  REQUIRE_EMAIL_VERIFICATION: {
    default: false,
    description: 'Refuse login (403 "Email not verified") until the address is verified.',
    parse: bool,
  },
  FRONTEND_URL: {
    default: 'http://localhost:3000',
    description: 'Base URL of the front end; email links point to FRONTEND_URL/reset-password and /verify-email.',
    parse: httpUrl,
  },
  ALLOWED_HOSTS: {
    default: ['*'],
    defaultLabel: '*',
    description: 'Host header values accepted (comma list or JSON array; *.example.com wildcards; * = any).',
    parse: list,
  },
  BACKEND_CORS_ORIGINS: {
    default: [] as string[],
    defaultLabel: '(none)',
    description: 'Origins allowed by CORS (comma list or JSON array). Others never get CORS headers.',
    parse: origins,
  },
  DATABASE_URL: {
    default: undefined,
    defaultLabel: '(unset: embedded PostgreSQL in DATA_DIR)',
    description: 'PostgreSQL URL; postgresql://, postgres:// and postgresql+asyncpg:// are accepted.',
    parse: databaseUrl,
  },
  DB_POOL_SIZE: { default: 5, description: 'Base size of the PostgreSQL connection pool.', parse: int(1, 1000) },
  DB_MAX_OVERFLOW: {
    default: 10,
    description: 'Extra connections above DB_POOL_SIZE under load (pool max = size + overflow).',
    parse: int(0, 1000),
  },
  DB_ECHO: { default: false, description: 'Log every SQL statement at debug level.', parse: bool },
  // Operations (issue 8): bounded waits on the database, overload, shutdown and worker processes.
  DB_STATEMENT_TIMEOUT_MS: {
    default: 1500,
    description:
      'Longest one SQL statement may run (PostgreSQL statement_timeout, plus a client-side read timeout for a server that stops answering); past it the request answers 503.',
    parse: int(100, 3_600_000),
  },
  DB_POOL_TIMEOUT_MS: {
    default: 1000,
    description:
      'Longest a request waits for a PostgreSQL connection (a free one in the pool, or a new one) before answering 503.',
    parse: int(100, 600_000),
  },
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: {
    default: 1000,
    description: 'Answer 503 (with Retry-After) while the mean event-loop delay is above this; 0 = never.',
    parse: int(0, 600_000),
  },
  OVERLOAD_MAX_HEAP_USED_MB: {
    default: undefined,
    defaultLabel: '90% of the V8 heap limit',
    description: 'Answer 503 (with Retry-After) while the JavaScript heap in use is above this; 0 = never.',
    parse: optional(int(0, 1_000_000)),
  },
  SHUTDOWN_TIMEOUT_SECONDS: {
    default: 10,
    description:
      'Longest the drain on SIGTERM/SIGINT may take (after SHUTDOWN_DELAY_SECONDS) before the process exits 1 regardless.',
    parse: int(1, 3600),
  },
  SHUTDOWN_DELAY_SECONDS: {
    default: 0,
    description:
      'Seconds to keep serving normally after SIGTERM, readiness already 503, so load balancers stop sending first.',
    parse: int(0, 3600),
  },
  WEB_CONCURRENCY: {
    default: 1,
    description: 'Worker processes sharing the port (node:cluster); more than 1 needs DATABASE_URL.',
    parse: int(1, 256),
  },
  MIGRATE_ON_START: {
    default: undefined,
    defaultLabel: 'true on the embedded database, false with DATABASE_URL',
    description: 'Apply pending migrations when the server starts.',
    parse: optional(bool),
  },
  DATA_DIR: {
    default: './.data',
    description:
      'Folder of the embedded database (DATA_DIR/pgdata), its lock file and the generated development secret.',
    parse: str,
  },
  REDIS_URL: {
    default: undefined,
    defaultLabel: '(unset)',
    description:
      'Redis URL; when set, the credential-route and per-account counters are shared through it by every process (in-process counters while it is unreachable).',
    parse: optional(redisUrl),
  },
  RATE_LIMIT_LOGIN_PER_MINUTE: {
    default: 30,
    description:
      'Requests per client IP per minute to each credential route (login, token, register, password reset, verification); 0 = no limit.',
    parse: int(0, 1_000_000),
  },
  TRUST_PROXY: {
    default: false as TrustProxy,
    description:
      'Trust X-Forwarded-For/-Proto from: false (nobody), true (anyone), a hop count, or a comma list of proxy addresses/CIDRs.',
    parse: trustProxy,
  },
  // Abuse resistance (issue 7): global and per-account limits, password quality.
  RATE_LIMIT_PER_MINUTE: {
    default: 600,
    description:
      'Requests per client IP per minute to any route but the health probes, counted in each process; 0 = no limit.',
    parse: int(0, 1_000_000),
  },
  LOGIN_MAX_FAILURES: {
    default: 10,
    description:
      'Failed logins for one account (from any address) after which its logins are refused for a growing delay; 0 = off.',
    parse: int(0, 1000),
  },
  LOGIN_FAILURE_WINDOW_MINUTES: {
    default: 15,
    description: 'Failed logins are counted until this long has passed without one.',
    parse: int(1, 60 * 24),
  },
  LOGIN_LOCKOUT_MAX_MINUTES: {
    default: 15,
    description: 'Longest delay an account is refused logins for (1 minute, doubling per further failure, up to this).',
    parse: int(1, 60 * 24),
  },
  PASSWORD_MIN_LENGTH: {
    default: 8,
    description:
      'Shortest password accepted for a new password (at most 128; common or guessable ones are refused too).',
    parse: int(8, 128),
  },
  SMTP_HOST: {
    default: undefined,
    defaultLabel: '(unset: emails are written to the log)',
    description: 'SMTP server host for outgoing email.',
    parse: optional(str),
  },
  SMTP_PORT: { default: 587, description: 'SMTP server port.', parse: int(1, 65535) },
  SMTP_USER: { default: undefined, defaultLabel: '(unset)', description: 'SMTP user name.', parse: optional(str) },
  SMTP_PASSWORD: {
    default: undefined,
    defaultLabel: '(unset)',
    description: 'SMTP password.',
    parse: optional(str),
  },
  SMTP_TLS: { default: true, description: 'Use STARTTLS (or TLS on port 465).', parse: bool },
  EMAILS_FROM_EMAIL: {
    default: undefined,
    defaultLabel: '(unset)',
    description: 'Sender address of outgoing email (default no-reply@SMTP_HOST).',
    parse: optional(str),
  },
  EMAILS_FROM_NAME: {
    default: undefined,
    defaultLabel: 'PROJECT_NAME',
    description: 'Sender name of outgoing email.',
    parse: optional(str),
  },
  // Client portal: roles, approval, invitations, feature flags, consents.
  REGISTRATION_MODE: {
    default: 'open' as const,
    description:
      'open (self-registered accounts are approved), approval (they wait for an admin) or invite_only (self-registration answers 403).',
    parse: oneOf('open', 'approval', 'invite_only'),
  },
  CLIENT_PORTAL_URL: {
    default: undefined,
    defaultLabel: 'FRONTEND_URL',
    description: 'Base URL of the client portal: links in emails to clients (verification, reset, invitation).',
    parse: optional(httpUrl),
  },
  ADMIN_PORTAL_URL: {
    default: undefined,
    defaultLabel: 'CLIENT_PORTAL_URL',
    description: 'Base URL of the admin portal: password reset links asked for with portal "admin".',
    parse: optional(httpUrl),
  },
  INVITATION_EXPIRE_DAYS: { default: 7, description: 'Lifetime of an invitation link.', parse: int(1, 365) },
  USER_FEATURES: {
    default: { can_view_dashboard: true, can_view_reports: true, can_export_data: true, can_view_analytics: true },
    defaultLabel: 'can_view_dashboard,can_view_reports,can_export_data,can_view_analytics',
    description:
      'Feature flags clients may have, with their defaults (comma list; key=false for off by default; or a JSON object).',
    parse: featureMap,
  },
  TERMS_VERSION: {
    default: '',
    defaultLabel: '(empty: no terms to accept)',
    description: 'Current version of the terms of service users accept.',
    parse: documentVersion,
  },
  PRIVACY_VERSION: {
    default: '',
    defaultLabel: '(empty: no privacy policy to accept)',
    description: 'Current version of the privacy policy users accept.',
    parse: documentVersion,
  },
  REQUIRE_CONSENT: {
    default: false,
    description:
      'Answer 403 consent.required on authenticated routes (but /users/me, /consents and /auth) until the current versions are accepted.',
    parse: bool,
  },
  // Observability (issue 8): metrics and tracing, both off unless asked for.
  METRICS_ENABLED: {
    default: false,
    description: 'Serve Prometheus metrics at GET /metrics (outside API_V1_STR).',
    parse: bool,
  },
  METRICS_TOKEN: {
    default: undefined,
    defaultLabel: '(unset: /metrics asks no token)',
    description: 'Bearer token that GET /metrics requires when set.',
    parse: optional(str),
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    default: undefined,
    defaultLabel: '(unset: no tracing)',
    description: 'OTLP/HTTP collector URL; when set, spans are sent to its /v1/traces.',
    parse: optional(httpUrl),
  },
  OTEL_SERVICE_NAME: {
    default: 'energyexe-core',
    description: 'service.name of the traces.',
    parse: str,
  },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings;
type Parsed = { [K in keyof Settings]: ReturnType<Settings[K]['parse']> | Settings[K]['default'] };

export interface Config {
  projectName: string;
  version: string;
  environment: 'development' | 'production' | 'test';
  debug: boolean;
  docsEnabled: boolean;
  apiPrefix: string;
  host: string;
  port: number;
  logLevel: string;
  secretKey: string;
  accessTokenExpireMinutes: number;
  refreshTokenExpireDays: number;
  sessionMaxDays: number;
  passwordResetExpireMinutes: number;
  emailVerificationExpireHours: number;
  requireEmailVerification: boolean;
  frontendUrl: string;
  allowedHosts: string[];
  corsOrigins: string[];
  databaseUrl: string | undefined;
  dbPoolMax: number;
  dbEcho: boolean;
  dbStatementTimeoutMs: number;
  dbPoolTimeoutMs: number;
  overload: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number };
  shutdownTimeoutMs: number;
  shutdownDelayMs: number;
  webConcurrency: number;
  migrateOnStart: boolean;
  dataDir: string;
  redisUrl: string | undefined;
  rateLimitLoginPerMinute: number;
  trustProxy: TrustProxy;
  rateLimitPerMinute: number;
  loginThrottle: { maxFailures: number; windowMinutes: number; maxLockoutMinutes: number };
  passwordMinLength: number;
  /** Client portal. */
  registrationMode: 'open' | 'approval' | 'invite_only';
  clientPortalUrl: string;
  adminPortalUrl: string;
  invitationExpireDays: number;
  /** Allowed feature keys and their defaults. */
  userFeatures: Record<string, boolean>;
  termsVersion: string;
  privacyVersion: string;
  requireConsent: boolean;
  smtp: {
    host: string | undefined;
    port: number;
    user: string | undefined;
    password: string | undefined;
    tls: boolean;
    fromEmail: string | undefined;
    fromName: string;
  };
  metricsEnabled: boolean;
  metricsToken: string | undefined;
  otelEndpoint: string | undefined;
  otelServiceName: string;
}

function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Reads `.env` from the working directory; real environment variables win over it. */
export function readDotEnv(cwd = process.cwd()): Record<string, string> {
  const path = resolve(cwd, '.env');
  if (!existsSync(path)) return {};
  try {
    return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (error) {
    throw new ConfigError(`.env could not be read: ${(error as Error).message}`);
  }
}

function parseSettings(env: Record<string, string | undefined>): Parsed {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const raw = env[key];
    out[key] = raw === undefined || raw.trim() === '' ? setting.default : setting.parse(raw, key);
  }
  return out as Parsed;
}

/**
 * Validates the whole configuration once, failing fast with the variable's name.
 * `env` defaults to `.env` overlaid with `process.env`; pass an object to stay pure (tests, CLI).
 */
export function loadConfig(env: Record<string, string | undefined> = { ...readDotEnv(), ...process.env }): Config {
  const s = parseSettings(env);
  const dataDir = resolve(s.DATA_DIR);
  const production = s.ENVIRONMENT === 'production';
  const secretKey = resolveSecretKey({ secretKey: s.SECRET_KEY, production, dataDir });
  if (production && s.REQUIRE_EMAIL_VERIFICATION && !s.SMTP_HOST) {
    // Nobody could ever verify: the links would only reach the (redacted) log.
    throw new ConfigError('SMTP_HOST must be set in production when REQUIRE_EMAIL_VERIFICATION is true');
  }

  return {
    projectName: s.PROJECT_NAME,
    version: readPackageVersion(),
    environment: s.ENVIRONMENT,
    debug: s.DEBUG,
    docsEnabled: s.DOCS_ENABLED ?? s.DEBUG,
    apiPrefix: s.API_V1_STR,
    host: s.HOST,
    port: s.PORT,
    logLevel: env.LOG_LEVEL ? s.LOG_LEVEL : s.DEBUG ? 'debug' : s.LOG_LEVEL,
    secretKey,
    accessTokenExpireMinutes: s.ACCESS_TOKEN_EXPIRE_MINUTES,
    refreshTokenExpireDays: s.REFRESH_TOKEN_EXPIRE_DAYS,
    sessionMaxDays: s.SESSION_MAX_DAYS,
    passwordResetExpireMinutes: s.PASSWORD_RESET_EXPIRE_MINUTES,
    emailVerificationExpireHours: s.EMAIL_VERIFICATION_EXPIRE_HOURS,
    requireEmailVerification: s.REQUIRE_EMAIL_VERIFICATION,
    frontendUrl: s.FRONTEND_URL,
    allowedHosts: s.ALLOWED_HOSTS,
    corsOrigins: s.BACKEND_CORS_ORIGINS,
    databaseUrl: s.DATABASE_URL,
    dbPoolMax: s.DB_POOL_SIZE + s.DB_MAX_OVERFLOW,
    dbEcho: s.DB_ECHO,
    dbStatementTimeoutMs: s.DB_STATEMENT_TIMEOUT_MS,
    dbPoolTimeoutMs: s.DB_POOL_TIMEOUT_MS,
    overload: {
      maxEventLoopDelayMs: s.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes:
        s.OVERLOAD_MAX_HEAP_USED_MB === undefined
          ? Math.floor(getHeapStatistics().heap_size_limit * 0.9)
          : s.OVERLOAD_MAX_HEAP_USED_MB * 1024 * 1024,
    },
    shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    shutdownDelayMs: s.SHUTDOWN_DELAY_SECONDS * 1000,
    webConcurrency: s.WEB_CONCURRENCY,
    migrateOnStart: s.MIGRATE_ON_START ?? s.DATABASE_URL === undefined,
    dataDir,
    redisUrl: s.REDIS_URL,
    rateLimitLoginPerMinute: s.RATE_LIMIT_LOGIN_PER_MINUTE,
    trustProxy: s.TRUST_PROXY,
    rateLimitPerMinute: s.RATE_LIMIT_PER_MINUTE,
    loginThrottle: {
      maxFailures: s.LOGIN_MAX_FAILURES,
      windowMinutes: s.LOGIN_FAILURE_WINDOW_MINUTES,
      maxLockoutMinutes: s.LOGIN_LOCKOUT_MAX_MINUTES,
    },
    passwordMinLength: s.PASSWORD_MIN_LENGTH,
    registrationMode: s.REGISTRATION_MODE,
    clientPortalUrl: s.CLIENT_PORTAL_URL ?? s.FRONTEND_URL,
    adminPortalUrl: s.ADMIN_PORTAL_URL ?? s.CLIENT_PORTAL_URL ?? s.FRONTEND_URL,
    invitationExpireDays: s.INVITATION_EXPIRE_DAYS,
    userFeatures: s.USER_FEATURES,
    termsVersion: s.TERMS_VERSION,
    privacyVersion: s.PRIVACY_VERSION,
    requireConsent: s.REQUIRE_CONSENT,
    smtp: {
      host: s.SMTP_HOST,
      port: s.SMTP_PORT,
      user: s.SMTP_USER,
      password: s.SMTP_PASSWORD,
      tls: s.SMTP_TLS,
      fromEmail: s.EMAILS_FROM_EMAIL,
      fromName: s.EMAILS_FROM_NAME ?? s.PROJECT_NAME,
    },
    metricsEnabled: s.METRICS_ENABLED,
    metricsToken: s.METRICS_TOKEN,
    otelEndpoint: s.OTEL_EXPORTER_OTLP_ENDPOINT,
    otelServiceName: s.OTEL_SERVICE_NAME,
  };
}
