import { Ajv, type Options, type ValidateFunction } from 'ajv';
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
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object);
}

/**
 * A body validator for use outside Fastify (the CLI): the same Ajv setup and transforms as the routes, so a
 * rule cannot differ between the API and the command line. Failures are in `validate.errors`.
 */
export function compileBodyValidator(schema: object): ValidateFunction {
  return createAjv({ coerceTypes: false }).compile(schema);
}
