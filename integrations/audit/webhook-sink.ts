/**
 * The audit webhook sink: follows the audit chain and delivers every event to one HTTP
 * endpoint as a CloudEvent (CloudEvents 1.0, structured JSON), signed the Standard Webhooks
 * way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`).
 *
 * Guarantees, and how they are kept:
 *
 * - **At least once.** Progress is a cursor in the audit store, saved after events are
 *   delivered, never before. A restart resumes from it; only events that were on their way
 *   when the process stopped can arrive twice (at most `concurrency` of them). Receivers
 *   de-duplicate by `webhook-id`, which is the audit event's id and never changes.
 * - **In order per elevation.** Each elevation (and the events that name none, together) is a
 *   lane: its next event is sent only once the receiver has accepted the one before. Lanes go
 *   in parallel, at most `concurrency` requests at a time.
 * - **A failing elevation holds back the others by a bounded window only.** Events are read
 *   ahead of the oldest undelivered one, up to `window` events. Other lanes carry on through
 *   that window while one lane retries; when the window is full, reading pauses until the
 *   stuck event goes through (or is skipped). The cursor records the delivered events above
 *   the oldest undelivered one, so a restart sends none of them again.
 * - **Anchored.** Each delivery carries the newest signed checkpoint of the chain (when the
 *   store has one) in the `elevate-audit-checkpoint` header: base64url of its JSON, signed with
 *   Ed25519 by the checkpoint key (see `checkpoints.ts`). A receiver that keeps the last one
 *   holds a copy of the chain's head that nobody with only database access can forge or undo.
 * - **One dispatcher at a time.** The cursor carries a lease that the holder renews; other
 *   processes stand by and take over when it is released or lapses. Saves are fenced: once
 *   another process has claimed the cursor, the old holder's writes fail and it stops.
 */
import { setTimeout as wait } from 'node:timers/promises';
import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEvent, AuditStore, CheckpointStore, CursorStore } from './audit-store.js';
import { checkpointHeader, type SignedCheckpoint } from './checkpoints.js';
import { eventRecord } from './hash-chain.js';

/** Name of the sink's cursor in the store. */
export const WEBHOOK_CURSOR = 'webhook';
/** `content-type` of every delivery: a structured-mode CloudEvent in JSON. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
/** Prefix of every CloudEvents `type`: `org.elevate.grant.confirmed` for a `grant.confirmed` event. */
export const CLOUDEVENT_TYPE_PREFIX = 'org.elevate.';
/** Header carrying the newest signed checkpoint (base64url of its JSON). */
export const CHECKPOINT_HEADER = 'elevate-audit-checkpoint';
/** Prefix of a Standard Webhooks secret: the rest is the key, in base64. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Events read per query. */
const READ_PAGE = 200;
/** Rejected events remembered in the cursor, newest last. */
const REJECTED_KEPT = 20;
/** Longest piece of a receiver's answer kept for the log. */
const SNIPPET_BYTES = 512;

/**
 * An audit event as a structured-mode CloudEvent. `data` is the stored event with its chain
 * fields, so a receiver can check the hash chain itself.
 */
export interface CloudEvent {
  specversion: '1.0';
  /** The audit event's id: unique and the same on every delivery attempt. */
  id: string;
  source: string;
  /** `org.elevate.<event type>`, e.g. `org.elevate.grant.confirmed`. */
  type: string;
  /** When it happened (RFC 3339). */
  time: string;
  /** The elevation id; absent for events that name none (refused logins, drift...). */
  subject?: string;
  datacontenttype: 'application/json';
  /**
   * CloudEvents sequence extension: the chain position, zero-padded to 16 digits so that
   * comparing the strings orders events as the chain does.
   */
  sequence: string;
  /** The chain position (1, 2, 3... across the whole audit trail). */
  elevateposition: number;
  /** The event's number within its elevation (1, 2, 3...). */
  elevatesequence: number;
  /** CloudEvents partitioning extension: the elevation id, the unit of ordering. */
  partitionkey?: string;
  data: AuditEvent;
}

/** Builds the CloudEvent for one stored audit event. */
export function toCloudEvent(event: AuditEvent, source: string): CloudEvent {
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: `${CLOUDEVENT_TYPE_PREFIX}${event.type}`,
    time: event.at,
    ...(event.elevationId !== null ? { subject: event.elevationId } : {}),
    datacontenttype: 'application/json',
    sequence: String(event.position).padStart(16, '0'),
    elevateposition: event.position,
    elevatesequence: event.seq,
    ...(event.elevationId !== null ? { partitionkey: event.elevationId } : {}),
    data: eventRecord(event),
  };
}

/**
 * The HMAC key of a secret: the bytes after `whsec_` (base64) for a Standard Webhooks
 * secret, otherwise the secret's UTF-8 bytes.
 */
export function webhookSigningKey(secret: string): Buffer {
  return secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * The `webhook-signature` header: one `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
 * per secret, separated by spaces (several only while a secret is being rotated).
 */
export function signWebhook(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets
    .map(
      (secret) =>
        `v1,${createHmac('sha256', webhookSigningKey(secret)).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64')}`,
    )
    .join(' ');
}

/**
 * How long a `Retry-After` header asks to wait, in ms: delta-seconds or an HTTP date.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What happened to one delivery attempt, for metrics. */
export type DeliveryOutcome =
  | { kind: 'delivered'; event: AuditEvent; status: number; attempts: number }
  | { kind: 'retrying'; event: AuditEvent; attempt: number; reason: string; status?: number; delayMs: number }
  | { kind: 'rejected'; event: AuditEvent; status: number; action: 'skipped' | 'held' };

/** One event the receiver refused for good and that was skipped (`onReject: 'skip'`). */
export interface RejectedEvent {
  position: number;
  eventId: string;
  elevationId: string | null;
  status: number;
  /** When it was skipped (ISO-8601). */
  at: string;
}

/** The sink as it stands, for health pages and tests. */
export interface WebhookSinkStatus {
  /** Started and not stopped. */
  running: boolean;
  /** This process holds the lease and delivers (others stand by). */
  delivering: boolean;
  /** Every event up to this chain position is delivered or skipped. */
  position: number;
  /**
   * Events read past `position`: waiting, in flight, or delivered and waiting for an earlier
   * event of another elevation. At most the window.
   */
  pending: number;
  inFlight: number;
  /** Elevations whose next event failed and waits to be tried again. */
  retrying: number;
  /** Events skipped since the cursor was created. */
  skipped: number;
  /** The last ones skipped, oldest first. */
  lastSkipped: RejectedEvent[];
}

/** Settings of {@link WebhookSink}; the durations are there mainly for tests. */
export interface WebhookSinkOptions {
  /**
   * The audit store: read with `readEvents`, progress kept with its cursors, and the newest
   * checkpoint sent along with each delivery (when it keeps checkpoints).
   */
  store: AuditStore & CursorStore & Partial<CheckpointStore>;
  url: string;
  /** Signing secrets (at least one); each adds a signature to every delivery. */
  secrets: readonly string[];
  /** CloudEvents `source`. */
  source: string;
  logger: Logger;
  /** Requests in flight at once, each for a different elevation. Default 8. */
  concurrency?: number;
  /** How long one request may take before it counts as failed. Default 10,000 ms. */
  timeoutMs?: number;
  /** Pause between two reads of the audit trail when there was nothing new. Default 1,000 ms. */
  pollIntervalMs?: number;
  /**
   * A permanent refusal (a 3xx, or a 4xx other than 408 and 429): `skip` logs the event,
   * counts it and moves on; `stop` holds its elevation at it and keeps trying until the
   * receiver accepts it. Default `stop`.
   */
  onReject?: 'skip' | 'stop';
  /** Events read ahead of the oldest undelivered one (the stall window). Default 1,000. */
  window?: number;
  /** Retry delays: doubling from `initialMs` up to `maxMs`, with jitter. Default 1,000 / 60,000 ms. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Longest `Retry-After` honoured. Default 600,000 ms. */
  maxRetryAfterMs?: number;
  /** How long the lease lasts without renewal. Default 30,000 ms. */
  leaseTtlMs?: number;
  /** How long `stop()` lets requests in flight finish before it abandons them. Default 2,000 ms. */
  stopGraceMs?: number;
  /** Name of the cursor in the store. Default {@link WEBHOOK_CURSOR}. */
  cursorName?: string;
  /** Called for every delivered, retried and rejected attempt (metrics). Must not throw. */
  onOutcome?: (outcome: DeliveryOutcome) => void;
}

/** The sink's options with every default filled in. */
type Config = Required<Omit<WebhookSinkOptions, 'onOutcome' | 'backoff'>> & {
  backoffInitialMs: number;
  backoffMaxMs: number;
  onOutcome?: (outcome: DeliveryOutcome) => void;
};

/** What the sink keeps in its cursor. */
interface CursorState {
  v: 1;
  /** Every event up to this position is settled (delivered or skipped). */
  position: number;
  /** Hash of the event at `position`: a restored or rewritten trail no longer has it. */
  hash: string | null;
  /** Settled positions above `position`, as inclusive [first, last] ranges. */
  done: [number, number][];
  skipped: number;
  lastSkipped: RejectedEvent[];
}

const EMPTY_STATE: CursorState = { v: 1, position: 0, hash: null, done: [], skipped: 0, lastSkipped: [] };

/**
 * Delivers the audit trail to a webhook. `start()` begins in the background (standing by while
 * another process holds the lease); `stop()` ends it, saving progress and releasing the lease.
 */
export class WebhookSink {
  private readonly config: Config;
  private running = false;
  private stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private session: Session | undefined;

  constructor(options: WebhookSinkOptions) {
    if (options.secrets.length === 0) throw new TypeError('the webhook sink needs at least one secret');
    const concurrency = options.concurrency ?? 8;
    this.config = {
      store: options.store,
      url: options.url,
      secrets: [...options.secrets],
      source: options.source,
      logger: options.logger,
      concurrency,
      timeoutMs: options.timeoutMs ?? 10_000,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      onReject: options.onReject ?? 'stop',
      window: Math.max(options.window ?? 1_000, concurrency),
      backoffInitialMs: options.backoff?.initialMs ?? 1_000,
      backoffMaxMs: options.backoff?.maxMs ?? 60_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 600_000,
      leaseTtlMs: options.leaseTtlMs ?? 30_000,
      stopGraceMs: options.stopGraceMs ?? 2_000,
      cursorName: options.cursorName ?? WEBHOOK_CURSOR,
      ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
    };
  }

  /** Starts following the audit trail in the background. Calling it again while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopController = new AbortController();
    this.loop = this.run();
  }

  /**
   * Stops: no new requests; those in flight get `stopGraceMs` to finish; progress is saved
   * and the lease released so a standby process takes over at once.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopController.abort();
    await this.loop;
  }

  /** Where delivery stands (this process's view). */
  status(): WebhookSinkStatus {
    const session = this.session;
    return {
      running: this.running,
      delivering: session?.active ?? false,
      position: session?.position ?? 0,
      pending: session?.pending ?? 0,
      inFlight: session?.inFlight ?? 0,
      retrying: session?.retrying ?? 0,
      skipped: session?.skipped ?? 0,
      lastSkipped: session ? [...session.lastSkipped] : [],
    };
  }

  /** Claims the lease (or waits for it), delivers while holding it, and starts over if it is lost. */
  private async run(): Promise<void> {
    const { store, cursorName, leaseTtlMs, pollIntervalMs, logger } = this.config;
    const stop = this.stopController.signal;
    // A new owner per start: a lease this process held before a restart is not silently reused.
    const owner = randomUUID();
    let standingBy = false;
    let claimFailing = false;
    while (!stop.aborted) {
      const claimedAt = Date.now();
      let claimed: { state: unknown } | undefined;
      try {
        claimed = await store.claimCursor(cursorName, owner, leaseTtlMs);
        claimFailing = false;
      } catch (err) {
        if (!claimFailing) {
          logger.warn({ err: messageOf(err) }, 'webhook sink cannot reach the audit store; trying again');
        }
        claimFailing = true;
        await sleep(Math.max(pollIntervalMs, 1_000), stop);
        continue;
      }
      if (!claimed) {
        if (!standingBy) logger.info('another process delivers the audit webhook; standing by');
        standingBy = true;
        await sleep(pollIntervalMs, stop);
        continue;
      }
      standingBy = false;
      const session = new Session(this.config, owner, readState(claimed.state, logger), claimedAt, stop);
      this.session = session;
      try {
        await session.run();
      } catch (err) {
        // The store failed at start (or a bug): start over from the saved cursor.
        logger.error({ err: messageOf(err) }, 'webhook sink interrupted; resuming from its saved position');
        await sleep(Math.max(pollIntervalMs, 1_000), stop);
      }
      if (this.session === session && !stop.aborted) this.session = undefined;
    }
  }
}

/** One elevation's queue: its events in order, the head being tried. */
interface Lane {
  key: string;
  queue: AuditEvent[];
  busy: boolean;
  /** Failed attempts of the head event. */
  attempts: number;
  /** Not before this instant (epoch ms) is the head tried again. */
  notBefore: number;
}

type Attempt =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number; everyLane: boolean }
  | { kind: 'rejected'; status: number; reason: string }
  | { kind: 'aborted' };

/**
 * One spell of holding the lease: the in-memory window, the lanes and the requests in flight.
 * Dropped as a whole when the lease is lost or the sink stops.
 */
class Session {
  /** Every event up to here is settled. */
  position: number;
  private positionHash: string | null;
  skipped: number;
  lastSkipped: RejectedEvent[];
  /** Holds the lease and has not stopped. */
  active = true;
  inFlight = 0;

  private readUpTo: number;
  /** Positions read, in order; those before `head` are settled and behind `position`. */
  private windowPositions: number[] = [];
  private head = 0;
  /** Settled positions above `position` that were read in this session. */
  private readonly done = new Set<number>();
  /** Settled positions above `position` from the saved cursor, not yet read again. */
  private readonly restoredDone: Set<number>;
  private readonly lanes = new Map<string, Lane>();
  private readonly hashes = new Map<number, string>();

  private stopping = false;
  private halted = false;
  /** Another process claimed the cursor: nothing more is recorded or saved. */
  private leaseLost = false;
  private readonly abort = new AbortController();
  private readonly inFlightDone = new Set<Promise<void>>();
  private pausedUntil = 0;
  private everyLaneFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private wakeReader: (() => void) | undefined;
  private readerWaitsForRoom = false;

  /** Settled events not yet in a saved cursor: with those in flight, they are what a crash can resend. */
  private settledCount = 0;
  private savedCount = 0;
  private dirty = false;
  private saving: Promise<void> | undefined;
  private leaseValidUntil: number;
  private renewal: NodeJS.Timeout | undefined;
  private saveFailing = false;
  private renewFailing = false;

  constructor(
    private readonly config: Config,
    private readonly owner: string,
    state: CursorState,
    claimedAt: number,
    private readonly stop: AbortSignal,
  ) {
    this.position = state.position;
    this.positionHash = state.hash;
    this.readUpTo = state.position;
    this.skipped = state.skipped;
    this.lastSkipped = state.lastSkipped;
    this.restoredDone = new Set(
      state.done.flatMap(([first, last]) => range(first, last)).filter((p) => p > state.position),
    );
    this.leaseValidUntil = this.leaseEnd(claimedAt);
  }

  get pending(): number {
    return this.windowPositions.length - this.head;
  }

  get retrying(): number {
    let n = 0;
    for (const lane of this.lanes.values()) if (lane.attempts > 0) n += 1;
    return n;
  }

  /** Delivers until the sink stops or the lease is lost. */
  async run(): Promise<void> {
    const { logger, leaseTtlMs } = this.config;
    const onStop = () => {
      this.stopping = true;
      this.wakeReader?.();
    };
    this.stop.addEventListener('abort', onStop, { once: true });
    if (this.stop.aborted) onStop();
    this.renewal = setInterval(() => this.renew(), Math.max(leaseTtlMs / 3, 10));
    try {
      await this.checkStartingPoint();
      logger.info(
        { position: this.position, url: redactUrl(this.config.url) },
        'webhook sink delivering the audit trail',
      );
      await this.readLoop();
      if (this.halted) {
        await this.allSettled();
        return;
      }
      // Stopping: let requests in flight finish for a moment, then abandon the rest.
      await Promise.race([this.allSettled(), sleep(this.config.stopGraceMs)]);
      this.halt();
      await this.allSettled();
      await this.flush();
      if (!this.leaseLost) await this.release();
    } finally {
      this.active = false;
      this.halt();
      clearInterval(this.renewal);
      this.stop.removeEventListener('abort', onStop);
    }
  }

  /**
   * Makes sure the saved position still names the same event. After the store was restored
   * from a backup (or rewritten) it does not, and the events from that point on are not the
   * ones delivered: everything is delivered again from the start of the trail (the receiver
   * drops the events it already has, by id), which loses nothing.
   */
  private async checkStartingPoint(): Promise<void> {
    if (this.position === 0) return;
    const [event] = await this.config.store.readEvents(this.position - 1, 1);
    if (
      event &&
      event.position === this.position &&
      (this.positionHash === null || event.hash === this.positionHash)
    ) {
      return;
    }
    this.config.logger.error(
      { position: this.position },
      'the audit trail no longer holds the event the webhook cursor stopped at (restored from a backup?); delivering it again from the start',
    );
    this.position = 0;
    this.positionHash = null;
    this.readUpTo = 0;
    this.restoredDone.clear();
    this.markDirty(false);
  }

  private async readLoop(): Promise<void> {
    const { store, logger, window, pollIntervalMs } = this.config;
    let failures = 0;
    while (!this.stopping && !this.halted) {
      const room = window - this.pending;
      if (room <= 0) {
        await this.readerPause(pollIntervalMs, true);
        continue;
      }
      const limit = Math.min(room, READ_PAGE);
      let events: AuditEvent[];
      try {
        events = await store.readEvents(this.readUpTo, limit);
        failures = 0;
      } catch (err) {
        if (failures === 0) {
          logger.warn({ err: messageOf(err) }, 'webhook sink cannot read the audit trail; trying again');
        }
        failures += 1;
        await this.readerPause(this.backoff(failures), false);
        continue;
      }
      if (this.stopping || this.halted) break;
      await this.refreshCheckpoint();
      for (const event of events) this.admit(event);
      this.advance();
      this.pump();
      if (events.length < limit) await this.readerPause(pollIntervalMs, false);
    }
  }

  /** The newest checkpoint, read with each page of events; deliveries carry it. */
  private checkpoint: SignedCheckpoint | undefined;

  private async refreshCheckpoint(): Promise<void> {
    try {
      this.checkpoint = (await this.config.store.latestCheckpoint?.()) ?? this.checkpoint;
    } catch {
      // Deliveries go on with the checkpoint read last; the next page tries again.
    }
  }

  /** Takes a freshly read event into the window (and its lane, unless already delivered). */
  private admit(event: AuditEvent): void {
    if (event.position <= this.readUpTo) return;
    this.readUpTo = event.position;
    this.windowPositions.push(event.position);
    this.hashes.set(event.position, event.hash);
    if (this.restoredDone.delete(event.position)) {
      this.done.add(event.position);
      return;
    }
    const key = event.elevationId ?? '';
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, queue: [], busy: false, attempts: 0, notBefore: 0 };
      this.lanes.set(key, lane);
    }
    lane.queue.push(event);
  }

  /** Moves `position` over the settled prefix of the window. */
  private advance(): void {
    let moved = false;
    for (;;) {
      const next = this.windowPositions[this.head];
      if (next === undefined || !this.done.has(next)) break;
      this.done.delete(next);
      this.position = next;
      this.positionHash = this.hashes.get(next) ?? null;
      this.hashes.delete(next);
      this.head += 1;
      moved = true;
    }
    if (this.head > 1_024 && this.head * 2 > this.windowPositions.length) {
      this.windowPositions = this.windowPositions.slice(this.head);
      this.head = 0;
    }
    if (moved) this.markDirty(false);
  }

  /** Starts requests for lanes that are due, within the concurrency limit. */
  private pump(): void {
    if (this.stopping || this.halted) return;
    const now = Date.now();
    // Without a lease known to be ours, send nothing: another process may be taking over.
    if (now >= this.leaseValidUntil) return;
    if (now < this.pausedUntil) {
      this.wakeAt(this.pausedUntil);
      return;
    }
    let earliest = Infinity;
    for (const lane of this.lanes.values()) {
      if (this.inFlight + (this.settledCount - this.savedCount) >= this.config.concurrency) break;
      if (lane.busy || lane.queue.length === 0) continue;
      if (lane.notBefore > now) {
        earliest = Math.min(earliest, lane.notBefore);
        continue;
      }
      this.send(lane);
    }
    if (earliest < Infinity) this.wakeAt(earliest);
  }

  private send(lane: Lane): void {
    const event = lane.queue[0];
    if (!event) return;
    lane.busy = true;
    this.inFlight += 1;
    const done: Promise<void> = this.attempt(event)
      .then((result) => this.settleAttempt(lane, event, result))
      .catch((err: unknown) => {
        this.config.logger.error({ err: messageOf(err), eventId: event.id }, 'webhook delivery failed');
      })
      .finally(() => {
        this.inFlightDone.delete(done);
      });
    this.inFlightDone.add(done);
  }

  /** One HTTP request for one event. */
  private async attempt(event: AuditEvent): Promise<Attempt> {
    const { url, secrets, source, timeoutMs } = this.config;
    const body = JSON.stringify(toCloudEvent(event, source));
    const timestamp = Math.floor(Date.now() / 1000);
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': CLOUDEVENTS_CONTENT_TYPE,
          'user-agent': 'Elevate-Webhook/1',
          'webhook-id': event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(secrets, event.id, timestamp, body),
          ...(this.checkpoint ? { [CHECKPOINT_HEADER]: checkpointHeader(this.checkpoint) } : {}),
        },
        body,
        // A redirected POST would be re-sent as a GET, or to a place nobody configured.
        redirect: 'manual',
        signal: AbortSignal.any([timeout, this.abort.signal]),
      });
    } catch (err) {
      if (this.abort.signal.aborted) return { kind: 'aborted' };
      if (timeout.aborted)
        return { kind: 'retry', reason: `no answer within ${timeoutMs} ms`, everyLane: false };
      // Nothing reached the receiver (refused, unreachable, TLS): true of every lane alike.
      return { kind: 'retry', reason: networkReason(err), everyLane: true };
    }
    const status = response.status;
    const snippet = await readSnippet(response);
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      return {
        kind: 'retry',
        reason: `HTTP ${status}${snippet ? `: ${snippet}` : ''}`,
        status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        // A rate limit is about the sender, not the event: every lane waits.
        everyLane: status === 429,
      };
    }
    return { kind: 'rejected', status, reason: `HTTP ${status}${snippet ? `: ${snippet}` : ''}` };
  }

  /** Acts on the result of one attempt: settle the event, or schedule the next try. */
  private settleAttempt(lane: Lane, event: AuditEvent, result: Attempt): void {
    this.inFlight -= 1;
    lane.busy = false;
    // Another process delivers now: whatever came back is not ours to record.
    if (this.leaseLost) return;
    const { logger, onReject, maxRetryAfterMs } = this.config;
    const where = { eventId: event.id, position: event.position, elevationId: event.elevationId };
    const now = Date.now();
    switch (result.kind) {
      case 'aborted':
        return;
      case 'delivered':
        this.everyLaneFailures = 0;
        this.report({ kind: 'delivered', event, status: result.status, attempts: lane.attempts + 1 });
        if (lane.attempts > 0)
          logger.info({ ...where, attempts: lane.attempts + 1 }, 'webhook delivered after retries');
        this.settle(lane, event);
        break;
      case 'retry': {
        lane.attempts += 1;
        const retryAfter =
          result.retryAfterMs !== undefined ? Math.min(result.retryAfterMs, maxRetryAfterMs) : 0;
        const delayMs = Math.max(this.backoff(lane.attempts), retryAfter);
        lane.notBefore = now + delayMs;
        if (result.everyLane) {
          this.everyLaneFailures += 1;
          const pause = Math.max(this.backoff(this.everyLaneFailures), retryAfter);
          this.pausedUntil = Math.max(this.pausedUntil, now + pause);
        }
        this.report({
          kind: 'retrying',
          event,
          attempt: lane.attempts,
          reason: result.reason,
          ...(result.status !== undefined ? { status: result.status } : {}),
          delayMs,
        });
        logger.warn(
          { ...where, attempt: lane.attempts, reason: result.reason, retryInMs: Math.round(delayMs) },
          'webhook delivery failed; it will be retried',
        );
        break;
      }
      case 'rejected':
        if (onReject === 'skip') {
          this.report({ kind: 'rejected', event, status: result.status, action: 'skipped' });
          logger.error(
            { ...where, status: result.status, reason: result.reason },
            'webhook receiver refused an audit event; skipped (ELEVATE_WEBHOOK_ON_REJECT=skip)',
          );
          this.skipped += 1;
          this.lastSkipped = [
            ...this.lastSkipped,
            {
              position: event.position,
              eventId: event.id,
              elevationId: event.elevationId,
              status: result.status,
              at: new Date(now).toISOString(),
            },
          ].slice(-REJECTED_KEPT);
          this.settle(lane, event);
        } else {
          lane.attempts += 1;
          const delayMs = this.backoff(lane.attempts);
          lane.notBefore = now + delayMs;
          this.report({ kind: 'rejected', event, status: result.status, action: 'held' });
          logger.error(
            {
              ...where,
              attempt: lane.attempts,
              status: result.status,
              reason: result.reason,
              retryInMs: Math.round(delayMs),
            },
            'webhook receiver refused an audit event; its elevation waits until the receiver accepts it (ELEVATE_WEBHOOK_ON_REJECT=stop)',
          );
        }
        break;
    }
    this.pump();
  }

  /** The head of `lane` is done with (delivered or skipped). */
  private settle(lane: Lane, event: AuditEvent): void {
    lane.queue.shift();
    lane.attempts = 0;
    lane.notBefore = 0;
    if (lane.queue.length === 0 && !lane.busy) this.lanes.delete(lane.key);
    this.done.add(event.position);
    this.advance();
    this.markDirty(true);
    if (this.readerWaitsForRoom) this.wakeReader?.();
  }

  private report(outcome: DeliveryOutcome): void {
    try {
      this.config.onOutcome?.(outcome);
    } catch {
      // Metrics must never stop delivery.
    }
  }

  /** Exponential backoff with jitter: between half and all of `initial * 2^(attempt-1)`, capped. */
  private backoff(attempt: number): number {
    const { backoffInitialMs, backoffMaxMs } = this.config;
    const ceiling = Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.min(attempt - 1, 30));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  /** Runs `pump` at `at` (epoch ms), unless it already runs sooner. */
  private wakeAt(at: number): void {
    if (this.halted || this.stopping || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** The reader waits `ms`, or less when woken (stop, or room in the window when `forRoom`). */
  private readerPause(ms: number, forRoom: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeReader = undefined;
        this.readerWaitsForRoom = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeReader = done;
      this.readerWaitsForRoom = forRoom;
      if (this.stopping || this.halted) done();
    });
  }

  /** Stops everything in this session now: requests in flight are abandoned. */
  private halt(): void {
    this.halted = true;
    this.abort.abort();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.wakeReader?.();
  }

  /** Another process holds the cursor now: drop everything. */
  private lost(): void {
    if (this.leaseLost) return;
    this.leaseLost = true;
    this.config.logger.warn(
      { position: this.position },
      'webhook sink lost its lease; another process delivers the audit trail now',
    );
    this.halt();
  }

  private async allSettled(): Promise<void> {
    while (this.inFlightDone.size > 0) await Promise.allSettled([...this.inFlightDone]);
  }

  private leaseEnd(refreshStartedAt: number): number {
    // Stop sending well before the lease lapses: a standby may take over the moment it does.
    return refreshStartedAt + (this.config.leaseTtlMs * 2) / 3;
  }

  private renew(): void {
    if (this.halted || this.saving) return;
    const { store, cursorName, leaseTtlMs, logger } = this.config;
    const startedAt = Date.now();
    void store.renewCursor(cursorName, this.owner, leaseTtlMs).then(
      (held) => {
        if (!held) return this.lost();
        this.renewFailing = false;
        const wasValid = Date.now() < this.leaseValidUntil;
        this.leaseValidUntil = this.leaseEnd(startedAt);
        if (!wasValid) this.pump();
      },
      (err: unknown) => {
        if (!this.renewFailing)
          logger.warn({ err: messageOf(err) }, 'webhook sink could not renew its lease');
        this.renewFailing = true;
      },
    );
  }

  /** Something changed that the cursor must record; `delivered` when it was a settled event. */
  private markDirty(delivered: boolean): void {
    if (delivered) this.settledCount += 1;
    this.dirty = true;
    this.saving ??= this.saveLoop().finally(() => {
      this.saving = undefined;
    });
  }

  /** Saves until nothing is left to save; one save at a time. */
  private async saveLoop(): Promise<void> {
    const { store, cursorName, leaseTtlMs, logger } = this.config;
    let failures = 0;
    while (this.dirty && !this.leaseLost) {
      this.dirty = false;
      const count = this.settledCount;
      const state = this.snapshot();
      const startedAt = Date.now();
      try {
        const held = await store.saveCursor(cursorName, this.owner, leaseTtlMs, state);
        if (!held) {
          this.lost();
          return;
        }
        this.savedCount = count;
        this.leaseValidUntil = this.leaseEnd(startedAt);
        if (this.saveFailing) logger.info('webhook sink saves its progress again');
        this.saveFailing = false;
        failures = 0;
      } catch (err) {
        this.dirty = true;
        failures += 1;
        if (!this.saveFailing) {
          logger.warn({ err: messageOf(err) }, 'webhook sink could not save its progress; trying again');
        }
        this.saveFailing = true;
        if (this.halted) return;
        await sleep(this.backoff(failures), this.abort.signal);
      }
      this.pump();
    }
  }

  /** Waits for pending saves, then saves once more if anything changed. */
  private async flush(): Promise<void> {
    await this.saving;
    if (!this.dirty || this.leaseLost) return;
    try {
      if (
        !(await this.config.store.saveCursor(
          this.config.cursorName,
          this.owner,
          this.config.leaseTtlMs,
          this.snapshot(),
        ))
      ) {
        this.config.logger.warn('webhook sink lost its lease before it could save its progress');
      }
    } catch (err) {
      this.config.logger.warn(
        { err: messageOf(err) },
        'webhook sink could not save its progress on stopping',
      );
    }
  }

  private async release(): Promise<void> {
    try {
      await this.config.store.releaseCursor(this.config.cursorName, this.owner);
    } catch (err) {
      // The lease lapses on its own after its time-to-live.
      this.config.logger.warn({ err: messageOf(err) }, 'webhook sink could not release its lease');
    }
  }

  private snapshot(): CursorState {
    return {
      v: 1,
      position: this.position,
      hash: this.positionHash,
      done: toRanges([...this.done, ...this.restoredDone]),
      skipped: this.skipped,
      lastSkipped: this.lastSkipped,
    };
  }
}

/** Reads a saved cursor; an unreadable one starts from the beginning (duplicates, never loss). */
function readState(value: unknown, logger: Logger): CursorState {
  if (value === null || value === undefined) return EMPTY_STATE;
  const v = value as Partial<CursorState>;
  const wholeNumber = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (
    v.v === 1 &&
    wholeNumber(v.position) &&
    (v.hash === null || typeof v.hash === 'string') &&
    Array.isArray(v.done) &&
    v.done.every(
      (r) => Array.isArray(r) && r.length === 2 && wholeNumber(r[0]) && wholeNumber(r[1]) && r[0] <= r[1],
    ) &&
    wholeNumber(v.skipped) &&
    Array.isArray(v.lastSkipped)
  ) {
    return v as CursorState;
  }
  logger.error(
    'the webhook cursor in the audit store is unreadable; delivering the audit trail again from the start',
  );
  return EMPTY_STATE;
}

/** Sorted positions as inclusive [first, last] ranges. */
function toRanges(positions: number[]): [number, number][] {
  const sorted = [...positions].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const p of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && p === last[1] + 1) last[1] = p;
    else if (!last || p > last[1]) ranges.push([p, p]);
  }
  return ranges;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** The start of a response body, for the log; the rest is discarded. */
async function readSnippet(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done || !value) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // The status is what counts; a body cut short changes nothing.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, SNIPPET_BYTES).replace(/\s+/g, ' ').trim();
}

/** Why a request reached no receiver: the system error code when there is one. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return messageOf(err);
}

/** The URL without user name, password or query (which may carry a token). */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** Waits `ms`, or less if `signal` aborts (then it resolves too). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
