import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import addKeywords from 'ajv-keywords';
import type { FastifySchemaCompiler } from 'fastify';

function createAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: true, // every failing field in one 422, not only the first
    removeAdditional: false, // unknown keys are rejected (additionalProperties: false), never silently dropped
    useDefaults: true,
    strict: false,
    ...options,
  });
  addFormats.default(ajv);
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
    const errors: ErrorObject[] = numeric
      .filter(({ name, spelling }) => typeof data?.[name] === 'string' && !spelling.test(data[name]))
      .map(({ name, type }) => ({
        keyword: 'type',
        instancePath: `/${name}`,
        schemaPath: `#/properties/${name}/type`,
        params: { type },
        message: `must be ${type}`,
      }));
    const valid = validate(data);
    const others = (validate.errors ?? []).filter((e) => !errors.some((own) => own.instancePath === e.instancePath));
    check.errors = errors.length + others.length > 0 ? [...errors, ...others] : null;
    return valid && errors.length === 0;
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
