import { type Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcrypt';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Verifies argon2id hashes and the FastAPI era's passlib bcrypt hashes; false for anything else. */
  verify(storedHash: string, password: string): Promise<boolean>;
  /** True when the hash is not argon2id with the current parameters (so it should be replaced after login). */
  needsRehash(storedHash: string): boolean;
  /** Spends the time of one verification, so an unknown account answers as slowly as a wrong password. */
  verifyDummy(password: string): Promise<void>;
}

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's recommended argon2id parameters: m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** `Algorithm.Argon2id`: the package exports a const enum, which isolated modules cannot inline. */
const ARGON2ID = 2 as Algorithm;

const BCRYPT_PREFIX = /^\$2[abxy]\$\d{2}\$/;

export function createPasswordHasher(params: Argon2Params = OWASP_ARGON2): PasswordHasher {
  const options = { algorithm: ARGON2ID, ...params };
  const currentPrefix = `$argon2id$v=19$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$`;
  // Made up front, so the first unknown-account login is not slower (and so recognisable) than the rest.
  const dummy = hash('dummy-password-for-timing', options);
  dummy.catch(() => {});

  return {
    hash: (password) => hash(password, options),
    async verify(storedHash, password) {
      try {
        if (storedHash.startsWith('$argon2')) return await verify(storedHash, password);
        if (BCRYPT_PREFIX.test(storedHash)) return await bcrypt.compare(password, storedHash);
      } catch {
        // A corrupt stored hash must read as "wrong password", never as a 500 that tells the account exists.
      }
      return false;
    },
    needsRehash: (storedHash) => !storedHash.startsWith(currentPrefix),
    async verifyDummy(password) {
      await verify(await dummy, password).catch(() => false);
    },
  };
}
