import { createHash, randomBytes } from 'node:crypto';

/** An opaque bearer secret: 256 random bits, URL-safe. */
export const generateOpaqueToken = (): string => randomBytes(32).toString('base64url');

/**
 * Opaque tokens are stored only as their SHA-256: they carry 256 bits of entropy, so a fast hash is
 * enough (no dictionary to attack), and a database leak does not hand out working tokens.
 */
export const hashOpaqueToken = (token: string): string => createHash('sha256').update(token).digest('hex');
