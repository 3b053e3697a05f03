/**
 * The hand-off of temporary cloud credentials (AWS credentials mode) from the worker that
 * issues them to the bot that asked, exactly once.
 *
 * The worker issues the credentials while granting and deposits them here; the API gives them
 * to the elevation's bot on its first request and never again. In between they wait in the
 * store's single-use table, encrypted with AES-256-GCM under a key only Elevate's processes hold
 * (`ELEVATE_CREDENTIALS_KEY`), bound to the elevation by the cipher's associated data: a copy of
 * the database alone yields nothing usable, and a deposit cannot be replayed under another
 * elevation. Each deposit also expires when the credentials do.
 *
 * One marker per elevation, `closed`, makes "once" hold across processes and retries: it is
 * set (atomically, first writer wins) before a deposit is taken, by the delivery or by the
 * revocation, and a deposit is never made after it. So whatever the interleaving of a retried
 * grant, the bot's request and a revocation, the bot receives at most one set, and none after
 * the elevation was revoked.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SingleUseNamespaces, SingleUseRecords } from '../core/ports/single-use.js';
import { CREDENTIALS_KEY_BYTES } from '../core/crypto/credentials-key.js';

/** Temporary credentials as the bot receives them. Secret. */
export interface HandoffCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** When the cloud stops accepting them (ISO 8601). */
  expiration: string;
  /** The session's name as the cloud's audit log shows it. */
  sessionName: string;
}

/** What may be said about a session without revealing it: its name and expiry. */
export interface SessionInfo {
  sessionName: string;
  expiration: string;
}

/** Why a bot's request for credentials got none. */
export type HandoffRefusal = 'already_delivered' | 'revoked' | 'expired' | 'not_issued';

/** Outcome of {@link CredentialVault.deliver}. */
export type DeliveryResult =
  | { ok: true; credentials: HandoffCredentials }
  | { ok: false; reason: HandoffRefusal; session?: SessionInfo };

/** Outcome of {@link CredentialVault.withdraw}: what became of the elevation's credentials. */
export interface WithdrawResult {
  /** The session issued, if any. */
  session?: SessionInfo;
  /** Whether the bot had received them before the revocation. */
  delivered: boolean;
}

/** Credentials waiting for their bot, encrypted (AES-256-GCM, the elevation id as AAD). */
const Deposit = z.object({
  v: z.literal(1),
  sessionName: z.string(),
  expiration: z.string(),
  iv: z.string(),
  tag: z.string(),
  data: z.string(),
});
type Deposit = z.infer<typeof Deposit>;

/** The hand-off is over: the credentials were delivered, or withdrawn by the revocation. */
const Closed = z.object({ reason: z.enum(['delivered', 'revoked']), at: z.string() });
type Closed = z.infer<typeof Closed>;

const Issued = z.object({ sessionName: z.string(), expiration: z.string() });

/** The GCM tag length written and required (Node accepts shorter tags unless told). */
const GCM_TAG_BYTES = 16;

/** Markers outlive any session (12 hours at most) by a wide margin. */
const MARKER_TTL_MS = 14 * 24 * 3600_000;

export class CredentialVault {
  private readonly now: () => Date;
  /** Each elevation's session name and expiry, kept beyond the deposit. */
  private readonly issued: SingleUseRecords<SessionInfo>;
  private readonly deposits: SingleUseRecords<Deposit>;
  private readonly closed: SingleUseRecords<Closed>;

  /**
   * @param key - encrypts new deposits (and decrypts them)
   * @param previous - keys being rotated out: deposits made under them still decrypt, so a key
   *   can be replaced while credentials wait (they wait 12 hours at most)
   */
  constructor(
    singleUse: SingleUseNamespaces,
    private readonly key: Buffer,
    clock?: () => Date,
    private readonly previous: Buffer[] = [],
  ) {
    if ([key, ...previous].some((k) => k.length !== CREDENTIALS_KEY_BYTES)) {
      throw new Error(`the credentials key must be ${CREDENTIALS_KEY_BYTES} bytes`);
    }
    this.now = clock ?? (() => new Date());
    this.issued = singleUse.namespace('credentials:issued', Issued);
    this.deposits = singleUse.namespace('credentials:deposit', Deposit);
    this.closed = singleUse.namespace('credentials:closed', Closed);
  }

  /**
   * Issue credentials for the elevation once and keep them for the bot. `issue` is called only
   * when nothing was issued yet (a retried grant finds the first deposit and reuses it) and the
   * hand-off is not closed. Returns the session's name and expiry, for the audit record.
   *
   * When the hand-off was closed meanwhile (the elevation was revoked, or the credentials
   * delivered and this is a late retry), nothing is issued and the known session, if any, is
   * returned.
   */
  async issueOnce(elevationId: string, issue: () => Promise<HandoffCredentials>): Promise<SessionInfo> {
    if ((await this.closed.peek(elevationId)) !== undefined) {
      const known = await this.session(elevationId);
      if (known) return known;
      throw new HandoffClosedError(
        `the credentials of ${elevationId} were withdrawn before they were issued`,
      );
    }
    const earlier = await this.deposits.peek(elevationId);
    if (earlier) return this.remember(elevationId, earlier);
    const credentials = await issue();
    const expires = new Date(credentials.expiration);
    if (Number.isNaN(expires.getTime())) throw new Error('issued credentials have no valid expiration');
    await this.deposits.put(elevationId, this.seal(elevationId, credentials), expires);
    // Of two concurrent attempts one deposit wins; the other's credentials are never handed out.
    const kept = await this.deposits.peek(elevationId);
    const info = kept
      ? await this.remember(elevationId, kept)
      : { sessionName: credentials.sessionName, expiration: credentials.expiration };
    // A revocation that closed the hand-off while this deposit was being made: take it back,
    // so nothing is left for anyone.
    if ((await this.closed.peek(elevationId)) !== undefined) await this.deposits.take(elevationId);
    return info;
  }

  /** Keep the deposit's session name and expiry beyond the deposit (which delivery removes). */
  private async remember(elevationId: string, deposit: Deposit): Promise<SessionInfo> {
    const info = { sessionName: deposit.sessionName, expiration: deposit.expiration };
    const until = new Date(new Date(deposit.expiration).getTime() + MARKER_TTL_MS);
    await this.issued.put(elevationId, info, until);
    return info;
  }

  /**
   * Give the elevation's credentials to its bot: the first call gets them, every later call
   * (and any call after {@link withdraw}) gets a refusal saying why.
   */
  async deliver(elevationId: string): Promise<DeliveryResult> {
    const session = await this.session(elevationId);
    const closed = await this.closed.peek(elevationId);
    if (closed !== undefined) return { ok: false, reason: closedReason(closed), ...withSession(session) };
    const mark: Closed = { reason: 'delivered', at: this.now().toISOString() };
    if (!(await this.closed.put(elevationId, mark, this.markerExpiry()))) {
      const other = await this.closed.peek(elevationId);
      return { ok: false, reason: closedReason(other), ...withSession(session) };
    }
    const deposit = await this.deposits.take(elevationId);
    if (!deposit) {
      return { ok: false, reason: session ? 'expired' : 'not_issued', ...withSession(session) };
    }
    return { ok: true, credentials: this.open(elevationId, deposit) };
  }

  /**
   * Close the hand-off for good (the elevation is being revoked): credentials not yet delivered
   * are destroyed and can no longer be fetched. Idempotent.
   */
  async withdraw(elevationId: string): Promise<WithdrawResult> {
    const mark: Closed = { reason: 'revoked', at: this.now().toISOString() };
    await this.closed.put(elevationId, mark, this.markerExpiry());
    await this.deposits.take(elevationId);
    const closed = await this.closed.peek(elevationId);
    const session = await this.session(elevationId);
    return { ...withSession(session), delivered: closedReason(closed) === 'already_delivered' };
  }

  /** The session issued for the elevation (name and expiry), if any. */
  async session(elevationId: string): Promise<SessionInfo | undefined> {
    const v = await this.issued.peek(elevationId);
    return v ? { sessionName: v.sessionName, expiration: v.expiration } : undefined;
  }

  private markerExpiry(): Date {
    return new Date(this.now().getTime() + MARKER_TTL_MS);
  }

  private aad(elevationId: string): Buffer {
    return Buffer.from(`elevate-credentials:v1:${elevationId}`, 'utf8');
  }

  private seal(elevationId: string, credentials: HandoffCredentials): Deposit {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(this.aad(elevationId));
    const data = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    return {
      v: 1,
      sessionName: credentials.sessionName,
      expiration: credentials.expiration,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  private open(elevationId: string, deposit: Deposit): HandoffCredentials {
    for (const key of [this.key, ...this.previous]) {
      try {
        // A full 16-byte tag only: Node would otherwise accept a tag cut to 4 bytes, and a
        // tampered row could then be forged with about 2^32 tries.
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(deposit.iv, 'base64'), {
          authTagLength: GCM_TAG_BYTES,
        });
        decipher.setAAD(this.aad(elevationId));
        decipher.setAuthTag(Buffer.from(deposit.tag, 'base64'));
        const text = Buffer.concat([
          decipher.update(Buffer.from(deposit.data, 'base64')),
          decipher.final(),
        ]).toString('utf8');
        return JSON.parse(text) as HandoffCredentials;
      } catch {
        // GCM authenticates: a wrong key fails here rather than yielding garbage. Try the next.
      }
    }
    // Another key (ELEVATE_CREDENTIALS_KEY differs between processes) or a tampered row.
    throw new HandoffUnreadableError(
      `the credentials of ${elevationId} cannot be decrypted: ELEVATE_CREDENTIALS_KEY differs between the worker and the API, or the stored deposit was altered`,
    );
  }
}

/** Credentials were asked to be issued after the hand-off was closed (revoked first). */
export class HandoffClosedError extends Error {
  override readonly name = 'HandoffClosedError';
}

/** A deposit that does not decrypt: the processes' keys differ, or the row was altered. */
export class HandoffUnreadableError extends Error {
  override readonly name = 'HandoffUnreadableError';
}

function closedReason(closed: Closed | undefined): HandoffRefusal {
  return closed?.reason === 'revoked' ? 'revoked' : 'already_delivered';
}

function withSession(session: SessionInfo | undefined): { session?: SessionInfo } {
  return session ? { session } : {};
}
