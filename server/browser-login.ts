/**
 * What the approval pages and the admin console share for a login in the browser: one-time
 * tokens that the store keeps only by their hash, the cookie that binds a login to the browser
 * that started it, and the start of the login at the identity provider.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { ApiError } from '../domain/errors.js';
import { z } from 'zod';
import type { SingleUseRecords } from '../core/ports/single-use.js';
import type { LoginTransaction } from '../integrations/oidc/step-up.js';

/** A fresh one-time token: 32 random bytes, base64url. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** A token's SHA-256 (base64url), the store's key for it: the store never holds a usable token. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** The value of the request's cookie `name`, if it came with one. */
export function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** A relying party that starts logins: the approvals' step-up client, the console's sign-in client. */
export interface LoginStarter {
  begin(): Promise<{ url: string; transaction: LoginTransaction }>;
}

/** An OpenID Connect login transaction as kept while the browser is at the provider. */
export const LoginTransactionSchema = z.object({
  state: z.string(),
  nonce: z.string(),
  codeVerifier: z.string(),
  createdAt: z.number(),
}) satisfies z.ZodType<LoginTransaction>;

/** What every login in progress keeps besides what its kind adds: the transaction and the browser's binding value. */
export interface PendingLoginBase {
  transaction: LoginTransaction;
  browser: string;
}

/**
 * The schema of a login in progress that keeps `keep`'s fields too: the single-use namespace of
 * such logins parses each with it.
 */
export function pendingLoginSchema<S extends z.ZodRawShape>(keep: S) {
  return z.object({ ...keep, transaction: LoginTransactionSchema, browser: z.string() });
}

/** Where a login in progress is kept, and how its browser is marked. */
export interface PendingLoginStore<K extends object> {
  /** The relying party, discovered on first use. */
  client: () => Promise<LoginStarter>;
  logger: Logger;
  /** The logins in progress of this kind, by the hash of their state (a single-use namespace). */
  records: Pick<SingleUseRecords<K & PendingLoginBase>, 'put'>;
  /** When the login in progress is forgotten. */
  expiresAt: () => Date;
  /** The `set-cookie` header that gives the browser its binding value. */
  cookie: (browser: string) => string;
}

/**
 * Sends the browser to the identity provider to log in. Until the callback, the store keeps the
 * login's transaction with `keep` and a fresh random `browser` value, which the cookie gives to
 * this browser only: the callback counts only when it comes with that cookie. A provider that
 * cannot be reached is logged and thrown as `service_unavailable`.
 */
export async function redirectToLogin<K extends object>(
  res: Response,
  pending: PendingLoginStore<K>,
  keep: K,
): Promise<void> {
  const client = await pending.client().catch((err: unknown) => {
    pending.logger.error({ err: (err as Error).message }, 'the OpenID Connect provider cannot be reached');
    throw new ApiError(
      'service_unavailable',
      'The identity provider cannot be reached right now; try again.',
    );
  });
  const { url, transaction } = await client.begin();
  const browser = newToken();
  await pending.records.put(
    tokenDigest(transaction.state),
    { ...keep, transaction, browser },
    pending.expiresAt(),
  );
  res.setHeader('set-cookie', pending.cookie(browser));
  res.redirect(303, url);
}
