/**
 * The worker's expiry revoker: the fast path that takes access away the instant a window ends.
 *
 * Each elevation's workflow ends its window with a durable Temporal timer and then revokes. On
 * its own that costs a chain of history round trips after the window has ended (timer fired,
 * workflow task, activity task, result), tens of milliseconds when the server is idle and
 * seconds when a thousand windows end together. The worker that confirmed a grant already
 * knows when it ends, so it keeps an in-memory timer for it and releases the grant through the
 * ledger at that instant: under the membership's lock, leaving it in place while another
 * elevation still holds it, read back.
 *
 * Windows that end while removals are under way wait and go together in the next batch
 * (`GrantLedger.releaseMany`): their locks taken at once, their leases released in a few
 * writes, and one LDAP change per group removing all of its members. A lone expiry is a batch
 * of one and goes at once; a thousand at the same second cost a handful of round trips.
 *
 * The workflow's timer stays the guarantee. It fires at the same instant, and its revocation
 * (`releaseGrant`) first asks this revoker how its removal went ({@link ExpiryRevoker.settled}):
 * it waits for one in flight and, given a receipt, reads the target back once; without one (or
 * with the member found again) it releases through the ledger, which is idempotent and reads the
 * target back, so a removal that failed here (target down), never ran (the worker died, or
 * restarted and forgot its timers) or was undone is done there, retried until it is confirmed.
 * Nothing here is durable and nothing needs to be: losing this revoker's state only loses speed.
 *
 * It holds one grant per elevation (keyed by the elevation id), so the grants of a role bundle
 * are not put on it: the bundle's workflow ends the window on its timer and revokes every role
 * at once (`workflows/role-bundle.ts`).
 */
import { AsyncResource } from 'node:async_hooks';
import type { ReleaseRequest } from '../core/ports/activities.js';
import type { RevokeReceipt } from '../core/model/elevation.js';

/** The longest pause between tries of a removal that failed (the target is down, say). */
const RETRY_MAX_MS = 1_000;

/** The longest delay one Node.js timer takes; a later expiry is re-armed when it is reached. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ExpiryRevokerOptions {
  /**
   * Release a batch of grants: the ledger's `releaseMany`, which locks, revokes and reads back;
   * one answer per request, in order (its receipt, or the error it met).
   */
  releaseMany: (reqs: ReleaseRequest[]) => Promise<(RevokeReceipt | Error)[]>;
  /** How many batches may run at once (default 4). */
  concurrency?: number;
  /** The most removals in one batch (default 500). */
  maxBatch?: number;
  /** How long a receipt waits for its workflow's revocation to take it (default 15 minutes). */
  keepReceiptsMs?: number;
  /** Told of every removal: its receipt and how long after the window's end it was read back. */
  onRemoved?: (receipt: RevokeReceipt, lagMs: number) => void;
  /** Told of every removal that failed here (the workflow's revocation will do it). */
  onFailed?: (req: ReleaseRequest, err: unknown) => void;
  /**
   * Where an extended window's end is kept for every worker (`activities/extend.ts`): asked when
   * the window of a grant whose role allows extensions (`extendable`) ends here, since the
   * extension may have been made on another worker. A later end re-arms the timer; a lookup that
   * fails leaves the removal to the workflow, which knows the true end.
   */
  movedEnd?: (elevationId: string) => Promise<number | undefined>;
  now?: () => number;
}

interface Scheduled {
  request: ReleaseRequest;
  expiresAt: number;
  /** When to try next: `expiresAt`, then shortly after each failed try. */
  dueAt: number;
  /** Failed tries so far. */
  failures: number;
  timer?: NodeJS.Timeout;
}

export class ExpiryRevoker {
  private readonly releaseMany: ExpiryRevokerOptions['releaseMany'];
  private readonly concurrency: number;
  private readonly maxBatch: number;
  private readonly keepReceiptsMs: number;
  private readonly onRemoved: ExpiryRevokerOptions['onRemoved'];
  private readonly onFailed: ExpiryRevokerOptions['onFailed'];
  private readonly movedEnd: ExpiryRevokerOptions['movedEnd'];
  private readonly now: () => number;

  /** Grants waiting for their window to end, by elevation id. */
  private readonly scheduled = new Map<string, Scheduled>();
  /** Windows that have ended, in the order they did, waiting for a free slot. */
  private readonly due: Scheduled[] = [];
  /** Removals under way. */
  private readonly inFlight = new Map<string, Promise<RevokeReceipt | undefined>>();
  /** Removals done, until their workflow's revocation takes the receipt. */
  private readonly receipts = new Map<string, { receipt: RevokeReceipt; keptUntil: number }>();
  /**
   * The async context timers are armed in: the one the revoker was made in, not the caller's. A
   * Node.js timer keeps the context it was armed in (async-local stores) until it fires, and
   * {@link schedule} is called from the `acquireGrant` activity: armed there, each held grant's
   * timer kept that finished activity alive, with its SDK context, input, task message, loggers
   * and metric meter: 7 KiB per active grant, 350 MiB at 50,000 (docs/benchmarks.md).
   */
  private readonly home = new AsyncResource('ExpiryRevoker');
  private running = 0;
  private pumping = false;
  private stopped = false;

  constructor(options: ExpiryRevokerOptions) {
    this.releaseMany = options.releaseMany;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.keepReceiptsMs = options.keepReceiptsMs ?? 15 * 60_000;
    this.onRemoved = options.onRemoved;
    this.onFailed = options.onFailed;
    this.movedEnd = options.movedEnd;
    this.now = options.now ?? Date.now;
  }

  /**
   * Remove `request`'s grant at `expiresAt` (epoch milliseconds). Scheduling an elevation again
   * (a retried grant) replaces its earlier entry.
   */
  schedule(request: ReleaseRequest, expiresAt: number): void {
    if (this.stopped) return;
    this.cancelTimer(request.elevationId);
    const entry: Scheduled = { request, expiresAt, dueAt: expiresAt, failures: 0 };
    this.scheduled.set(request.elevationId, entry);
    this.arm(entry);
  }

  /**
   * Move the end of a window scheduled here (its elevation was extended): true when this worker
   * had it scheduled, false otherwise (another worker has it, which asks {@link
   * ExpiryRevokerOptions.movedEnd} when the old end comes). A removal under way or being retried
   * is left alone: the window had already ended.
   */
  reschedule(elevationId: string, expiresAt: number): boolean {
    const entry = this.scheduled.get(elevationId);
    if (!entry || entry.failures > 0) return false;
    this.cancelTimer(elevationId);
    entry.expiresAt = expiresAt;
    entry.dueAt = expiresAt;
    this.arm(entry);
    return true;
  }

  /**
   * What became of the elevation's removal here, for its workflow's revocation: waits for a
   * removal in flight, hands over (once) the receipt of one done, and drops a timer that has not
   * fired yet (the workflow revokes before the window's end); a failed removal goes on being
   * tried until {@link forget}. `undefined` when nothing was
   * removed here: the caller revokes on its own.
   */
  async settled(elevationId: string): Promise<RevokeReceipt | undefined> {
    // A removal that failed keeps being tried: the workflow's revocation backs off between its
    // rounds, and this gets access removed within a second of the target coming back.
    if (!this.retrying(elevationId)) {
      this.cancelTimer(elevationId);
      this.scheduled.delete(elevationId);
    }
    const queued = this.due.findIndex((e) => e.request.elevationId === elevationId);
    if (queued >= 0) this.due.splice(queued, 1);
    const running = this.inFlight.get(elevationId);
    if (running) await running;
    const done = this.receipts.get(elevationId);
    this.receipts.delete(elevationId);
    return done?.receipt;
  }

  /** Forget the elevation: its workflow's revocation confirmed the removal itself. */
  forget(elevationId: string): void {
    this.cancelTimer(elevationId);
    this.scheduled.delete(elevationId);
    this.receipts.delete(elevationId);
  }

  /** Grants waiting for their window to end, or for another try. */
  get pending(): number {
    return this.scheduled.size;
  }

  /** Stops every timer; removals under way finish. Nothing is lost: the workflows revoke. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.scheduled.values()) clearTimeout(entry.timer);
    this.scheduled.clear();
    this.due.length = 0;
    await Promise.allSettled(this.inFlight.values());
  }

  private arm(entry: Scheduled): void {
    const delay = Math.max(0, entry.dueAt - this.now());
    entry.timer = this.home.runInAsyncScope(() =>
      setTimeout(() => this.fire(entry), Math.min(delay, MAX_TIMER_MS)),
    );
    // A pending expiry must not keep a stopping process alive: the workflow revokes anyway.
    entry.timer.unref();
  }

  /** The entry's timer fired: its window ended (or the retry is due) unless it moved. */
  private fire(entry: Scheduled): void {
    entry.timer = undefined;
    if (this.scheduled.get(entry.request.elevationId) !== entry) return;
    if (entry.dueAt > this.now()) return this.arm(entry);
    if (entry.request.extendable && this.movedEnd && entry.failures === 0) return this.checkMoved(entry);
    this.scheduled.delete(entry.request.elevationId);
    this.due.push(entry);
    this.pumpSoon();
  }

  /**
   * The window of an extendable grant ended here: removed now unless an extension made on
   * another worker moved its end (then the timer waits for the new end). A lookup that fails
   * drops the entry: the workflow's own revocation removes the grant at the true end.
   */
  private checkMoved(entry: Scheduled): void {
    const id = entry.request.elevationId;
    void (this.movedEnd?.(id) ?? Promise.resolve(undefined)).then(
      (end) => {
        if (this.stopped || this.scheduled.get(id) !== entry) return;
        if (end !== undefined && end > entry.expiresAt) {
          entry.expiresAt = end;
          entry.dueAt = end;
          return this.arm(entry);
        }
        this.scheduled.delete(id);
        this.due.push(entry);
        this.pumpSoon();
      },
      () => {
        if (this.scheduled.get(id) === entry) this.scheduled.delete(id);
      },
    );
  }

  private retrying(elevationId: string): boolean {
    return (this.scheduled.get(elevationId)?.failures ?? 0) > 0;
  }

  private cancelTimer(elevationId: string): void {
    const entry = this.scheduled.get(elevationId);
    if (entry?.timer) clearTimeout(entry.timer);
  }

  /**
   * Starts batches once the timers due in this turn of the event loop have all fired (an
   * immediate runs after them), so the windows that end together go together.
   */
  private pumpSoon(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.pump();
    });
  }

  /** Starts batches of due removals while slots are free; each finished batch starts the next. */
  private pump(): void {
    while (this.running < this.concurrency && this.due.length > 0) {
      const batch = this.due.splice(0, this.maxBatch);
      this.running += 1;
      const removal = this.remove(batch);
      for (const [i, entry] of batch.entries()) {
        const id = entry.request.elevationId;
        this.inFlight.set(
          id,
          removal.then((receipts) => receipts[i]),
        );
      }
      void removal.finally(() => {
        this.running -= 1;
        for (const entry of batch) this.inFlight.delete(entry.request.elevationId);
        this.pump();
      });
    }
  }

  /** One batch: each removal's receipt, or undefined where it failed (reported). */
  private async remove(batch: Scheduled[]): Promise<(RevokeReceipt | undefined)[]> {
    let answers: (RevokeReceipt | Error)[];
    try {
      answers = await this.releaseMany(batch.map((e) => e.request));
    } catch (err) {
      answers = batch.map(() => err as Error);
    }
    const at = this.now();
    this.forgetOldReceipts(at);
    return batch.map((entry, i) => {
      const answer = answers[i] ?? new Error('no answer for this removal');
      if (answer instanceof Error) {
        this.onFailed?.(entry.request, answer);
        this.retry(entry, at);
        return undefined;
      }
      this.receipts.set(entry.request.elevationId, { receipt: answer, keptUntil: at + this.keepReceiptsMs });
      this.onRemoved?.(answer, Date.parse(answer.verifiedAt) - entry.expiresAt);
      return answer;
    });
  }

  /**
   * A failed removal is tried again within a second, for as long as receipts are kept, until its
   * workflow's revocation takes over ({@link settled} drops it): the workflow backs off up to
   * `ELEVATE_REVOKE_RETRY_MAX_SECONDS` between rounds, this does not, so access goes within about
   * a second of the target coming back.
   */
  private retry(entry: Scheduled, at: number): void {
    if (this.stopped || at - entry.expiresAt > this.keepReceiptsMs) return;
    if (this.scheduled.has(entry.request.elevationId)) return; // scheduled again meanwhile
    entry.failures += 1;
    entry.dueAt = at + Math.min(250 * 2 ** (entry.failures - 1), RETRY_MAX_MS);
    this.scheduled.set(entry.request.elevationId, entry);
    this.arm(entry);
  }

  /** Receipts whose workflow never came for them (it revoked on another worker) are dropped. */
  private forgetOldReceipts(at: number): void {
    for (const [id, kept] of this.receipts) {
      if (kept.keptUntil > at) break; // kept in insertion order, so the rest are younger
      this.receipts.delete(id);
    }
  }
}
