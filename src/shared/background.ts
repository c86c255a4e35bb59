import type { FastifyBaseLogger } from 'fastify';

/** How long background work waits before it starts (see run). */
const AFTER_RESPONSE_MS = 100;

/**
 * Work that must not shape a response (its timing would tell whether an account exists), tracked so
 * shutdown can wait for it and a failure is logged instead of lost.
 */
export function createBackgroundTasks(logger: FastifyBaseLogger) {
  const inFlight = new Set<Promise<void>>();
  return {
    run(name: string, task: () => Promise<unknown>): void {
      // Started once the answer is well on its way: the work (an account lookup, an email) costs CPU and, on the
      // embedded database, this very thread, and must not show in the answer's timing only when an account exists.
      const promise = new Promise<void>((resolve) => setTimeout(resolve, AFTER_RESPONSE_MS))
        .then(task)
        .then(() => undefined)
        .catch((error: unknown) => logger.error({ err: error, task: name }, 'background task failed'))
        .finally(() => inFlight.delete(promise));
      inFlight.add(promise);
    },
    /** Resolves when every task started so far has finished. */
    async settle(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

export type BackgroundTasks = ReturnType<typeof createBackgroundTasks>;
