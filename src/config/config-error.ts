/** A setting is missing or malformed: start-up stops with this message, which names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const MIN_SECRET_LENGTH = 32;
