import { request as httpRequest } from 'node:http';
import { Socket } from 'node:net';
import { SERVER_READY, type SpawnedServer, spawnServer } from './spawned-process.js';

/** The built server (dist/, built by global-setup), started the way `npm start` starts it. */
export type ServerProcess = SpawnedServer;

const running = new Set<ServerProcess>();

/** Kills every server a test started and that still runs (call from afterEach/afterAll). */
export function killAll(): void {
  for (const server of running) server.kill();
  running.clear();
}

/** Starts dist/server.js with only `env` (plus PATH, HOST and a free PORT) and resolves once it logged "server ready". */
export async function startServer(
  env: Record<string, string>,
  options: { waitForReady?: boolean; port?: number } = {},
): Promise<ServerProcess> {
  const server = await spawnServer({ LOG_LEVEL: 'info', ...env }, { port: options.port });
  running.add(server);
  if (options.waitForReady ?? true) await server.waitFor(SERVER_READY);
  return server;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a connection of its own (no keep-alive pool), so each request is a separate TCP connection. */
export function requestOnNewConnection(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
    const req = httpRequest(
      url,
      {
        method: init.method ?? 'GET',
        agent: false,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...init.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A connected TCP socket to `port`, for writing a request by hand at a chosen moment. */
export function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => resolve(socket));
  });
}

/** Everything the server sends on `socket` until it closes the connection. */
export function readUntilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

export const jsonRequest = (path: string, body: unknown, host = 'localhost'): string => {
  const payload = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
};
