import { Type } from 'typebox';

/** The contract's error envelope, declared on routes so the OpenAPI document shows it. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      type: Type.String({ examples: ['NotFoundError'] }),
      code: Type.String({ examples: ['users.not_found'] }),
      message: Type.String({ examples: ['User not found'] }),
      request_id: Type.String(),
      details: Type.Optional(
        Type.Array(
          Type.Object({
            loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
            msg: Type.String(),
            type: Type.String(),
          }),
        ),
      ),
    }),
  },
  { title: 'ErrorResponse' },
);

/** The OpenAPI security of a route that needs a bearer token: the docs' OAuth2 form or a pasted token. */
export const bearerSecurity: Record<string, string[]>[] = [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }];
