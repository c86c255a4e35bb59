import fc from 'fast-check';

/** The part of JSON Schema the routes' TypeBox schemas use. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

const INT32_MAX = 2_147_483_647;

/** Values the schema accepts: types, formats, patterns, lengths, bounds, enums, required and optional keys. */
export function validOf(schema: JsonSchema): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map(validOf));
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => validOf({ ...schema, type })));
  switch (schema.type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const model = Object.fromEntries(Object.entries(properties).map(([key, p]) => [key, validOf(p)]));
      return fc.record(model, { requiredKeys: schema.required ?? [] });
    }
    case 'array':
      return fc.array(validOf(schema.items ?? {}), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 5),
      });
    case 'string':
      return stringOf(schema);
    case 'integer': {
      const min = schema.minimum ?? -INT32_MAX;
      const max = schema.maximum ?? INT32_MAX;
      // Small values find the rows that exist; the bounds are where off-by-one errors live.
      return fc.oneof(
        fc.integer({ min, max: Math.min(max, min + 5) }),
        fc.integer({ min, max }),
        fc.constantFrom(min, max),
      );
    }
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 1_000;
  const fits = (value: string) => value.length >= min && value.length <= max;
  switch (schema.format) {
    case 'email':
      return fc.emailAddress().filter(fits);
    case 'uuid':
      return fc.uuid();
    case 'date-time':
      return fc
        .date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString());
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  return fc.oneof(
    fc.string({ minLength: min, maxLength: Math.min(max, min + 40) }),
    fc.constantFrom('x'.repeat(min), 'x'.repeat(max)),
  );
}

/** Text that has broken parsers, queries, templates and logs before. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'null',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x10',
  '9007199254740993',
  "' OR '1'='1' --",
  '"; DROP TABLE users; --',
  '\\',
  '%00',
  '../../etc/passwd',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, literal on purpose
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\u202e\u0301\u200b\ufeff',
  '\ud800',
  '𝕏'.repeat(300),
  'ǅ'.repeat(129),
];

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { a: value };
  return value;
}

/** Any value at all, weighted to the ones that have broken services: wrong types, edge numbers, odd text, depth. */
export function hostile(options: { hugeLength?: number } = {}): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...NASTY_STRINGS),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.constant('a'.repeat(options.hugeLength ?? 200_000)),
    fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, 0.5, -0),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 5 }),
    fc.integer({ min: 20, max: 500 }).map(nested),
  );
}

/**
 * Values the schema refuses (or, for `{}`, anything): the whole value replaced, one property replaced by a hostile
 * value, a required key missing, or a key the schema does not list.
 */
export function invalidOf(schema: JsonSchema, options: { hugeLength?: number } = {}): fc.Arbitrary<unknown> {
  const variants: fc.Arbitrary<unknown>[] = [hostile(options)];
  if (schema.type === 'object') {
    const valid = validOf(schema) as fc.Arbitrary<Record<string, unknown>>;
    for (const key of Object.keys(schema.properties ?? {})) {
      variants.push(fc.tuple(valid, hostile(options)).map(([value, bad]) => ({ ...value, [key]: bad })));
    }
    for (const key of schema.required ?? []) {
      variants.push(valid.map(({ [key]: _dropped, ...rest }) => rest));
    }
    const extraKey = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('is_superuser', 'id', '__proto__'));
    variants.push(fc.tuple(valid, extraKey, hostile(options)).map(([value, key, bad]) => ({ ...value, [key]: bad })));
  }
  return fc.oneof(...variants);
}
