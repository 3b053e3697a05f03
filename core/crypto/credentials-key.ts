/**
 * The key that seals AWS credentials-mode sessions while they wait for their bot
 * (`ELEVATE_CREDENTIALS_KEY`): its size, how it is read from settings, and how a new one is made.
 */
import { randomBytes } from 'node:crypto';

/** Length of the key, in bytes (AES-256). */
export const CREDENTIALS_KEY_BYTES = 32;

/**
 * Reads a key given as base64 (44 characters with padding) or hex (64 characters).
 *
 * @throws {Error} naming what is wrong (never echoing the value) when it is not 32 bytes.
 */
export function parseCredentialsKey(text: string): Buffer {
  const s = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(s)
    ? Buffer.from(s, 'hex')
    : /^[A-Za-z0-9+/]{43}=?$/.test(s)
      ? Buffer.from(s, 'base64')
      : undefined;
  if (!key || key.length !== CREDENTIALS_KEY_BYTES) {
    throw new Error(
      `must be ${CREDENTIALS_KEY_BYTES} random bytes as base64 or hex (make one with: openssl rand -base64 32)`,
    );
  }
  return key;
}

/** A fresh random key, base64. */
export function newCredentialsKey(): string {
  return randomBytes(CREDENTIALS_KEY_BYTES).toString('base64');
}
