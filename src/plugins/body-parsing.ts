import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errors } from '../shared/errors.js';
import { jsonBodyParser } from '../shared/validation.js';

/** No request shape of the API nests deeper than a few levels; 32 leaves room and stops stack-exhausting input. */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of a JSON text, by one linear scan that skips strings: no recursion, so a body of 10,000
 * brackets costs a loop, not a stack. Malformed text is left for the parser to report.
 */
export function jsonDepthExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * JSON bodies go through Fastify's own parser (prototype-poisoning checks included) after a depth check, so
 * over-nested input is a 422 before anything recursive touches it.
 */
export const bodyParsingPlugin = fp(
  (app, _options, done) => {
    // Prototype keys are let through the parser and refused by jsonBodyParser as a 422 naming them.
    const parse = jsonBodyParser(app.getDefaultJsonParser('ignore', 'ignore'));
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      (request: FastifyRequest, body: string | Buffer, next: (error: Error | null, value?: unknown) => void) => {
        const text = typeof body === 'string' ? body : body.toString('utf8');
        if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return next(errors.jsonTooDeep(MAX_JSON_DEPTH));
        void parse(request, text, next);
      },
    );
    // The API speaks JSON (and forms on the login routes); Fastify's built-in text/plain parser would let a
    // text body reach validation as a string instead of answering 415.
    app.removeContentTypeParser('text/plain');
    done();
  },
  { name: 'body-parsing', fastify: '5.x' },
);
