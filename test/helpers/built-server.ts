import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** The repository root: the built server runs from here as `npm start` runs it (global-setup built dist/). */
export const ROOT = new URL('../..', import.meta.url).pathname;

const running: ChildProcess[] = [];

/** Kills whatever a test file left running (call from afterAll). */
export function killLeftovers(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface StartedProcess {
  port: number;
  url: string;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

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
  const child = spawn(
    options.command ?? process.execPath,
    options.command ? (options.commandArgs ?? []) : options.args,
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  let output = '';
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(options.ready)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => reject(new Error(`${options.args.join(' ')} exited early:\n${output}`)));
  });
  return {
    port: options.port,
    url: `http://127.0.0.1:${options.port}`,
    output: () => output,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The built API server on a free port of 127.0.0.1. */
export async function startServer(env: Record<string, string>, nodeArgs: string[] = []): Promise<StartedProcess> {
  const port = await freePort();
  return startProcess({
    args: [...nodeArgs, 'dist/server.js'],
    // Load shedding off: a busy test machine stalls the event loop past any threshold.
    env: { HOST: '127.0.0.1', PORT: String(port), OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    port,
    ready: '"msg":"server ready"',
  });
}
