import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import addKeywords from 'ajv-keywords';
import type { FastifyBodyParser, FastifySchemaCompiler } from 'fastify';
import { type ErrorDetail, errors } from './errors.js';

function createAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: true, // every failing field in one 422, not only the first
    removeAdditional: false, // unknown keys are rejected (additionalProperties: false), never silently dropped
    useDefaults: true,
    strict: false,
    ...options,
  });
  addFormats.default(ajv);
  // `int32`/`int64` tell generated clients an integer's width; `minimum`/`maximum` already bound every
  // integer, so checking the format too would only report the same field twice.
  for (const format of ['int32', 'int64']) ajv.addFormat(format, { type: 'number', validate: () => true });
  addKeywords.default(ajv, ['transform']);
  return ajv;
}

/**
 * Query strings, path params and headers arrive as text and are coerced to their schema types;
 * JSON bodies are not, so `{"is_active": "false"}` is a 422 instead of quietly becoming a boolean.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const coercing = createAjv({ coerceTypes: 'array' });
  const strict = createAjv({ coerceTypes: false });
  return ({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema as object) : withCanonicalNumbers(coercing.compile(schema as object));
}

const CANONICAL = { integer: /^-?(0|[1-9][0-9]*)$/, number: /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/ };

/**
 * Ajv coerces any text JavaScript reads as a number, so `/users/4.`, `/users/0x4`, `/users/4e0` and
 * `/users/%204` would all be user 4: one resource under many paths, which path-based rules (a proxy's, a
 * cache's, an audit's) cannot follow. Numbers in paths and query strings get one spelling, plain decimal.
 */
function withCanonicalNumbers(validate: ValidateFunction): ValidateFunction {
  const properties = (validate.schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const numeric = Object.entries(properties).flatMap(([name, { type }]) =>
    type === 'integer' || type === 'number' ? [{ name, type, spelling: CANONICAL[type] }] : [],
  );
  if (numeric.length === 0) return validate;
  const check = ((data: Record<string, unknown> | null) => {
    const misspelled: ErrorObject[] = numeric
      .filter(({ name, spelling }) => typeof data?.[name] === 'string' && !spelling.test(data[name]))
      .map(({ name, type }) => ({
        keyword: 'type',
        instancePath: `/${name}`,
        schemaPath: `#/properties/${name}/type`,
        params: { type },
        message: `must be ${type}`,
      }));
    const valid = validate(data);
    const others = (validate.errors ?? []).filter((e) => !misspelled.some((m) => m.instancePath === e.instancePath));
    check.errors = misspelled.length + others.length > 0 ? [...misspelled, ...others] : null;
    return valid && misspelled.length === 0;
  }) as ValidateFunction;
  return Object.assign(check, { schema: validate.schema });
}

/**
 * A body validator for use outside Fastify (the CLI): the same Ajv setup and transforms as the routes, so a
 * rule cannot differ between the API and the command line. Failures are in `validate.errors`.
 */
export function compileBodyValidator(schema: object): ValidateFunction {
  return createAjv({ coerceTypes: false }).compile(schema);
}

interface Visit {
  value: unknown;
  key: string | number;
  parent: Visit | undefined;
}

function pathOf(visit: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at?.parent; at = at.parent) path.push(at.key);
  return path.reverse();
}

/** Enough to show what is wrong; a body made of nothing else would otherwise give an answer larger than itself. */
const MAX_REPORTED = 100;

/**
 * Every `__proto__` and `constructor` key anywhere in a parsed JSON body, as validation details. Walked with a
 * stack of its own, so a deeply nested body cannot overflow the call stack.
 */
export function prototypeKeys(body: unknown): ErrorDetail[] {
  const found: ErrorDetail[] = [];
  const stack: Visit[] = [{ value: body, key: '', parent: undefined }];
  for (let visit = stack.pop(); visit && found.length < MAX_REPORTED; visit = stack.pop()) {
    const { value } = visit;
    if (value === null || typeof value !== 'object') continue;
    const keys = Object.keys(value);
    const children: Visit[] = [];
    keys.forEach((key, i) => {
      const child = {
        value: (value as Record<string, unknown>)[key],
        key: Array.isArray(value) ? i : key,
        parent: visit,
      };
      if (key !== '__proto__' && key !== 'constructor') children.push(child);
      else
        found.push({ loc: ['body', ...pathOf(child)], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' });
    });
    // In reverse, so that the stack gives them back in document order.
    for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i] as Visit);
  }
  return found;
}

/**
 * The JSON body parser of every route: Fastify's own, told to keep `__proto__` and `constructor` keys (as
 * plain data: JSON.parse never sets a prototype), which are then refused with a 422 naming each of them, as
 * any other key a schema does not list. Fastify's default would refuse them as malformed JSON, naming nothing.
 */
export function jsonBodyParser(parse: FastifyBodyParser<string>): FastifyBodyParser<string> {
  return (request, body, done) =>
    parse(request, body, (error, value) => {
      if (error) return done(error, undefined);
      const forbidden = prototypeKeys(value);
      if (forbidden.length > 0) return done(errors.validation(forbidden), undefined);
      done(null, value);
    });
}
