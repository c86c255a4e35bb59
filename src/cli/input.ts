import type { ValidateFunction } from 'ajv';
import type { Static, TSchema } from 'typebox';
import { toValidationDetails } from '../plugins/errors.js';
import { compileBodyValidator } from '../shared/validation.js';
import { cliErrors } from './errors.js';

/**
 * Checks command-line values against an API request schema, so the CLI accepts exactly what the API does.
 * Every failing field is reported, one per line, by name (never by value: it may be a password).
 */
export function createInputCheck<T extends TSchema>(schema: T): (input: Record<string, unknown>) => Static<T> {
  let validate: ValidateFunction | undefined;
  return (input) => {
    // Compiled on first use: each command's checks are built when that command runs, not at every start.
    validate ??= compileBodyValidator(schema);
    if (validate(input)) return input as Static<T>;
    const lines = toValidationDetails(validate.errors ?? [], 'body').map(
      (detail) => `  ${detail.loc.slice(1).join('.')}: ${detail.msg}`,
    );
    throw cliErrors.invalidInput(`Invalid input:\n${lines.join('\n')}`);
  };
}
