import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, MIN_SECRET_LENGTH } from './config-error.js';

export const SECRET_FILE = 'secret_key';

/**
 * Outside production an unset SECRET_KEY is generated once and kept in DATA_DIR, so restarts and every
 * worker process sign and verify with the same key. Creation is exclusive (`wx`): when two processes race,
 * the loser reads the winner's key.
 */
export function resolveSecretKey(options: {
  secretKey: string | undefined;
  production: boolean;
  dataDir: string;
}): string {
  const { secretKey, production, dataDir } = options;
  if (secretKey !== undefined) {
    if (production && secretKey.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(
        `SECRET_KEY must be at least ${MIN_SECRET_LENGTH} characters in production (got ${secretKey.length})`,
      );
    }
    return secretKey;
  }
  if (production) {
    throw new ConfigError(
      `SECRET_KEY must be set in production (at least ${MIN_SECRET_LENGTH} characters, for example the output of: openssl rand -hex 32)`,
    );
  }
  const path = join(dataDir, SECRET_FILE);
  try {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(path, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const stored = readFileSync(path, 'utf8').trim();
    if (stored.length < MIN_SECRET_LENGTH) throw new Error(`${path} holds a key shorter than ${MIN_SECRET_LENGTH}`);
    return stored;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `SECRET_KEY is unset and DATA_DIR could not keep a generated one: ${(error as Error).message}`,
    );
  }
}
