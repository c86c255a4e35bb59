import { type TUnsafe, Type } from 'typebox';

/**
 * One of a few strings, as `{ type: 'string', enum }`. Not a union of literals: in a response, fast-json-stringify
 * picks a union's branch by running an Ajv validator per value, and builds an Ajv instance (about 25 KB) for every
 * serializer that contains one.
 */
export const StringEnum = <const T extends string>(
  values: readonly T[],
  options: { description?: string; default?: T } = {},
): TUnsafe<T> => Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

/** A 422 lists every failing field up to this many (an unknown key is one each, so a body could hold thousands). */
export const MAX_ERROR_DETAILS = 100;

/** The contract's error envelope, declared on routes so the OpenAPI document shows it. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      type: Type.String({ maxLength: 64, examples: ['NotFoundError'] }),
      code: Type.String({ maxLength: 128, examples: ['users.not_found'] }),
      // May quote the request's path or Content-Type, which Node bounds at 16 KiB of headers.
      message: Type.String({ maxLength: 32_768, examples: ['User not found'] }),
      request_id: Type.String({ maxLength: 128 }),
      details: Type.Optional(
        Type.Array(
          Type.Object({
            // A key of the request (an unknown one included), bounded by the body limit.
            // A key (string, bounded by the body limit) or an index (integer); a type list, not a union (StringEnum).
            loc: Type.Array(
              Type.Unsafe<string | number>({
                type: ['string', 'integer'],
                format: 'int32', // for the integers (the format of a number applies to numbers only)
                maxLength: 1_048_576,
                minimum: 0,
                maximum: 2_147_483_647,
              }),
              { maxItems: 64 },
            ),
            msg: Type.String({ maxLength: 1024 }),
            type: Type.String({ maxLength: 64 }),
          }),
          { maxItems: MAX_ERROR_DETAILS },
        ),
      ),
    }),
  },
  { title: 'ErrorResponse' },
);

/** Offset pagination of a list route, spread into its query schema so every list pages the same way. */
export const OffsetPaginationFields = {
  skip: Type.Integer({
    format: 'int32',
    minimum: 0,
    maximum: 2_147_483_647,
    default: 0,
    description: 'Offset pagination.',
  }),
  limit: Type.Integer({ format: 'int32', minimum: 1, maximum: 1000, default: 100 }),
};

/** The OpenAPI security of a route that needs a bearer token: the docs' OAuth2 form or a pasted token. */
export const bearerSecurity: Record<string, string[]>[] = [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }];
