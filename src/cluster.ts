import cluster, { type Worker } from 'node:cluster';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config/config.js';
import { SHUTDOWN_MESSAGE } from './shared/worker-messages.js';

/** What the primary offers to an extension. */
export interface PrimaryContext {
  config: Config;
  logger: FastifyBaseLogger;
  /** The workers alive now. */
  workers(): Worker[];
}

/**
 * The seam for work that belongs to the primary rather than to one worker, such as aggregating every worker's
 * metrics (prom-client's AggregatorRegistry) for one scrape. The primary serves no HTTP itself: an extension
 * answers workers' IPC messages, or listens on a port of its own.
 */
export interface PrimaryExtension {
  name: string;
  /** Before the first worker is forked. */
  start?(context: PrimaryContext): void | Promise<void>;
  /** A message from a worker; return true when it was this extension's. */
  onWorkerMessage?(worker: Worker, message: unknown): boolean;
  /** After every worker has exited on shutdown. */
  stop?(): void | Promise<void>;
}

/** The primary's extensions: add one here (and its module) to give the primary another duty. */
export const primaryExtensions: PrimaryExtension[] = [];

/** Restart back-off: a worker that keeps dying is replaced less and less often, up to this. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying starts a new back-off series. */
const STABLE_AFTER_MS = 30_000;

/**
 * WEB_CONCURRENCY > 1: the primary forks that many workers (each runs src/server.ts, sharing the port), replaces
 * those that die, and on SIGTERM/SIGINT asks each to drain, then exits 0 once all have exited cleanly.
 */
export async function runPrimary(
  config: Config,
  logger: FastifyBaseLogger,
  extensions: PrimaryExtension[] = primaryExtensions,
): Promise<void> {
  const context: PrimaryContext = { config, logger, workers: () => Object.values(cluster.workers ?? {}) as Worker[] };
  for (const extension of extensions) await extension.start?.(context);

  const startedAt = new Map<number, number>();
  const restarts = new Set<NodeJS.Timeout>();
  let failures = 0;
  let listening = 0;
  let shuttingDown = false;
  let cleanExit = true;

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    worker.on('message', (message: unknown) => {
      for (const extension of extensions) if (extension.onWorkerMessage?.(worker, message)) return;
    });
  };

  cluster.on('listening', () => {
    listening++;
    if (listening === config.webConcurrency) {
      logger.info({ workers: config.webConcurrency, database: 'postgres' }, 'server ready');
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? Date.now());
    startedAt.delete(worker.id);
    if (shuttingDown) {
      if (code !== 0) cleanExit = false;
      if (context.workers().length === 0) void finish();
      return;
    }
    failures = lived > STABLE_AFTER_MS ? 1 : failures + 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (failures - 1));
    logger.error({ pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'worker exited, replacing it');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
    }, delay);
    restarts.add(timer);
  });

  const finish = async () => {
    for (const extension of extensions) await extension.stop?.();
    logger.info({ clean: cleanExit }, 'shutdown complete');
    process.exit(cleanExit ? 0 : 1);
  };

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal, exiting now');
      for (const worker of context.workers()) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal, workers: context.workers().length }, 'shutting down');
    for (const timer of restarts) clearTimeout(timer);
    // A message, not a signal: on Ctrl-C the terminal already sent SIGINT to every worker, and a second
    // signal would make them exit at once.
    for (const worker of context.workers()) if (worker.isConnected()) worker.send(SHUTDOWN_MESSAGE);
    if (context.workers().length === 0) void finish();
    const force = setTimeout(
      () => {
        logger.error('shutdown timed out, killing the workers');
        for (const worker of context.workers()) worker.process.kill('SIGKILL');
        process.exit(1);
      },
      config.shutdownDelayMs + config.shutdownTimeoutMs + 1000,
    );
    force.unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  // Each worker accepts on the shared socket itself (instead of the primary handing connections over), so a
  // draining worker can take what is queued in the backlog before letting go of it (see shared/http-drain).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  logger.info({ workers: config.webConcurrency }, 'starting workers');
  for (let i = 0; i < config.webConcurrency; i++) fork();
}
