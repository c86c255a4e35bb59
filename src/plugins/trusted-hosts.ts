import fp from 'fastify-plugin';
import { errors } from '../shared/errors.js';

/** Strips the port (and IPv6 brackets' port) from a Host header and lower-cases it. */
function hostname(host: string): string {
  const value = host.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(0, value.indexOf(']') + 1);
  const colon = value.lastIndexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

export function createHostMatcher(allowed: string[]): (host: string | undefined) => boolean {
  if (allowed.includes('*')) return () => true;
  const exact = new Set(allowed.filter((h) => !h.startsWith('*.')).map((h) => h.toLowerCase()));
  const suffixes = allowed.filter((h) => h.startsWith('*.')).map((h) => h.slice(1).toLowerCase());
  return (host) => {
    if (!host) return false;
    const name = hostname(host);
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix) && name.length > suffix.length);
  };
}

/** Rejects requests whose Host header is not in ALLOWED_HOSTS (Host header poisoning, DNS rebinding). */
export const trustedHostsPlugin = fp<{ allowedHosts: string[] }>(
  async (app, { allowedHosts }) => {
    const isAllowed = createHostMatcher(allowedHosts);
    if (allowedHosts.includes('*')) return;
    app.addHook('onRequest', async (request) => {
      if (!isAllowed(request.headers.host)) throw errors.invalidHost();
    });
  },
  { name: 'trusted-hosts', fastify: '5.x', dependencies: ['security-headers'] },
);
