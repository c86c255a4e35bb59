import type { FastifyBaseLogger } from 'fastify';
import type { Redis, RedisOptions } from 'ioredis';

/**
 * Options of the server's Redis client. A limit that waits on Redis would let a slow Redis slow every login
 * down, and an offline queue would hold requests until it came back: commands fail within 200 ms instead,
 * and the counters fall back to this process's memory (see createFailoverCounterStore).
 */
export const REDIS_CLIENT_OPTIONS: RedisOptions = {
  commandTimeout: 200,
  connectTimeout: 1000,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  // Reconnects for ever, at most every 2 s: recovery needs no restart.
  retryStrategy: (times) => Math.min(times * 100, 2000),
};

/** The state of one login-throttle counter. Times are the service clock's milliseconds. */
export interface ThrottleRecord {
  failures: number;
  lastFailureAt: number;
  /** 0 when the account was never refused in this window. */
  lockedUntil: number;
  /** The end of the last lock has been recorded (audit). */
  ended: boolean;
}

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  baseLockMs: number;
  maxLockMs: number;
}

/**
 * Counters behind every limit: fixed-window hit counts (per address on the credential routes) and the
 * per-account login-failure records. Implementations never share state by accident: Redis keys are namespaced.
 */
export interface CounterStore {
  /** Adds one hit to `key`'s current window (which starts on its first hit); the count and the ms left. */
  hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
  getThrottle(key: string): Promise<ThrottleRecord | undefined>;
  /** Counts one failure atomically, starting a lock when the policy says so; the record afterwards. */
  recordFailure(key: string, nowMs: number, policy: ThrottlePolicy): Promise<ThrottleRecord>;
  markThrottleEnded(key: string): Promise<void>;
  clearThrottle(key: string): Promise<void>;
}

/** The lock a failure count earns: none below the maximum, then 1 base delay doubling per further failure. */
export function lockDuration(failures: number, policy: ThrottlePolicy): number {
  if (policy.maxFailures === 0 || failures < policy.maxFailures) return 0;
  return Math.min(policy.maxLockMs, policy.baseLockMs * 2 ** Math.min(failures - policy.maxFailures, 30));
}

/** How long a record is kept after its last failure: past its lock's end and the window after it. */
const recordTtl = (policy: ThrottlePolicy) => policy.maxLockMs + policy.windowMs;

/** A failure moves the record on; used as is by the memory store and mirrored by the Lua script. */
function nextRecord(previous: ThrottleRecord | undefined, nowMs: number, policy: ThrottlePolicy): ThrottleRecord {
  let failures = previous?.failures ?? 0;
  const lockedUntil = previous?.lockedUntil ?? 0;
  // The window runs from the last failure or the end of the last lock, whichever is later: guessing on after
  // a lock meets the longest delay again at once.
  if (nowMs - Math.max(previous?.lastFailureAt ?? 0, lockedUntil) > policy.windowMs) failures = 0;
  failures += 1;
  const lock = lockDuration(failures, policy);
  return lock > 0
    ? { failures, lastFailureAt: nowMs, lockedUntil: nowMs + lock, ended: false }
    : {
        failures,
        lastFailureAt: nowMs,
        lockedUntil: failures === 1 ? 0 : lockedUntil,
        ended: previous?.ended ?? false,
      };
}

/** Most entries a memory store keeps; the oldest go first beyond it, so a flood of keys cannot exhaust memory. */
const MEMORY_MAX_ENTRIES = 100_000;

/** Counters of this process alone (no REDIS_URL, or while Redis is unreachable). */
export function createMemoryCounterStore(maxEntries = MEMORY_MAX_ENTRIES): CounterStore {
  // Expiry is by wall time (Date.now), like Redis TTLs; the throttle's own rules use the service clock.
  const hits = new Map<string, { count: number; resetAt: number }>();
  const throttles = new Map<string, { record: ThrottleRecord; expiresAt: number }>();

  const bound = (map: Map<string, unknown>) => {
    if (map.size <= maxEntries) return;
    for (const key of map.keys()) {
      map.delete(key);
      if (map.size <= maxEntries) break;
    }
  };

  return {
    async hit(key, windowMs) {
      const now = Date.now();
      let entry = hits.get(key);
      if (!entry || entry.resetAt <= now) {
        hits.delete(key);
        entry = { count: 0, resetAt: now + windowMs };
        hits.set(key, entry);
        bound(hits);
      }
      entry.count += 1;
      return { count: entry.count, ttlMs: entry.resetAt - now };
    },
    async getThrottle(key) {
      const entry = throttles.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= Date.now()) {
        throttles.delete(key);
        return undefined;
      }
      return { ...entry.record };
    },
    async recordFailure(key, nowMs, policy) {
      const previous = await this.getThrottle(key);
      const record = nextRecord(previous, nowMs, policy);
      throttles.delete(key);
      throttles.set(key, { record, expiresAt: Date.now() + recordTtl(policy) });
      bound(throttles);
      return { ...record };
    },
    async markThrottleEnded(key) {
      const entry = throttles.get(key);
      if (entry) entry.record.ended = true;
    },
    async clearThrottle(key) {
      throttles.delete(key);
    },
  };
}

const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

// The same rules as nextRecord, in one atomic step: parallel guesses from many addresses cannot lose a count.
const FAILURE_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local base = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local r = redis.call('HMGET', KEYS[1], 'failures', 'last', 'locked_until', 'ended')
local failures = tonumber(r[1]) or 0
local locked = tonumber(r[3]) or 0
local ended = r[4] or '0'
if now - math.max(tonumber(r[2]) or 0, locked) > window then failures = 0 end
failures = failures + 1
if failures == 1 then locked = 0 end
if max > 0 and failures >= max then
  locked = now + math.min(cap, base * 2 ^ math.min(failures - max, 30))
  ended = '0'
end
redis.call('HSET', KEYS[1], 'failures', failures, 'last', string.format('%d', now),
  'locked_until', string.format('%d', locked), 'ended', ended)
redis.call('PEXPIRE', KEYS[1], ttl)
return {failures, string.format('%d', locked), ended}
`;

// Only an existing record: a marker alone would have no expiry.
const MARK_ENDED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'ended', '1') end
return 0
`;

type ScriptedRedis = Redis & {
  energyexeHit(key: string, windowMs: number): Promise<[number, number]>;
  energyexeFailure(key: string, ...args: (number | string)[]): Promise<[number, string, string]>;
  energyexeMarkEnded(key: string): Promise<unknown>;
};

/** Counters shared by every process through Redis. Errors (timeouts, a lost connection) are thrown. */
export function createRedisCounterStore(redis: Redis, prefix = 'energyexe:'): CounterStore {
  const scripted = redis as ScriptedRedis;
  if (typeof scripted.energyexeHit !== 'function') {
    redis.defineCommand('energyexeHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    redis.defineCommand('energyexeFailure', { numberOfKeys: 1, lua: FAILURE_SCRIPT });
    redis.defineCommand('energyexeMarkEnded', { numberOfKeys: 1, lua: MARK_ENDED_SCRIPT });
  }
  const throttleKey = (key: string) => `${prefix}login-throttle:${key}`;

  return {
    async hit(key, windowMs) {
      const [count, ttlMs] = await scripted.energyexeHit(`${prefix}rate-limit:${key}`, windowMs);
      return { count, ttlMs };
    },
    async getThrottle(key) {
      const [failures, last, lockedUntil, ended] = await redis.hmget(
        throttleKey(key),
        'failures',
        'last',
        'locked_until',
        'ended',
      );
      if (failures === null) return undefined;
      return {
        failures: Number(failures),
        lastFailureAt: Number(last),
        lockedUntil: Number(lockedUntil),
        ended: ended === '1',
      };
    },
    async recordFailure(key, nowMs, policy) {
      const [failures, lockedUntil, ended] = await scripted.energyexeFailure(
        throttleKey(key),
        nowMs,
        policy.windowMs,
        policy.maxFailures,
        policy.baseLockMs,
        policy.maxLockMs,
        recordTtl(policy),
      );
      return { failures, lastFailureAt: nowMs, lockedUntil: Number(lockedUntil), ended: ended === '1' };
    },
    async markThrottleEnded(key) {
      await scripted.energyexeMarkEnded(throttleKey(key));
    },
    async clearThrottle(key) {
      await redis.del(throttleKey(key));
    },
  };
}

export type CounterBackend = 'redis' | 'memory';

/** A CounterStore that knows where its counters live right now (for /health/ready and the logs). */
export interface FailoverCounterStore extends CounterStore {
  backend(): CounterBackend;
}

/** How often, at most, a store in fallback tries Redis again when the client still looks connected. */
const PROBE_INTERVAL_MS = 1000;

/**
 * Redis first, this process's memory while Redis is unreachable or slow: the limits never turn off and a
 * request never waits on a dead Redis. The switch is logged once each way; coming back is automatic, when the
 * client reconnects or a probe answers. Counts made in memory during an outage are not copied to Redis.
 */
export function createFailoverCounterStore(deps: {
  redis: Redis;
  logger: FastifyBaseLogger;
  memory?: CounterStore;
  onSwitch?: (backend: CounterBackend) => void;
}): FailoverCounterStore {
  const { redis, logger } = deps;
  const primary = createRedisCounterStore(redis);
  const memory = deps.memory ?? createMemoryCounterStore();
  let current: CounterBackend = 'redis';
  // Set when a command failed on a client that still says "ready" (a timeout): memory until a probe answers.
  let failedAt: number | undefined;
  let probing = false;

  const switchTo = (backend: CounterBackend, error?: unknown) => {
    if (current === backend) return;
    current = backend;
    if (backend === 'memory') {
      logger.warn(
        { err: error, redis_status: redis.status },
        'Redis unavailable: rate-limit and login counters are kept in this process until it is back',
      );
    } else {
      logger.info('Redis available again: rate-limit and login counters are shared through it');
    }
    deps.onSwitch?.(backend);
  };

  redis.on('ready', () => {
    failedAt = undefined;
    switchTo('redis');
  });

  const probe = () => {
    if (probing || failedAt === undefined || Date.now() - failedAt < PROBE_INTERVAL_MS) return;
    probing = true;
    redis.ping().then(
      () => {
        probing = false;
        failedAt = undefined;
        switchTo('redis');
      },
      () => {
        probing = false;
        failedAt = Date.now();
      },
    );
  };

  const usable = () => {
    if (redis.status !== 'ready') return false;
    if (failedAt === undefined) return true;
    probe();
    return false;
  };

  async function run<T>(op: (store: CounterStore) => Promise<T>): Promise<T> {
    if (usable()) {
      try {
        const result = await op(primary);
        switchTo('redis');
        return result;
      } catch (error) {
        failedAt = Date.now();
        switchTo('memory', error);
      }
    } else {
      switchTo('memory');
    }
    return op(memory);
  }

  return {
    backend: () => current,
    hit: (key, windowMs) => run((store) => store.hit(key, windowMs)),
    getThrottle: (key) => run((store) => store.getThrottle(key)),
    recordFailure: (key, nowMs, policy) => run((store) => store.recordFailure(key, nowMs, policy)),
    markThrottleEnded: (key) => run((store) => store.markThrottleEnded(key)),
    // Both: a reset must not leave a lock behind in the store the next request may use.
    clearThrottle: async (key) => {
      await memory.clearThrottle(key);
      await run((store) => (store === memory ? Promise.resolve() : store.clearThrottle(key)));
    },
  };
}
