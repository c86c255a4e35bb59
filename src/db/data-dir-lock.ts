import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

interface Holder {
  pid: number;
  hostname: string;
  command: string;
  started_at: string;
}

const LOCK_FILE = 'embedded.lock';
const HEARTBEAT_MS = 10_000;
/** A holder on another host (a container sharing the volume) cannot be probed by pid; its heartbeat can. */
const STALE_AFTER_MS = 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

function isStale(path: string, holder: Holder | undefined): boolean {
  if (!holder) return true;
  // Same pid as ours means a previous incarnation (e.g. PID 1 in a restarted container): it cannot be running.
  if (holder.hostname === hostname()) return holder.pid === process.pid || !isAlive(holder.pid);
  return Date.now() - statSync(path).mtimeMs > STALE_AFTER_MS;
}

export interface DataDirLock {
  release(): void;
}

/**
 * The embedded database belongs to one process at a time: PGlite has no locking of its own, and two
 * processes writing one data directory corrupt it. A lock left by a crashed process is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me: Holder = {
    pid: process.pid,
    hostname: hostname(),
    command: process.argv.slice(1).join(' ').slice(0, 200),
    started_at: new Date().toISOString(),
  };

  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      if (attempt === 0 && isStale(path, holder)) {
        rmSync(path, { force: true });
        continue;
      }
      const who = holder
        ? `process ${holder.pid} on ${holder.hostname} (${holder.command || 'node'}, since ${holder.started_at})`
        : 'another process';
      throw new DataDirLockedError(
        `The embedded database in ${dataDir} is in use by ${who}. Stop it first, or set DATABASE_URL to share a PostgreSQL server between processes.`,
      );
    }
  }

  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // The lock file vanished (someone removed it by hand); nothing useful to do until release.
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}
