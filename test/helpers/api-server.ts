import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_READY, spawnServer } from './spawned-process.js';

/** The built server (global-setup built dist/ for this run), started the way `npm start` starts it. */
export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; removes its data directory. */
  stop(): Promise<void>;
}

/** Starts dist/server.js on a free loopback port with a data directory of its own; resolves when it is ready. */
export async function startServer(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'energyexe-server-'));
  const server = await spawnServer({ DATA_DIR: dataDir, ...env });
  await server.waitFor(SERVER_READY, 30_000);
  return {
    url: server.url,
    port: server.port,
    child: server.child,
    output: server.output,
    async stop() {
      await server.stop(10_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
