import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';

/**
 * "The document tells the truth": every response the suite gets through `app.inject` on a documented
 * operation is recorded (one JSON line per response, in the directory the global setup names), and the
 * global teardown validates them all against the committed openapi.json, which a test keeps equal to the
 * served document. An undocumented status, a missing X-Request-ID or a body its schema rejects fails the run.
 */
export const RESPONSES_DIR_VARIABLE = 'ENERGYEXE_TEST_RESPONSES_DIR';

const DOCUMENT_PATH = new URL('../../openapi.json', import.meta.url);

interface Recorded {
  method: string;
  path: string;
  url: string;
  status: number;
  contentType: string | undefined;
  requestId: string | undefined;
  body: string;
}

type Operations = Record<string, Record<string, { responses: Record<string, unknown> }>>;

let router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1> | undefined;

/** The documented operations, matched the way the server matches routes. */
function documentRouter() {
  if (router) return router;
  router = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true });
  const document = JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8')) as { paths: Operations };
  for (const [path, methods] of Object.entries(document.paths)) {
    const template = path.replace(/\{([^}]+)\}/g, ':$1');
    for (const method of Object.keys(methods)) {
      router.on(method.toUpperCase() as HTTPMethod, template, () => {}, { path });
    }
  }
  return router;
}

type RecordedResponse = Pick<LightMyRequestResponse, 'statusCode' | 'headers' | 'body'>;

function record(dir: string, method: string, url: string, response: RecordedResponse): void {
  const pathname = url.split('?', 1)[0] ?? '/';
  const match = documentRouter().find(method as HTTPMethod, pathname);
  if (!match) return;
  const entry: Recorded = {
    method: method.toLowerCase(),
    path: (match.store as { path: string }).path,
    url,
    status: response.statusCode,
    contentType: response.headers['content-type'] as string | undefined,
    requestId: response.headers['x-request-id'] as string | undefined,
    body: response.body,
  };
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(entry)}\n`);
}

/** Wraps `app.inject` so every response it returns is recorded for the document check. */
export function recordResponses(app: FastifyInstance): void {
  const dir = process.env[RESPONSES_DIR_VARIABLE];
  if (!dir) return;
  const inject = app.inject.bind(app) as (options: InjectOptions | string) => Promise<LightMyRequestResponse>;
  (app as unknown as { inject: typeof inject }).inject = async (options) => {
    const response = await inject(options);
    const { method = 'GET', url = '/' } =
      typeof options === 'string' ? { url: options } : (options as { method?: string; url?: string });
    const target = typeof url === 'string' ? url : String((url as { pathname?: string }).pathname ?? '/');
    record(dir, method.toUpperCase(), target, response);
    return response;
  };
}

/** Wraps a `fetch` (to a server process) so every response it returns is recorded for the document check. */
export function recordingFetch(send: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    const method = request.method;
    const response = await send(request);
    const dir = process.env[RESPONSES_DIR_VARIABLE];
    if (dir) {
      const url = new URL(request.url);
      record(dir, method, `${url.pathname}${url.search}`, {
        statusCode: response.status,
        headers: Object.fromEntries(response.headers),
        body: await response.clone().text(),
      });
    }
    return response;
  };
}

/** Every recorded response checked against the document; returns one message per mismatch. */
export function validateRecordedResponses(dir: string): { checked: number; failures: string[] } {
  const document = JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8')) as { paths: Operations };
  const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, 'openapi.json');
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  const failures = new Set<string>();
  let checked = 0;

  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as Recorded;
      checked += 1;
      const where = `${r.method.toUpperCase()} ${r.url} -> ${r.status}`;
      const operation = document.paths[r.path]?.[r.method];
      if (!operation) continue; // HEAD on a GET route: no body to check
      const response = operation.responses[String(r.status)] as
        | { content?: Record<string, unknown>; headers?: Record<string, unknown> }
        | undefined;
      if (!response) {
        failures.add(`${where}: status ${r.status} is not documented for ${r.method.toUpperCase()} ${r.path}`);
        continue;
      }
      if (!r.requestId) failures.add(`${where}: no X-Request-ID header`);
      if (!response.content || r.body === '') continue;
      const mediaType = Object.keys(response.content).find((type) => r.contentType?.startsWith(type));
      if (!mediaType) {
        failures.add(`${where}: Content-Type ${r.contentType} is not one of ${Object.keys(response.content)}`);
        continue;
      }
      const pointer = ['paths', r.path, r.method, 'responses', String(r.status), 'content', mediaType, 'schema']
        .map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1')))
        .join('/');
      let validate = validators.get(pointer);
      if (!validate) {
        validate = ajv.compile({ $ref: `openapi.json#/${pointer}` });
        validators.set(pointer, validate);
      }
      let body: unknown;
      try {
        body = JSON.parse(r.body);
      } catch {
        failures.add(`${where}: the body is not JSON`);
        continue;
      }
      if (!validate(body)) {
        failures.add(`${where}: the body does not match the documented schema: ${ajv.errorsText(validate.errors)}`);
      }
    }
  }
  return { checked, failures: [...failures] };
}
