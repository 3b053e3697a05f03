/**
 * Bot API keys and admin tokens. They are 256-bit random secrets, so a single SHA-256 is the
 * right stored form (no password stretching needed: there is nothing to guess). The secret
 * is shown once, when generated; only its hash is ever configured or stored.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type SecretKind = 'bot' | 'admin';

const PREFIX: Record<SecretKind, string> = { bot: 'elv_bot_', admin: 'elv_adm_' };

/** A fresh secret, e.g. `elv_bot_<43 base64url characters>`. */
export function generateSecret(kind: SecretKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** The stored form of a secret: `sha256:<hex>`. */
export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

/** Constant-time comparison of two stored hashes. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
