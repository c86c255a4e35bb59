/** What the limits did, for metrics: a listener counts, it never changes the answer. */
export type LimitEvent =
  /** A request refused with 429 by a per-address limit: `scope` global (any route) or credentials. */
  | { type: 'rate_limited'; scope: 'global' | 'credentials'; route: string }
  /** A login refused because its account is throttled (the "throttled" login outcome). */
  | { type: 'login_throttled' }
  /** An account's logins start being refused after too many failures. */
  | { type: 'login_lock_started'; lockSeconds: number }
  /** The counters moved between Redis and this process's memory. */
  | { type: 'counter_backend'; backend: 'redis' | 'memory' };

export interface LimitEvents {
  /** Adds a listener; returns the function that removes it. */
  on(listener: (event: LimitEvent) => void): () => void;
  emit(event: LimitEvent): void;
}

export function createLimitEvents(): LimitEvents {
  const listeners = new Set<(event: LimitEvent) => void>();
  return {
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // A metrics listener's bug must not turn a refusal into a 500.
        }
      }
    },
  };
}
