import { createHash } from 'node:crypto';
import type { Clock } from '../../shared/clock.js';
import type { CounterStore, ThrottlePolicy, ThrottleRecord } from '../../shared/counter-store.js';
import type { LimitEvents } from '../../shared/limit-events.js';
import type { AuditService, RequestMeta } from '../audit/audit.service.js';
import { authErrors } from './auth.errors.js';

export interface LoginThrottleSettings {
  /** 0 turns the throttle off. */
  maxFailures: number;
  windowMinutes: number;
  maxLockoutMinutes: number;
}

/** The first lock lasts a minute; each further failure doubles it, up to the configured maximum. */
const BASE_LOCK_MS = 60_000;

/** Which counter an attempt counts against, and the account it is, when there is one (for the audit log). */
export interface ThrottleSubject {
  key: string;
  userId: number | undefined;
}

/**
 * Per-account brute-force defence, whatever the address: after `maxFailures` failed logins within the window,
 * the account's logins are refused for a delay that grows with each further failure. The counter is the
 * account's (alice, ALICE and alice@example.com are one), and an unknown identifier gets its own, keyed by a hash
 * of its normalised form, so being throttled says nothing about whether an account exists.
 */
export function createLoginThrottle(deps: {
  store: CounterStore;
  clock: Clock;
  auditService: AuditService;
  events: LimitEvents;
  settings: LoginThrottleSettings;
}) {
  const { store, clock, auditService, events, settings } = deps;
  const enabled = settings.maxFailures > 0;
  const policy: ThrottlePolicy = {
    maxFailures: settings.maxFailures,
    windowMs: settings.windowMinutes * 60_000,
    baseLockMs: BASE_LOCK_MS,
    maxLockMs: settings.maxLockoutMinutes * 60_000,
  };

  const ended = async (subject: ThrottleSubject, reason: string, meta: RequestMeta | undefined) => {
    await auditService.record(
      { event: 'auth.login.throttle_ended', subjectUserId: subject.userId, details: { reason } },
      meta,
    );
  };

  return {
    subject(userId: number | undefined, identifier: string): ThrottleSubject {
      if (userId !== undefined) return { key: `user:${userId}`, userId };
      const digest = createHash('sha256').update(identifier.trim().toLowerCase()).digest('hex');
      return { key: `login:${digest}`, userId: undefined };
    },

    /**
     * Before a password is checked: refuses (429) while the account is locked, so a correct password is
     * refused exactly like a wrong one. Returns the record, for `succeeded`.
     */
    async check(subject: ThrottleSubject, meta: RequestMeta): Promise<ThrottleRecord | undefined> {
      if (!enabled) return undefined;
      const record = await store.getThrottle(subject.key);
      if (!record) return undefined;
      const now = clock.now().getTime();
      if (record.lockedUntil > now) {
        events.emit({ type: 'login_throttled' });
        await auditService.record(
          { event: 'auth.login.failed', subjectUserId: subject.userId, details: { reason: 'throttled' } },
          meta,
        );
        throw authErrors.loginThrottled(Math.max(1, Math.ceil((record.lockedUntil - now) / 1000)));
      }
      if (record.lockedUntil > 0 && !record.ended) {
        // Recorded when next seen: nothing runs at the moment a lock runs out.
        await store.markThrottleEnded(subject.key);
        await ended(subject, 'expired', meta);
      }
      return record;
    },

    /** A wrong password (or an unknown identifier): counts, and audits a lock when one starts. */
    async failed(subject: ThrottleSubject, meta: RequestMeta): Promise<void> {
      if (!enabled) return;
      const now = clock.now().getTime();
      const record = await store.recordFailure(subject.key, now, policy);
      if (record.lockedUntil > now) {
        const lockSeconds = Math.ceil((record.lockedUntil - now) / 1000);
        events.emit({ type: 'login_lock_started', lockSeconds });
        await auditService.record(
          {
            event: 'auth.login.throttled',
            subjectUserId: subject.userId,
            details: { failures: record.failures, lock_seconds: lockSeconds },
          },
          meta,
        );
      }
    },

    /** A correct password: the count starts again. */
    async succeeded(subject: ThrottleSubject, record: ThrottleRecord | undefined): Promise<void> {
      if (record) await store.clearThrottle(subject.key);
    },

    /** A password reset proves the owner: any lock on the account ends now. */
    async reset(userId: number, meta: RequestMeta | undefined): Promise<void> {
      if (!enabled) return;
      const subject = { key: `user:${userId}`, userId };
      const record = await store.getThrottle(subject.key);
      if (!record) return;
      await store.clearThrottle(subject.key);
      if (record.lockedUntil > clock.now().getTime()) await ended(subject, 'password_reset', meta);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
