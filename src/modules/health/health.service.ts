export type CheckResult = 'ok' | 'unavailable';

/** A dependency the service needs to answer requests: its name and a round trip to it. */
export interface ReadinessCheck {
  name: string;
  ping(): Promise<unknown>;
  /** The service still works without it (degraded): reported, but the instance stays ready. */
  optional?: boolean;
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createHealthService(deps: { checks: ReadinessCheck[]; timeoutMs?: number }) {
  const timeoutMs = deps.timeoutMs ?? 2000;
  return {
    /** Runs every check at once; a dependency that hangs counts as unavailable after `timeoutMs`. */
    async readiness(): Promise<{
      ready: boolean;
      checks: Record<string, CheckResult>;
      failures: Record<string, string>;
    }> {
      const results = await Promise.allSettled(deps.checks.map((check) => withTimeout(check.ping(), timeoutMs)));
      const checks: Record<string, CheckResult> = {};
      const failures: Record<string, string> = {};
      results.forEach((result, i) => {
        const name = deps.checks[i]?.name ?? String(i);
        checks[name] = result.status === 'fulfilled' ? 'ok' : 'unavailable';
        if (result.status === 'rejected') failures[name] = String((result.reason as Error)?.message ?? result.reason);
      });
      const ready = deps.checks.every((check) => check.optional || checks[check.name] === 'ok');
      return { ready, checks, failures };
    },
  };
}
