import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { RouteTableEntry } from '../../src/plugins/route-table.js';
import { createActors } from '../helpers/actors.js';
import { hostile, invalidOf, type JsonSchema, validOf } from '../helpers/schema-arbitrary.js';
import { useTestApp } from '../helpers/test-app.js';

// Every route, fuzzed from its own schemas (so a new route is fuzzed without a line here): whatever arrives,
// the answer is below 500, JSON, and tells nothing about the code or the database behind it.
const ctx = useTestApp();

const postgresPass = Boolean(process.env.TEST_DATABASE_URL);
/** Runs per route: `FUZZ_RUNS` for a long session; a few hundred on PostgreSQL in CI; a quick pass embedded. */
const RUNS = Number(process.env.FUZZ_RUNS) || (postgresPass ? 200 : 15);
/** Routes that hash or verify a password cost an argon2 computation per valid request. */
const runsFor = (route: RouteTableEntry) => (takesPassword(route) ? Math.max(3, Math.ceil(RUNS / 8)) : RUNS);

const schemaOf = (route: RouteTableEntry, part: 'body' | 'querystring' | 'params') =>
  (route.schema as Record<string, JsonSchema | undefined> | undefined)?.[part];
const takesPassword = (route: RouteTableEntry) =>
  Object.keys(schemaOf(route, 'body')?.properties ?? {}).some((key) => key.includes('password'));

/** Text from the layers an error must never show: SQL, driver and stack frames. */
const LEAK =
  /\bSELECT\b[\s\S]*\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|syntax error|violates .* constraint|duplicate key|relation "|column "|at Object\.|at async |node_modules|\.(?:ts|js):\d+|\bpg\b|PGlite|drizzle|ECONN/i;
const HASH = /hashed_password|\$argon2|\$2[aby]\$/;

interface FuzzCase {
  params: Record<string, string>;
  query: Record<string, string> | string;
  body:
    | { kind: 'none' }
    | { kind: 'json' | 'form'; value: unknown }
    | { kind: 'raw'; contentType: string | undefined; text: string };
  auth: boolean;
}

const asText = (value: unknown) => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
const textRecord = (value: unknown): Record<string, string> =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asText(v)]))
    : { value: asText(value) };

/** Mostly valid, sometimes not: valid enough to reach the handlers, invalid often enough to try every check. */
const validOrNot = (schema: JsonSchema, hugeLength?: number) =>
  fc.oneof({ weight: 3, arbitrary: validOf(schema) }, { weight: 2, arbitrary: invalidOf(schema, { hugeLength }) });

const BAD_JSON = ['', '{', '{"a":', '[1,]', '{"a":1}{}', 'nul', '"\\ud800"', '{"a": NaN}', '{"a": 1e999}', '\u0000'];
const CONTENT_TYPES = [
  undefined,
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/vnd.api+json',
  'APPLICATION/JSON',
  'application/json, text/plain',
  '*/*',
];
/** JSON numbers JavaScript reads in surprising ways, in place of one field of an otherwise valid body. */
const ODD_NUMBERS = ['1e999', '-1e999', '-0', '1.0', '1e2', '9007199254740993', '1E400', '0.1e1', '-1'];

function bodyOf(route: RouteTableEntry): fc.Arbitrary<FuzzCase['body']> {
  const schema = schemaOf(route, 'body');
  const raw = fc.oneof(
    fc.record({
      contentType: fc.constant('application/json'),
      text: fc.oneof(fc.constantFrom(...BAD_JSON), fc.string()),
    }),
    fc.record({ contentType: fc.constantFrom(...CONTENT_TYPES), text: fc.string({ maxLength: 200 }) }),
  );
  const variants: fc.Arbitrary<FuzzCase['body']>[] = [
    raw.map((r) => ({ kind: 'raw' as const, ...r })),
    validOrNot(schema ?? {}).map((value) => ({ kind: 'json' as const, value })),
  ];
  if (!schema) return fc.oneof(fc.constant({ kind: 'none' as const }), ...variants);
  const keys = Object.keys(schema.properties ?? {});
  if (keys.length > 0) {
    const odd = fc.tuple(validOf(schema), fc.constantFrom(...keys), fc.constantFrom(...ODD_NUMBERS));
    variants.push(
      odd.map(([value, key, number]) => ({
        kind: 'raw' as const,
        contentType: 'application/json',
        text: JSON.stringify({ ...(value as object), [key]: '\u0001' }).replace('"\\u0001"', number),
      })),
    );
  }
  variants.push(validOrNot(schema).map((value) => ({ kind: 'form' as const, value })));
  return fc.oneof({ weight: 4, arbitrary: variants[1] as fc.Arbitrary<FuzzCase['body']> }, ...variants);
}

function caseOf(route: RouteTableEntry): fc.Arbitrary<FuzzCase> {
  const params = schemaOf(route, 'params');
  const query = schemaOf(route, 'querystring');
  return fc.record({
    // Every parameter is in the path, so each is generated apart: valid, or any hostile text.
    params: fc.record(
      Object.fromEntries(
        Object.entries(params?.properties ?? {}).map(([name, schema]) => [
          name,
          fc
            .oneof({ weight: 3, arbitrary: validOf(schema) }, hostile({ hugeLength: 300 }))
            .map(asText)
            // `.` and `..` are dot segments: URL clients (the injector included) drop them before sending, so the
            // request would reach another path than the one recorded (raw-socket path tricks are in the matrix).
            .filter((text) => text !== '.' && text !== '..'),
        ]),
      ),
    ),
    query: fc.oneof(
      query ? validOrNot(query, 5_000).map(textRecord) : fc.constant({}),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom('limit=1&limit=2', 'a[b]=1', '%zz=%', 'skip=1&skip=x', '__proto__[x]=1', '&&==&'),
    ),
    body: route.method === 'GET' || route.method === 'DELETE' ? fc.constant({ kind: 'none' as const }) : bodyOf(route),
    auth: route.hasOnRequestHooks ? fc.boolean() : fc.constant(false),
  });
}

/**
 * A path parameter percent-encoded, so that a `/` in it cannot make it another route; a lone surrogate,
 * which has no UTF-8 form, is sent as the invalid bytes a careless client would send.
 */
function encodeParam(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return `%ED%A0%80${encodeURIComponent(value.replace(/[\ud800-\udfff]/g, ''))}`;
  }
}

function request(route: RouteTableEntry, c: FuzzCase, token: string): InjectOptions {
  const url = route.url.replace(/:(\w+)/g, (_m, name: string) => encodeParam(c.params[name] ?? ''));
  const headers: Record<string, string> = c.auth ? { authorization: `Bearer ${token}` } : {};
  const options: InjectOptions = { method: route.method as 'GET', url, headers };
  if (typeof c.query === 'string') options.url = `${url}?${c.query}`;
  else options.query = c.query;
  if (c.body.kind === 'json') {
    headers['content-type'] = 'application/json';
    options.payload = JSON.stringify(c.body.value) ?? 'null';
  } else if (c.body.kind === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    options.payload = new URLSearchParams(textRecord(c.body.value)).toString();
  } else if (c.body.kind === 'raw') {
    if (c.body.contentType !== undefined) headers['content-type'] = c.body.contentType;
    options.payload = c.body.text;
  }
  return options;
}

/**
 * The message with the client's own path taken out: a 404 names the path it was asked for, and a fuzzed path may
 * well contain `pg` or `.js:1`, which is an echo of the request, not a leak from behind it.
 */
function withoutEchoedPath(message: string, code: string, method: string, url: string): string {
  if (code !== 'route.not_found') return message;
  const sent = url.split('?', 1)[0] ?? '';
  const paths = [sent, new URL(sent, 'http://localhost').pathname];
  for (const path of paths) {
    if (message === `Route ${method} ${path} not found`) return `Route ${method} <path> not found`;
  }
  throw new Error(`a 404 naming another path than the one requested (${sent}): ${message}`);
}

/** What must hold for every answer. Throws (for fast-check to shrink) with what went wrong. */
function check(response: LightMyRequestResponse, sent: InjectOptions): void {
  if (response.statusCode >= 500) throw new Error(`answered ${response.statusCode}: ${response.body.slice(0, 300)}`);
  const type = String(response.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) throw new Error(`answered with Content-Type "${type}"`);
  const body = JSON.parse(response.body) as { error?: { type?: unknown; code?: unknown; message?: unknown } };
  if (HASH.test(response.body)) throw new Error(`a password hash in the answer: ${response.body.slice(0, 300)}`);
  if (response.statusCode < 400) return;
  const { error } = body;
  if (typeof error?.type !== 'string' || typeof error.code !== 'string' || typeof error.message !== 'string') {
    throw new Error(`not the error envelope: ${response.body.slice(0, 300)}`);
  }
  if (!/^[a-z_]+(\.[a-z_]+)*$/.test(error.code)) throw new Error(`not a stable error code: ${error.code}`);
  const message = withoutEchoedPath(error.message, error.code, String(sent.method), String(sent.url));
  if (LEAK.test(message)) throw new Error(`internals in the message: ${error.message}`);
}

describe.skipIf(process.env.FUZZ_RUNS === '0')('fuzzing every route from its own schemas', () => {
  it(
    'never answers 5xx, non-JSON, or with SQL, driver text, stack frames or password hashes',
    async () => {
      const routes = ctx.app.routeTable.filter((r) => !(r.schema as { hide?: boolean } | undefined)?.hide);
      expect(routes.length).toBeGreaterThan(20);
      const a = await createActors(ctx);
      // The fuzzer may demote, deactivate or log out the superuser it calls as: undone before each request.
      const restore = async () => {
        await ctx.database.query('UPDATE users SET is_active = true, is_superuser = true WHERE id = $1', [
          a.superuser.id,
        ]);
        await ctx.database.query('UPDATE sessions SET revoked_at = NULL WHERE id = $1', [a.superuser.sessionId]);
      };

      const failures: string[] = [];
      for (const route of routes) {
        const property = fc.asyncProperty(caseOf(route), async (c) => {
          if (c.auth) await restore();
          const sent = request(route, c, a.superuser.token);
          check(await ctx.app.inject(sent), sent);
        });
        const result = await fc.check(property, { numRuns: runsFor(route), includeErrorInReport: true });
        if (result.failed) failures.push(`${route.method} ${route.url}\n${fc.defaultReportMessage(result)}`);
      }
      expect(failures, failures.join('\n\n')).toEqual([]);
    },
    process.env.FUZZ_RUNS ? 3_600_000 : postgresPass ? 900_000 : 120_000,
  );

  it('a hostile value is still a hostile value: the generators reach what they claim', () => {
    const samples = fc.sample(hostile(), { numRuns: 300, seed: 7 }).map((v) => JSON.stringify(v) ?? '');
    expect(samples.some((s) => s.length > 100_000)).toBe(true);
    expect(samples.some((s) => s.includes('DROP TABLE'))).toBe(true);
    expect(samples.some((s) => /"a":\{"a"|\[\[/.test(s) || s.split('{').length > 20)).toBe(true);
  });
});
