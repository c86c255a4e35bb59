import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** The repository root: the built server runs from here as `npm start` runs it (global-setup built dist/). */
export const ROOT = new URL('../..', import.meta.url).pathname;

/** What the server logs once it accepts requests. */
export const SERVER_READY = '"msg":"server ready"';

/** A port of 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface SpawnedProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /**
   * Resolves when the output contains `text`; rejects if the process exits first or, unless `timeoutMs` is
   * `Infinity`, when it has not appeared within `timeoutMs`.
   */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if `killAfterMs` is given and it has not exited by then; resolves with the exit code. */
  stop(killAfterMs?: number): Promise<number | null>;
  /** SIGKILL if still running: for cleanup after a failure. */
  kill(): void;
}

/** Starts `command` (node by default) from the repository root with only PATH and `env`, collecting its output. */
export function spawnProcess(options: {
  args: string[];
  env: Record<string, string>;
  command?: string;
}): SpawnedProcess {
  const child = spawn(options.command ?? process.execPath, options.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const name = [options.command ?? 'node', ...options.args].join(' ');
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    output: () => output,
    exited,
    waitFor(text, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!output.includes(text)) return;
          cleanup();
          resolve();
        };
        const timer = Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              cleanup();
              reject(new Error(`${name}: no "${text}" within ${timeoutMs} ms:\n${output}`));
            }, timeoutMs)
          : undefined;
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (!output.includes(text)) {
            cleanup();
            reject(new Error(`${name} exited before "${text}":\n${output}`));
          }
        });
        check();
      });
    },
    async stop(killAfterMs) {
      if (!running()) return exited;
      child.kill('SIGTERM');
      const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (running()) child.kill('SIGKILL');
    },
  };
}

export interface SpawnedServer extends SpawnedProcess {
  port: number;
  url: string;
}

/**
 * Starts the built API server (dist/server.js) on `port` (a free one by default) of 127.0.0.1, with only PATH,
 * HOST, PORT and `env`. It does not wait: `waitFor(SERVER_READY)` does.
 */
export async function spawnServer(
  env: Record<string, string>,
  options: { port?: number | undefined; nodeArgs?: string[] } = {},
): Promise<SpawnedServer> {
  const port = options.port ?? (await freePort());
  const server = spawnProcess({
    args: [...(options.nodeArgs ?? []), 'dist/server.js'],
    env: { HOST: '127.0.0.1', PORT: String(port), ...env },
  });
  return { ...server, port, url: `http://127.0.0.1:${port}` };
}
