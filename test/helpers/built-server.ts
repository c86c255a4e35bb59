import { SERVER_READY, type SpawnedProcess, spawnProcess, spawnServer } from './spawned-process.js';

const running: SpawnedProcess[] = [];

/** Kills whatever a test file left running (call from afterAll). */
export function killLeftovers(): void {
  for (const child of running) child.kill();
}

export interface StartedProcess {
  port: number;
  url: string;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const started = (spawned: SpawnedProcess, port: number): StartedProcess => ({
  port,
  url: `http://127.0.0.1:${port}`,
  output: spawned.output,
  stop: () => spawned.stop(),
});

/**
 * Starts `node <args>` (or `command`) with only PATH and `env`, and resolves once its output contains `ready`
 * (rejects if it exits first).
 */
export async function startProcess(options: {
  args: string[];
  env: Record<string, string>;
  port: number;
  ready: string;
  /** Another program than node (its arguments in `commandArgs`). */
  command?: string;
  commandArgs?: string[];
}): Promise<StartedProcess> {
  const spawned = spawnProcess(
    options.command
      ? { command: options.command, args: options.commandArgs ?? [], env: options.env }
      : { args: options.args, env: options.env },
  );
  running.push(spawned);
  await spawned.waitFor(options.ready, Number.POSITIVE_INFINITY);
  return started(spawned, options.port);
}

/** The built API server on a free port of 127.0.0.1. */
export async function startServer(env: Record<string, string>, nodeArgs: string[] = []): Promise<StartedProcess> {
  // Load shedding off: a busy test machine stalls the event loop past any threshold.
  const server = await spawnServer({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', ...env }, { nodeArgs });
  running.push(server);
  await server.waitFor(SERVER_READY, Number.POSITIVE_INFINITY);
  return started(server, server.port);
}
