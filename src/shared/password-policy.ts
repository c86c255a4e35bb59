import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { errors } from './errors.js';

/** The contract's upper bound: every character counts, none is cut off. */
export const PASSWORD_MAX_LENGTH = 128;

/**
 * zxcvbn's score runs 0..4 by estimated guesses (< 10^3, 10^6, 10^8, 10^10, more). Below 2 a password falls to
 * an online attack that the per-account throttle only slows down: the common-password lists, keyboard walks,
 * the user's own name with a year.
 */
const MIN_SCORE = 2;

/** Characters a password must keep once the owner's names, username and email are taken out of it. */
const MIN_UNRELATED = 6;

/** Whose password it is: what it must not resemble. */
export interface PasswordOwner {
  username: string;
  email: string;
  firstName?: string | null | undefined;
  lastName?: string | null | undefined;
}

export interface PasswordPolicy {
  /**
   * Throws a 422 (the validation envelope, `loc` ["body", field]) saying why, when a new password is too short,
   * too long, too common or too close to the owner's details. Only new passwords are checked: existing ones
   * keep working.
   */
  check(password: string, field: string, owner: PasswordOwner): Promise<void>;
}

const WHY: Record<string, string> = {
  topTen: 'is one of the most common passwords',
  topHundred: 'is one of the most common passwords',
  common: 'is a commonly used password',
  similarToCommon: 'is too similar to a commonly used password',
  userInputs: 'is too similar to your username, email or name',
  straightRow: 'is a row of keys on the keyboard',
  keyPattern: 'is a pattern on the keyboard',
  simpleRepeat: 'repeats characters',
  extendedRepeat: 'repeats a pattern',
  sequences: 'is a sequence such as abc or 123',
  recentYears: 'is mostly a recent year',
  dates: 'is mostly a date',
  wordByItself: 'is a single word',
  namesByThemselves: 'is mostly a name',
  commonNames: 'is mostly a common name',
};

const normalise = (text: string) => text.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

/**
 * The common-password dictionaries cost about 11 MB of memory and 60 ms to index: they are loaded on the first
 * password check, not at every start, so a process that never sets a password (most of a fleet's time, the CLI's
 * other commands, most tests) never carries them.
 */
async function loadZxcvbn(): Promise<ZxcvbnFactory> {
  const [{ ZxcvbnFactory }, { adjacencyGraphs, dictionary }] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
  ]);
  return new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs });
}

export function createPasswordPolicy(settings: { minLength: number }): PasswordPolicy {
  let zxcvbn: Promise<ZxcvbnFactory> | undefined;

  const refuse = (field: string, why: string, type: string): never => {
    throw errors.validation(
      [{ loc: ['body', field], msg: `Password ${why}`, type }],
      `Password ${why}: choose another one`,
    );
  };

  return {
    async check(password, field, owner) {
      const length = [...password].length;
      if (length < settings.minLength) {
        refuse(field, `must be at least ${settings.minLength} characters long`, 'string_too_short');
      }
      if (password.length > PASSWORD_MAX_LENGTH) {
        refuse(field, `must be at most ${PASSWORD_MAX_LENGTH} characters long`, 'string_too_long');
      }
      const [local = ''] = owner.email.split('@');
      const inputs = [owner.username, owner.email, local, owner.firstName, owner.lastName].filter(
        (value): value is string => typeof value === 'string' && value.length > 0,
      );
      // zxcvbn rates "Alice.Smith" or "alice2024!" fair for Alice Smith; what is left once her own details are
      // taken out (case and punctuation aside) is what an attacker who knows them must still guess.
      const tokens = inputs.flatMap((input) => input.split(/[^\p{L}\p{N}]+/u)).map(normalise);
      let rest = normalise(password);
      for (const token of tokens.filter((t) => t.length >= 3).sort((a, b) => b.length - a.length)) {
        rest = rest.replaceAll(token, '');
      }
      if (rest.length < MIN_UNRELATED) refuse(field, WHY.userInputs as string, 'password_too_weak');
      // A failed load is not kept: the next check tries again.
      zxcvbn ??= loadZxcvbn().catch((error: unknown) => {
        zxcvbn = undefined;
        throw error;
      });
      const result = (await zxcvbn).check(password, inputs);
      if (result.score >= MIN_SCORE) return;
      const similar = result.sequence.some(
        (match) => match.pattern === 'dictionary' && match.dictionaryName === 'userInputs',
      );
      const why = similar ? WHY.userInputs : (WHY[result.feedback.warning ?? ''] ?? 'is too easy to guess');
      refuse(field, why as string, 'password_too_weak');
    },
  };
}
