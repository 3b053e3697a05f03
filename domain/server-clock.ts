/**
 * The Temporal server's clock, as a worker can tell it from its own.
 *
 * An elevation's window is timed twice: by its workflow's durable timer, which runs on the
 * server's clock, and by the worker's expiry revoker (`expiry-revoker.ts`), which runs on the
 * worker's. The end both use comes from the worker (the grant's read-back plus the duration). A
 * worker whose clock is off would therefore move the window: five minutes behind, and the
 * workflow's timer ends it five minutes early (the bot loses access it was granted); five
 * minutes ahead, and the workflow's timer, the guarantee behind the revoker, ends it five
 * minutes late. So the worker times windows on the server's clock instead of its own.
 *
 * How far off it is comes from timestamps the server sets: an activity's scheduled time is the
 * server's clock at the moment it scheduled the task, shortly before the worker starts it. Each
 * sample (the worker's clock at the start minus that time) is the offset plus the time the task
 * took to reach the worker, never less than the offset; the smallest recent one is the estimate
 * (as NTP keeps its fastest round trips). Only recent samples count, so a clock set right (or
 * wrong) shows within {@link SAMPLE_WINDOW_MS}. The remaining error is that delivery time, which
 * can only make the estimated server clock run behind the true one: the window's end is placed
 * that much earlier for the workflow's timer, never later, and the revoker, timed on the same
 * estimate, still removes at the true end.
 *
 * The read-back times in grant and revocation receipts are put on the server's clock as well
 * (`activities/index.ts`), so that the audit trail keeps one clock.
 *
 * Offsets within {@link OFFSET_TOLERANCE_MS} are left alone (normal NTP accuracy and ordinary
 * delivery time): the worker's own clock is used as it is.
 */

/** Offsets up to this are not corrected (nor warned about). */
export const OFFSET_TOLERANCE_MS = 1_000;

/** Samples older than this are dropped (the newest is always kept). */
export const SAMPLE_WINDOW_MS = 60_000;

export interface ServerClockOptions {
  /** This worker's wall clock (default `Date.now`). */
  now?: () => number;
  /**
   * Told when the offset applied changes by more than {@link OFFSET_TOLERANCE_MS}, or comes back
   * to 0 (a metric, a warning): not at every sample, which moves it by milliseconds.
   */
  onOffset?: (offsetMs: number) => void;
}

export class ServerClock {
  private readonly local: () => number;
  private readonly onOffset: ServerClockOptions['onOffset'];
  /** (taken at, on this worker's clock; sample) pairs, oldest first. */
  private samples: { at: number; offsetMs: number }[] = [];
  private applied = 0;
  private reported = 0;

  constructor(options: ServerClockOptions = {}) {
    this.local = options.now ?? Date.now;
    this.onOffset = options.onOffset;
  }

  /**
   * A time the server set just before now: an activity's scheduled time, read as the activity
   * starts. Non-finite or zero times (no activity context) are ignored.
   */
  observe(serverMs: number): void {
    if (!Number.isFinite(serverMs) || serverMs <= 0) return;
    const at = this.local();
    this.samples = this.samples.filter((s) => at - s.at <= SAMPLE_WINDOW_MS && s.at <= at);
    this.samples.push({ at, offsetMs: at - serverMs });
    const estimate = Math.min(...this.samples.map((s) => s.offsetMs));
    this.applied = Math.abs(estimate) <= OFFSET_TOLERANCE_MS ? 0 : estimate;
    const moved = Math.abs(this.applied - this.reported) > OFFSET_TOLERANCE_MS;
    if (moved || (this.applied === 0 && this.reported !== 0)) {
      this.reported = this.applied;
      this.onOffset?.(this.applied);
    }
  }

  /** How far this worker's clock is ahead of the server's (negative: behind), as applied. */
  get offsetMs(): number {
    return this.applied;
  }

  /** Now, on the server's clock. */
  now(): number {
    return this.local() - this.applied;
  }

  /** A time read on this worker's clock (a read-back's), on the server's. */
  toServer(localMs: number): number {
    return localMs - this.applied;
  }
}
