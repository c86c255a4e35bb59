import type { FastifyBaseLogger } from 'fastify';

/**
 * Work that must not shape a response (its timing would tell whether an account exists), tracked so
 * shutdown can wait for it and a failure is logged instead of lost.
 */
export function createBackgroundTasks(logger: FastifyBaseLogger) {
  const inFlight = new Set<Promise<void>>();
  return {
    run(name: string, task: () => Promise<unknown>): void {
      // Started on the next turn of the event loop, after the response is written: with the embedded database
      // its queries run on this thread and would otherwise delay the answer only when an account exists.
      const promise = new Promise<void>((resolve) => setImmediate(resolve))
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
