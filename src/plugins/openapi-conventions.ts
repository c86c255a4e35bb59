import type { FastifySchema, RouteOptions } from 'fastify';
import { bearerSecurity, ErrorResponse } from '../shared/schemas.js';
import { UNLIMITED_ROUTES } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` on a route that never touches the database (liveness): its document lists no 503. */
    database?: false;
  }
}

type JsonObject = Record<string, unknown>;
type Hook = (...args: never[]) => unknown;

/** What the document derives from a route's declaration besides its own schema. */
export interface RouteHooks {
  authenticate: Hook;
  requireAdmin: Hook;
  requireSuperuser: Hook;
}

/** Keywords only the validator understands (ajv-keywords): never part of the published document. */
const VALIDATION_ONLY = new Set(['transform']);

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const header = (description: string, schema: JsonObject) => ({ description, ...schema });

const REQUEST_ID = header('The request id: the incoming one when it is well formed, else a new UUID.', {
  type: 'string',
  maxLength: 128,
  pattern: '^[A-Za-z0-9._:-]{1,128}$',
});

const count = { type: 'integer', format: 'int32', minimum: 0, maximum: 2_147_483_647 };
const seconds = { type: 'integer', format: 'int32', minimum: 0, maximum: 86_400 };

const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': header('Requests allowed per window.', count),
  'RateLimit-Remaining': header('Requests left in the current window.', count),
  'RateLimit-Reset': header('Seconds until the window resets.', seconds),
};

const RETRY_AFTER = header('Seconds to wait before trying again.', { ...seconds, minimum: 1 });

const CORS_ORIGIN = header("Present when the request's `Origin` is one of `BACKEND_CORS_ORIGINS`: that origin.", {
  type: 'string',
  maxLength: 2048,
});

const STANDARD_ERRORS: Record<string, string> = {
  400: 'Bad request: a malformed URL or a Host header that is not allowed.',
  401: 'Not authenticated: no token, or an invalid, expired or revoked one (`WWW-Authenticate: Bearer`).',
  403: 'Authenticated, but not allowed.',
  404: 'Not found.',
  409: 'Conflict with the current state (for example an email or username already taken).',
  413: 'The request body is larger than the limit.',
  415: 'The Content-Type of the body is not supported.',
  422: 'The request failed validation; `details` lists every failing field.',
  429: 'Too many requests: wait `Retry-After` seconds.',
  500: 'Unexpected error; the body carries nothing but the request id.',
  503: 'A dependency (the database) is unavailable; try again later.',
};

const hooksOf = (route: RouteOptions): unknown[] =>
  [route.onRequest, route.preValidation, route.preHandler].flat().filter(Boolean);

function stripValidationOnly(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripValidationOnly);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    // A property *named* like a keyword has a schema (an object) as its value, never an array.
    if (VALIDATION_ONLY.has(key) && Array.isArray(inner)) continue;
    out[key] = stripValidationOnly(inner);
  }
  return out;
}

/** A query parameter with a default may be left out: the validator fills it in, so clients need not send it. */
function optionalWhenDefaulted(schema: unknown): void {
  const object = schema as { properties?: Record<string, { default?: unknown }>; required?: string[] } | undefined;
  if (!object?.properties || !object.required) return;
  object.required = object.required.filter((name) => object.properties?.[name]?.default === undefined);
}

/** A copy the document may change: the route's own schema objects are shared with the validators. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * @fastify/swagger's per-route `transform`: a route declares `operationId`, `tags`, `summary`, its inputs and
 * its own outcomes; the statuses every route of its kind can send are added here from the declaration itself:
 * 401 and 403 (roles, feature flags, consents) from `app.authenticate`, 413/415 where a body is read, 422 where
 * anything is validated, 429 (and the RateLimit headers) on every route the global limit covers, 503 unless
 * `config.database` is false, 400 and 500 everywhere, `X-Request-ID` on every response. Security is the bearer
 * schemes on authenticated routes and an explicit `[]` on public ones.
 */
export function describeRoute(hooks: RouteHooks) {
  return ({ schema, url, route }: { schema: FastifySchema; url: string; route: RouteOptions }) => {
    if (!schema || (schema as JsonObject).hide) return { schema, url };
    const out = stripValidationOnly(copy(schema)) as JsonObject;
    optionalWhenDefaulted(out.querystring);
    const routeHooks = hooksOf(route);
    const authenticated = routeHooks.includes(hooks.authenticate);
    const methods = [route.method].flat().map(String);
    const readsBody = methods.some((m) => BODY_METHODS.has(m));
    const validates = readsBody || ['body', 'querystring', 'params', 'headers'].some((part) => part in out);
    // The global per-client limit (RATE_LIMIT_PER_MINUTE) covers every route but the health probes.
    const rateLimited = route.config?.rateLimit !== undefined || !UNLIMITED_ROUTES.has(url);

    // The role a route requires is named in its security requirement (OpenAPI 3.1 roles; OAuth2 scopes), so
    // admin-only and superuser-only operations are told apart from those any signed-in user may call.
    const role = routeHooks.includes(hooks.requireSuperuser)
      ? 'superuser'
      : routeHooks.includes(hooks.requireAdmin)
        ? 'admin'
        : undefined;
    out.security ??= !authenticated
      ? []
      : role
        ? bearerSecurity.map((requirement) =>
            Object.fromEntries(Object.keys(requirement).map((name) => [name, [role]])),
          )
        : bearerSecurity;

    const response = { ...((out.response as JsonObject | undefined) ?? {}) };
    const standard: string[] = ['400', '500'];
    // 403 can come from any authenticated route: roles, a feature flag, or REQUIRE_CONSENT's consent check.
    if (authenticated) standard.push('401', '403');
    if (readsBody) standard.push('413', '415');
    if (validates) standard.push('422');
    if (rateLimited) standard.push('429');
    if (route.config?.database !== false) standard.push('503');
    for (const status of standard) response[status] ??= copy(ErrorResponse);

    for (const [status, declared] of Object.entries(response)) {
      const described = { ...(declared as JsonObject) };
      // The response's description, which @fastify/swagger takes out of the schema.
      if (STANDARD_ERRORS[status] && described.description === undefined) {
        described['x-response-description'] = STANDARD_ERRORS[status];
      }
      const headers: JsonObject = {
        'X-Request-ID': REQUEST_ID,
        'Access-Control-Allow-Origin': CORS_ORIGIN,
        ...((described.headers as JsonObject) ?? {}),
      };
      if (status === '401') headers['WWW-Authenticate'] = header('`Bearer`.', { type: 'string', const: 'Bearer' });
      if (status === '429') headers['Retry-After'] = RETRY_AFTER;
      if (rateLimited && /^[24]/.test(status)) Object.assign(headers, RATE_LIMIT_HEADERS);
      described.headers = headers;
      response[status] = described;
    }
    out.response = response;
    return { schema: out as FastifySchema, url };
  };
}

/**
 * @fastify/swagger's `transformObject`: every schema with a `title` becomes one entry of `components.schemas`,
 * referenced where it is used, so generated clients get named types (`User`, `ErrorResponse`) and the document
 * says each shape once. Two different shapes under one title stay inline.
 */
export function hoistNamedSchemas(document: JsonObject): JsonObject {
  document.components ??= {};
  const components = document.components as JsonObject;
  const named = new Map<string, { schema: JsonObject; json: string }>();
  const conflicting = new Set<string>();

  const collect = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const inner of value) collect(inner);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as JsonObject;
    for (const inner of Object.values(node)) collect(inner);
    if (typeof node.title !== 'string' || !node.type) return;
    const json = JSON.stringify(node);
    const existing = named.get(node.title);
    if (existing === undefined) named.set(node.title, { schema: node, json });
    else if (existing.json !== json) conflicting.add(node.title);
  };
  collect(document.paths);
  for (const title of conflicting) named.delete(title);

  const replaceChildren = (node: JsonObject): JsonObject =>
    Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, replace(inner)]));
  const replace = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(replace);
    if (value === null || typeof value !== 'object') return value;
    const node = value as JsonObject;
    if (typeof node.title === 'string' && named.get(node.title)?.json === JSON.stringify(node)) {
      return { $ref: `#/components/schemas/${encodeURIComponent(node.title)}` };
    }
    return replaceChildren(node);
  };
  document.paths = replace(document.paths);
  // A named schema may contain other named ones (a list of users contains the user).
  const schemas: JsonObject = { ...((components.schemas as JsonObject | undefined) ?? {}) };
  for (const [title, { schema }] of [...named].sort(([a], [b]) => a.localeCompare(b))) {
    schemas[title] = replaceChildren(schema);
  }
  components.schemas = schemas;
  hoistHeaders(document);
  return document;
}

/** Each response header is described once, in `components.headers`, and referenced from every response. */
function hoistHeaders(document: JsonObject): void {
  const components = document.components as JsonObject;
  const headers: Record<string, unknown> = { ...((components.headers as JsonObject | undefined) ?? {}) };
  for (const operations of Object.values(document.paths as Record<string, JsonObject>)) {
    for (const operation of Object.values(operations)) {
      const responses = (operation as JsonObject).responses as Record<string, JsonObject> | undefined;
      for (const response of Object.values(responses ?? {})) {
        const own = response.headers as Record<string, unknown> | undefined;
        for (const [name, value] of Object.entries(own ?? {})) {
          headers[name] ??= value;
          if (JSON.stringify(headers[name]) === JSON.stringify(value)) {
            (own as JsonObject)[name] = { $ref: `#/components/headers/${name}` };
          }
        }
      }
    }
  }
  components.headers = headers;
}
