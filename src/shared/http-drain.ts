import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpDrainOptions {
  /**
   * How long a connection that has no request in progress may stay open once the listener is closed. Its client
   * may have sent a request whose bytes are still on the way, or unread in the socket's buffer: that request is
   * served (with `Connection: close`) if it shows up within this time.
   */
  idleGraceMs?: number;
  /** Longest time spent accepting the connections already queued in the listen backlog. */
  backlogWindowMs?: number;
}

const LATEST_RESPONSE = Symbol('latestResponse');
type TrackedSocket = Socket & { [LATEST_RESPONSE]?: ServerResponse };

export interface HttpDrain {
  /**
   * Stops accepting connections and resolves once every connection is closed: each request already received is
   * answered in full, each keep-alive connection is closed after its current response, and idle ones after the
   * grace time. Resolving is the caller's cue to close what the requests used.
   */
  drain(): Promise<void>;
}

/**
 * Connections the kernel has completed but the process has not accepted yet, on the listening socket of `port`
 * (Linux: the rx_queue of a LISTEN entry in /proc/net/tcp*); undefined where that cannot be read.
 */
export function pendingConnections(port: number): number | undefined {
  let found: number | undefined;
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== '0A' || !fields[1]?.endsWith(hexPort)) continue;
      found = (found ?? 0) + Number.parseInt(fields[4]?.split(':')[1] ?? '0', 16);
    }
  }
  return found;
}

/**
 * Graceful drain of a node:http server, which `server.close()` alone does not give:
 * - closing the listening socket resets the connections still queued in its backlog, and Node accepts about one
 *   per event-loop turn, so after a burst many may still be queued: they are accepted first;
 * - since Node 19 `server.close()` also destroys every connection with no request *parsed* yet, including ones
 *   whose request sits unread in the socket's buffer (the client sees a reset), so the listener is closed alone
 *   and idle connections only after a grace time;
 * - Fastify's close answers a bare 503 to requests arriving on open keep-alive connections; here they are served,
 *   and each connection is closed once it has no request left (responses say `Connection: close` from then on).
 */
export function createHttpDrain(server: Server, options: HttpDrainOptions = {}): HttpDrain {
  const idleGraceMs = options.idleGraceMs ?? 500;
  const backlogWindowMs = options.backlogWindowMs ?? 1000;
  const connections = new Set<Socket>();
  let closing = false;
  let lastConnectionAt = 0;

  // Per connection, not per request: a Set entry for every response made V8 keep the responses of a busy server
  // in the old generation (a quarter more memory under load), so each connection remembers its latest response.
  server.on('connection', (socket: Socket) => {
    lastConnectionAt = Date.now();
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  // Before Fastify's handler, so the header is set before any response can start.
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (closing) response.setHeader('connection', 'close');
    else (request.socket as TrackedSocket)[LATEST_RESPONSE] = response;
  });

  /** The response each connection is working on or has queued last, told to close the connection after it. */
  function closeAfterCurrentResponses(): void {
    for (const socket of connections) {
      const response = (socket as TrackedSocket)[LATEST_RESPONSE];
      if (response && !response.headersSent) response.setHeader('connection', 'close');
    }
  }

  async function acceptBacklog(): Promise<void> {
    const address = server.address();
    if (address === null || typeof address === 'string') return;
    const until = Date.now() + backlogWindowMs;
    while (Date.now() < until) {
      const pending = pendingConnections(address.port);
      // Where the backlog cannot be read, accept until no connection came for a few turns' time.
      if (pending === 0 || (pending === undefined && Date.now() - lastConnectionAt > 50)) return;
      await sleep(1);
    }
  }

  return {
    async drain() {
      await acceptBacklog();
      const closed = new Promise<void>((resolve) => {
        // net.Server's close, not http.Server's: it waits for every connection without destroying the idle ones.
        NetServer.prototype.close.call(server, () => resolve());
      });
      await Promise.race([closed, sleep(idleGraceMs)]);
      // Only now: a keep-alive client may have pipelined requests behind one already parsed, and a response
      // with `Connection: close` would end the connection before them.
      closing = true;
      closeAfterCurrentResponses();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      await closed;
      clearInterval(sweep);
    },
  };
}
