import createClient, { type Client } from 'openapi-fetch';
import type { components, operations, paths } from './schema.js';

export type { components, operations, paths };
export type User = components['schemas']['User'];
export type Token = components['schemas']['Token'];
export type ErrorResponse = components['schemas']['ErrorResponse'];

/** What the client keeps between page loads (or processes): the rotating refresh token above all. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in milliseconds since the epoch (by the client's clock). */
  accessExpiresAt: number;
}

/** Where tokens live. Every call re-reads it, so tabs sharing it (localStorage) share one session. */
export interface TokenStorage {
  load(): StoredTokens | null | Promise<StoredTokens | null>;
  save(tokens: StoredTokens): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** Tokens in memory: gone with the page or process. The default. */
export function memoryStorage(): TokenStorage {
  let tokens: StoredTokens | null = null;
  return {
    load: () => tokens,
    save: (next) => {
      tokens = next;
    },
    clear: () => {
      tokens = null;
    },
  };
}

/** Web Storage (`localStorage`, `sessionStorage`) or anything with the same three methods. */
export function webStorage(
  storage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  },
  key = 'energyexe.tokens',
): TokenStorage {
  return {
    load: () => {
      const raw = storage.getItem(key);
      return raw ? (JSON.parse(raw) as StoredTokens) : null;
    },
    save: (tokens) => storage.setItem(key, JSON.stringify(tokens)),
    clear: () => storage.removeItem(key),
  };
}

/** A response in the API's error envelope, with its stable `code` (`auth.invalid_credentials`, ...). */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly details: ErrorResponse['error']['details'];

  constructor(status: number, body: Partial<ErrorResponse> | undefined) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.type = body?.error?.type ?? 'HTTPError';
    this.code = body?.error?.code ?? `http.${status}`;
    this.requestId = body?.error?.request_id;
    this.details = body?.error?.details;
  }
}

export type SignedOutReason = 'logged_out' | 'refresh_token_reused' | 'session_ended';

/** The session is over: log in again. `reason` says why (`refresh_token_reused`: the token was stolen or replayed). */
export class SignedOutError extends Error {
  readonly reason: SignedOutReason;
  constructor(reason: SignedOutReason) {
    super(`Signed out (${reason})`);
    this.name = 'SignedOutError';
    this.reason = reason;
  }
}

/** Runs `task` while holding a lock shared by every tab of the origin (the Web Locks API's shape). */
export type CrossTabLock = <T>(name: string, task: () => Promise<T>) => Promise<T>;

export interface ClientOptions {
  /** Origin of the API, e.g. `https://api.example.com` (the paths carry `/api/v1`). */
  baseUrl: string;
  storage?: TokenStorage;
  fetch?: (request: Request) => Promise<Response>;
  /** The client's clock, in milliseconds (tests move it). */
  now?: () => number;
  /** Refresh this long before the access token expires. Default 30 seconds. */
  refreshLeewaySeconds?: number;
  /** Called once when the session ends for any reason (also when another tab ended it). */
  onSignedOut?: (reason: SignedOutReason) => void;
  /** One refresh across tabs: `navigator.locks` where the browser has it; pass another to share one elsewhere. */
  lock?: CrossTabLock;
  /** Tells other tabs of a sign-out through a BroadcastChannel of this name. Default on in browsers. */
  broadcastChannel?: string | false;
}

export interface EnergyExeClient {
  /** The typed API (openapi-fetch): `await client.api.GET('/api/v1/users/me')`. Sends the access token. */
  api: Client<paths>;
  login(username: string, password: string): Promise<Token>;
  logout(): Promise<void>;
  isSignedIn(): Promise<boolean>;
  /** Stops listening to other tabs (closes the BroadcastChannel). */
  dispose(): void;
}

const PUBLIC_PATHS =
  /\/auth\/(login|token|refresh|register|forgot-password|reset-password|verify-email|resend-verification)\/?$/;

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

function browserLock(): CrossTabLock | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return locks ? (name, task) => locks.request(name, task) : undefined;
}

async function errorBody(response: Response): Promise<Partial<ErrorResponse> | undefined> {
  try {
    return (await response.clone().json()) as Partial<ErrorResponse>;
  } catch {
    return undefined;
  }
}

/** `data` of an openapi-fetch result, or the API's error thrown as an `ApiError`. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, result.error as Partial<ErrorResponse> | undefined);
  }
  return result.data as T;
}

/**
 * A client of the EnergyExe API that owns the token lifecycle: log in, send the access token, refresh it once
 * shortly before it expires or when the API answers `auth.token_expired` (one refresh in flight, shared by
 * concurrent calls and, through `lock`, by tabs), keep the rotated refresh token, and end the session when
 * the API reports `auth.refresh_token_reused`.
 */
export function createEnergyExeClient(options: ClientOptions): EnergyExeClient {
  const storage = options.storage ?? memoryStorage();
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const now = options.now ?? Date.now;
  const leewayMs = (options.refreshLeewaySeconds ?? 30) * 1000;
  const lock = options.lock ?? browserLock() ?? ((_name, task) => task());
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const channelName =
    options.broadcastChannel ??
    (typeof (globalThis as { window?: unknown }).window === 'undefined' ? false : 'energyexe.auth');
  const channel =
    channelName && typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(channelName) : undefined;
  let signedOutNotified = false;
  channel?.addEventListener('message', (event: Event) => {
    const message = (event as MessageEvent).data as { type?: string; reason?: SignedOutReason };
    if (message?.type === 'signed-out' && message.reason) notifySignedOut(message.reason);
  });

  function notifySignedOut(reason: SignedOutReason) {
    if (signedOutNotified) return;
    signedOutNotified = true;
    options.onSignedOut?.(reason);
  }

  async function signOut(reason: SignedOutReason): Promise<SignedOutError> {
    await storage.clear();
    channel?.postMessage({ type: 'signed-out', reason });
    notifySignedOut(reason);
    return new SignedOutError(reason);
  }

  const toStored = (token: Token): StoredTokens => ({
    accessToken: token.access_token,
    refreshToken: token.refresh_token,
    accessExpiresAt: now() + token.expires_in * 1000,
  });

  let refreshing: Promise<StoredTokens> | undefined;

  /** Trades `stale`'s refresh token for a new pair, unless someone (a concurrent call, another tab) already did. */
  function refresh(stale: StoredTokens): Promise<StoredTokens> {
    refreshing ??= lock('energyexe.refresh', async () => {
      const stored = await storage.load();
      if (!stored) throw new SignedOutError('logged_out');
      if (stored.refreshToken !== stale.refreshToken) return stored;
      const response = await send(
        new Request(`${baseUrl}/api/v1/auth/refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: stored.refreshToken }),
        }),
      );
      if (response.ok) {
        const next = toStored((await response.json()) as Token);
        await storage.save(next);
        return next;
      }
      const body = await errorBody(response);
      if (response.status === 401) {
        throw await signOut(
          body?.error?.code === 'auth.refresh_token_reused' ? 'refresh_token_reused' : 'session_ended',
        );
      }
      throw new ApiError(response.status, body);
    }).finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  /** Tokens good for the next call: refreshed first when the access token is about to expire. */
  async function freshTokens(): Promise<StoredTokens | null> {
    const stored = await storage.load();
    if (!stored) return null;
    return now() < stored.accessExpiresAt - leewayMs ? stored : refresh(stored);
  }

  async function authenticatedFetch(request: Request): Promise<Response> {
    if (PUBLIC_PATHS.test(new URL(request.url).pathname)) return send(request);
    const retry = request.clone();
    const tokens = await freshTokens();
    if (!tokens) return send(request);
    request.headers.set('authorization', `Bearer ${tokens.accessToken}`);
    const response = await send(request);
    if (response.status !== 401 || (await errorBody(response))?.error?.code !== 'auth.token_expired') return response;
    // The API's clock says expired although ours did not: refresh once and try again.
    const renewed = await refresh(tokens);
    retry.headers.set('authorization', `Bearer ${renewed.accessToken}`);
    return send(retry);
  }

  const api = createClient<paths>({ baseUrl, fetch: authenticatedFetch });

  return {
    api,
    async login(username, password) {
      const token = unwrap(await api.POST('/api/v1/auth/login', { body: { username, password } }));
      await storage.save(toStored(token));
      signedOutNotified = false;
      return token;
    },
    async logout() {
      if (await storage.load()) {
        // The session ends on the server too; an already-ended one (401) is just as logged out.
        await api.POST('/api/v1/auth/logout').catch(() => undefined);
      }
      await signOut('logged_out');
    },
    async isSignedIn() {
      return (await storage.load()) !== null;
    },
    dispose() {
      channel?.close();
    },
  };
}
