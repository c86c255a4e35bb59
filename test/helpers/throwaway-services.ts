import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './spawned-process.js';

/**
 * PostgreSQL and Redis servers of a test's own, for fault injection (stop, freeze, restart) without touching
 * the machine's shared ones. PostgreSQL 15 comes from the Debian packages; as root, it runs as `postgres`.
 */
const PG_BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((dir) =>
  existsSync(join(dir, 'initdb')),
);
const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));

/** Why the fault tests cannot run here, or undefined when they can. */
export function throwawayServicesMissing(): string | undefined {
  if (!PG_BIN) return 'no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql';
  if (!REDIS_SERVER) return 'no redis-server';
  return undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as the postgres user when the tests run as root (PostgreSQL refuses root). */
function pgRun(binary: string, args: string[]): string {
  const path = join(PG_BIN ?? '', binary);
  const [command, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  return execFileSync(command as string, argv as string[], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Sends `signal` to a process and every process it started (a postmaster and its backends). */
function signalTree(pid: number, signal: NodeJS.Signals): void {
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    // pgrep exits 1 when there are none.
  }
  process.kill(pid, signal);
  for (const child of children) {
    try {
      process.kill(child, signal);
    } catch {
      // Already gone.
    }
  }
}

export interface ThrowawayPostgres {
  url: string;
  port: number;
  start(): Promise<void>;
  /** Fast shutdown: backends are told to stop and clients see their connections closed. */
  stop(): void;
  /** SIGSTOP on the postmaster and every backend: connections stay open and nothing answers. */
  freeze(): void;
  thaw(): void;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Stops it (thawing it first if needed) and removes its files. */
  destroy(): void;
}

/** initdb in a fresh temp directory, on a free port; started unless `started: false`. */
export async function createThrowawayPostgres(options: { started?: boolean } = {}): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'energyexe-faults-pg-'));
  chmodSync(dir, 0o700);
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  pgRun('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let frozen = false;
  const postmasterPid = () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);

  const instance: ThrowawayPostgres = {
    url,
    port,
    async start() {
      pgRun('pg_ctl', [
        'start',
        '-D',
        data,
        '-w',
        '-t',
        '60',
        '-l',
        join(dir, 'log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      ]);
    },
    stop() {
      if (frozen) instance.thaw();
      if (existsSync(join(data, 'postmaster.pid'))) pgRun('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']);
    },
    freeze() {
      signalTree(postmasterPid(), 'SIGSTOP');
      frozen = true;
    },
    thaw() {
      signalTree(postmasterPid(), 'SIGCONT');
      frozen = false;
    },
    async query(sql, params) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    destroy() {
      try {
        instance.stop();
      } catch {
        try {
          signalTree(postmasterPid(), 'SIGKILL');
        } catch {
          // Not running.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (options.started ?? true) await instance.start();
  return instance;
}

export interface ThrowawayRedis {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/** A redis-server on a free port, without persistence. */
export async function createThrowawayRedis(): Promise<ThrowawayRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'energyexe-faults-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const instance: ThrowawayRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn(
        REDIS_SERVER ?? 'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = started;
      let output = '';
      started.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      for (let i = 0; i < 100 && !output.includes('Ready to accept connections'); i++) {
        if (started.exitCode !== null) throw new Error(`redis-server exited:\n${output}`);
        await sleep(50);
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
    async destroy() {
      await instance.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}
