/**
 * `deliverPage`, the audit forwarder's activity: reads the next page of the audit trail after
 * the forwarder's cursor and delivers it to the webhook (`integrations/audit/webhook-delivery.ts`).
 *
 * - **In order per elevation.** The page is split into lanes, one per elevation (the events
 *   that name none share one); a lane's next event is sent only once the receiver accepted the
 *   one before. Lanes go in parallel, at most `concurrency` requests at a time.
 * - **At least once, nothing sent twice on a retry.** Every settled event is heartbeated; an
 *   attempt that fails (or a worker that dies) is retried by Temporal from those heartbeat
 *   details, so the next attempt sends only what is still outstanding. Only events that were
 *   accepted after the last heartbeat Temporal received can arrive again (after a crash).
 * - **Retries.** A failure of one event stops its lane; the other lanes finish the page, then
 *   the attempt fails with a retryable `ApplicationFailure` and the workflow's retry policy
 *   gives the backoff. A `Retry-After` becomes the failure's `nextRetryDelay`. A `429`, or a
 *   receiver nobody can reach, stops every lane at once.
 * - **Refusals** (a `3xx`, a `4xx` other than `408` and `429`): with `onReject: 'skip'` the event
 *   is skipped and reported in the result; with `stop` its lane holds and is retried like a failure.
 */
import { setTimeout as wait } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { SignedCheckpoint } from '../core/crypto/audit-checkpoints.js';
import type { DeliverPageInput, DeliverPageResult, SkippedEvent } from '../core/model/audit-forwarding.js';
import type { AuditEvent } from '../core/model/audit-record.js';
import {
  WEBHOOK_DELIVERY_FAILED,
  WEBHOOK_NOT_CONFIGURED,
  WORKER_STOPPING,
  type AuditForwardingActivities,
} from '../core/ports/audit-forwarding.js';
import {
  deliverEvent,
  type DeliveryAttempt,
  type WebhookEndpoint,
} from '../integrations/audit/webhook-delivery.js';

/** The audit trail as the forwarder reads it. */
export interface AuditTrailReader {
  /** Up to `limit` events after `afterPosition`, in chain order. */
  readEvents(afterPosition: number, limit: number): Promise<AuditEvent[]>;
  /** The newest signed checkpoint, when the store keeps them: every delivery carries it. */
  latestCheckpoint?(): Promise<SignedCheckpoint | undefined>;
}

/** The worker's webhook settings, as delivery uses them. */
export interface WebhookDelivery extends WebhookEndpoint {
  /** Requests in flight at once, each for a different elevation. */
  concurrency: number;
  /** Pause between two reads of the audit trail while there is nothing new. */
  pollIntervalMs: number;
  /** A permanent refusal: `skip` the event, or `stop` its elevation at it until accepted. */
  onReject: 'skip' | 'stop';
  /** Longest `Retry-After` honoured. Default 600,000 ms. */
  maxRetryAfterMs?: number;
}

/** What happened to one delivery attempt, for metrics. `attempt` is the activity's attempt. */
export type DeliveryOutcome =
  | { kind: 'delivered'; event: AuditEvent; status: number; attempt: number }
  | { kind: 'retrying'; event: AuditEvent; attempt: number; reason: string; status?: number }
  | { kind: 'rejected'; event: AuditEvent; status: number; action: 'skipped' | 'held' };

export interface AuditForwardingDeps {
  store: AuditTrailReader;
  /** Absent on a worker without `ELEVATE_WEBHOOK_URL`: its attempts fail (and are retried). */
  webhook?: WebhookDelivery;
  logger: Logger;
  /**
   * Aborted when the process starts to stop: the page stops sending, saves its progress and
   * fails, so another worker (or this one after its restart) carries on at once.
   */
  stopping?: AbortSignal;
  /** Called for every delivered, retried and refused attempt (metrics). Must not throw. */
  onOutcome?: (outcome: DeliveryOutcome) => void;
  /** Called when the delivered position moves (metrics). */
  onPosition?: (position: number) => void;
}

/** Builds the forwarder's activity from its dependencies. */
export function createAuditForwardingActivities(deps: AuditForwardingDeps): AuditForwardingActivities {
  return { deliverPage: (input) => deliverPage(deps, input) };
}

/** Progress within one page: the heartbeat details a retry resumes from. */
interface PageProgress {
  v: 1;
  /** Every event up to here is settled. */
  position: number;
  hash: string | null;
  /** Settled positions above `position`, as inclusive [first, last] ranges. */
  done: [number, number][];
  skipped: SkippedEvent[];
  delivered: number;
  restarted: boolean;
}

async function deliverPage(deps: AuditForwardingDeps, input: DeliverPageInput): Promise<DeliverPageResult> {
  const { store, webhook, logger } = deps;
  const ctx = Context.current();
  const attempt = ctx.info.attempt;
  if (!webhook) {
    throw ApplicationFailure.retryable(
      'this worker has no webhook configured (ELEVATE_WEBHOOK_URL): the audit forwarder waits for a worker that has',
      WEBHOOK_NOT_CONFIGURED,
    );
  }
  const stopping = deps.stopping ?? new AbortController().signal;
  const stop = AbortSignal.any([ctx.cancellationSignal, stopping]);
  const progress = new Progress(readProgress(ctx.info.heartbeatDetails) ?? fresh(input));
  const beat = () => ctx.heartbeat(progress.snapshot());
  // A heartbeat also while waiting for events or for a slow receiver; Temporal throttles them.
  const ticker = setInterval(beat, Math.min(1_000, (ctx.info.heartbeatTimeoutMs ?? 4_000) / 4));
  try {
    const events = await readPage(store, progress, input, webhook.pollIntervalMs, stop, logger);
    if (events.length === 0) {
      await stopped(ctx, stopping, beat);
      return progress.result();
    }
    const checkpoint = await store.latestCheckpoint?.().catch(() => undefined);
    progress.page(events);
    const failures: {
      event: AuditEvent;
      result: Extract<DeliveryAttempt, { kind: 'retry' | 'rejected' }>;
    }[] = [];
    let everyLaneStopped = false;
    const report = (outcome: DeliveryOutcome) => {
      try {
        deps.onOutcome?.(outcome);
      } catch {
        // Metrics must never stop delivery.
      }
    };
    const settled = () => {
      beat();
      deps.onPosition?.(progress.position);
    };
    await runLanes(
      events.filter((e) => !progress.isDone(e.position)),
      webhook.concurrency,
      async (event) => {
        if (everyLaneStopped || stop.aborted) return false;
        const result = await deliverEvent(webhook, event, checkpoint, stop);
        const where = { eventId: event.id, position: event.position, elevationId: event.elevationId };
        switch (result.kind) {
          case 'aborted':
            return false;
          case 'delivered':
            progress.settle(event);
            report({ kind: 'delivered', event, status: result.status, attempt });
            settled();
            return true;
          case 'retry':
            failures.push({ event, result });
            if (result.everyLane) everyLaneStopped = true;
            report({
              kind: 'retrying',
              event,
              attempt,
              reason: result.reason,
              ...(result.status !== undefined ? { status: result.status } : {}),
            });
            logger.warn(
              {
                ...where,
                attempt,
                reason: result.reason,
                ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
              },
              'webhook delivery failed; it will be retried',
            );
            return false;
          case 'rejected':
            if (webhook.onReject === 'skip') {
              progress.skip(event, result.status);
              report({ kind: 'rejected', event, status: result.status, action: 'skipped' });
              logger.error(
                { ...where, status: result.status, reason: result.reason },
                'webhook receiver refused an audit event; skipped (ELEVATE_WEBHOOK_ON_REJECT=skip)',
              );
              settled();
              return true;
            }
            failures.push({ event, result });
            report({ kind: 'rejected', event, status: result.status, action: 'held' });
            logger.error(
              { ...where, attempt, status: result.status, reason: result.reason },
              'webhook receiver refused an audit event; its elevation waits until the receiver accepts it (ELEVATE_WEBHOOK_ON_REJECT=stop)',
            );
            return false;
        }
      },
    );
    await stopped(ctx, stopping, beat);
    if (failures.length > 0) {
      beat();
      throw pageFailure(failures, webhook.maxRetryAfterMs ?? 600_000);
    }
    if (attempt > 1) {
      logger.info({ position: progress.position, attempt }, 'webhook page delivered after retries');
    }
    return progress.result();
  } catch (err) {
    if (!(err instanceof ApplicationFailure) && !stop.aborted) {
      logger.warn(
        { err: messageOf(err), attempt },
        'webhook forwarder cannot read the audit trail; trying again',
      );
    }
    throw err;
  } finally {
    clearInterval(ticker);
  }
}

/**
 * Reads the page after the cursor, waiting up to `waitMs` for a first event. Checks first that
 * the trail still holds the event the cursor names: after a restore from a backup (or a
 * rewrite) it does not, and the trail is delivered again from its start (receivers drop what
 * they already have by id), which loses nothing.
 */
async function readPage(
  store: AuditTrailReader,
  progress: Progress,
  input: DeliverPageInput,
  pollIntervalMs: number,
  stop: AbortSignal,
  logger: Logger,
): Promise<AuditEvent[]> {
  const deadline = Date.now() + input.waitMs;
  for (;;) {
    const anchored = progress.position > 0;
    const events = await store.readEvents(
      progress.position - (anchored ? 1 : 0),
      input.limit + (anchored ? 1 : 0),
    );
    if (anchored) {
      const first = events.shift();
      if (
        !first ||
        first.position !== progress.position ||
        (progress.hash !== null && first.hash !== progress.hash)
      ) {
        logger.error(
          { position: progress.position },
          'the audit trail no longer holds the event the webhook cursor stopped at (restored from a backup?); delivering it again from the start',
        );
        progress.restart();
        continue;
      }
    }
    if (events.length > 0 || stop.aborted || Date.now() >= deadline) return events;
    await sleep(Math.min(pollIntervalMs, deadline - Date.now()), stop);
  }
}

/** Ends the attempt if the worker is stopping or the activity was cancelled, keeping the progress. */
async function stopped(ctx: Context, stopping: AbortSignal, beat: () => void): Promise<void> {
  if (ctx.cancellationSignal.aborted) {
    beat();
    await ctx.cancelled;
  }
  if (stopping.aborted) {
    beat();
    // Another worker, or this one restarted, carries on from the heartbeat in a moment.
    throw ApplicationFailure.create({
      message: 'this worker is stopping; the page is carried on by another worker',
      type: WORKER_STOPPING,
      nonRetryable: false,
      nextRetryDelay: '2s',
    });
  }
}

/** The attempt's failure: retryable, after the longest `Retry-After` a receiver asked for. */
function pageFailure(
  failures: { event: AuditEvent; result: Extract<DeliveryAttempt, { kind: 'retry' | 'rejected' }> }[],
  maxRetryAfterMs: number,
): ApplicationFailure {
  const retryAfter = Math.max(
    ...failures.map(({ result }) => (result.kind === 'retry' ? (result.retryAfterMs ?? -1) : -1)),
  );
  const [first] = failures;
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more elevation(s))` : '';
  return ApplicationFailure.create({
    message: `webhook delivery of audit event ${first!.event.position} failed: ${first!.result.reason}${more}`,
    type: WEBHOOK_DELIVERY_FAILED,
    nonRetryable: false,
    ...(retryAfter >= 0 ? { nextRetryDelay: Math.min(retryAfter, maxRetryAfterMs) } : {}),
  });
}

/**
 * Runs the events lane by lane: one lane per elevation, its events in order, `step` deciding
 * whether the lane goes on; at most `concurrency` lanes at a time.
 */
async function runLanes(
  events: AuditEvent[],
  concurrency: number,
  step: (event: AuditEvent) => Promise<boolean>,
): Promise<void> {
  const lanes = new Map<string, AuditEvent[]>();
  for (const event of events) {
    const key = event.elevationId ?? '';
    const lane = lanes.get(key);
    if (lane) lane.push(event);
    else lanes.set(key, [event]);
  }
  const waiting = [...lanes.values()];
  const runner = async () => {
    for (let lane = waiting.shift(); lane; lane = waiting.shift()) {
      for (const event of lane) if (!(await step(event))) break;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, waiting.length) }, runner));
}

/** The cursor of one page as it moves: a settled prefix, and what is settled above it. */
class Progress {
  position: number;
  hash: string | null;
  private readonly done: Set<number>;
  private skipped: SkippedEvent[];
  private delivered: number;
  private restarted: boolean;
  /** The page's events in chain order, as read by this attempt. */
  private order: AuditEvent[] = [];

  constructor(p: PageProgress) {
    this.position = p.position;
    this.hash = p.hash;
    this.done = new Set(p.done.flatMap(([first, last]) => range(first, last)));
    this.skipped = p.skipped;
    this.delivered = p.delivered;
    this.restarted = p.restarted;
  }

  /** The trail no longer matches the cursor: start over from its beginning. */
  restart(): void {
    this.position = 0;
    this.hash = null;
    this.done.clear();
    this.restarted = true;
  }

  page(events: AuditEvent[]): void {
    this.order = events;
    this.advance();
  }

  isDone(position: number): boolean {
    return this.done.has(position);
  }

  settle(event: AuditEvent): void {
    this.delivered += 1;
    this.done.add(event.position);
    this.advance();
  }

  skip(event: AuditEvent, status: number): void {
    this.skipped = [
      ...this.skipped,
      {
        position: event.position,
        eventId: event.id,
        elevationId: event.elevationId,
        status,
        at: new Date().toISOString(),
      },
    ];
    this.done.add(event.position);
    this.advance();
  }

  snapshot(): PageProgress {
    return {
      v: 1,
      position: this.position,
      hash: this.hash,
      done: toRanges([...this.done]),
      skipped: this.skipped,
      delivered: this.delivered,
      restarted: this.restarted,
    };
  }

  result(): DeliverPageResult {
    return {
      position: this.position,
      hash: this.hash,
      delivered: this.delivered,
      skipped: this.skipped,
      restarted: this.restarted,
    };
  }

  /** Moves `position` over the settled events at the front of the page. */
  private advance(): void {
    for (const event of this.order) {
      if (event.position <= this.position) continue;
      if (!this.done.delete(event.position)) break;
      this.position = event.position;
      this.hash = event.hash;
    }
  }
}

function fresh(input: DeliverPageInput): PageProgress {
  return {
    v: 1,
    position: input.position,
    hash: input.hash,
    done: [],
    skipped: [],
    delivered: 0,
    restarted: false,
  };
}

/** The heartbeat details of an earlier attempt, if they are a page's progress. */
function readProgress(details: unknown): PageProgress | undefined {
  const p = details as Partial<PageProgress> | null | undefined;
  return p?.v === 1 && Number.isSafeInteger(p.position) && Array.isArray(p.done) && Array.isArray(p.skipped)
    ? (p as PageProgress)
    : undefined;
}

/** Sorted positions as inclusive [first, last] ranges. */
function toRanges(positions: number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const p of [...positions].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last && p === last[1] + 1) last[1] = p;
    else ranges.push([p, p]);
  }
  return ranges;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** Waits `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return wait(Math.max(0, ms), undefined, { signal }).catch(() => undefined);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
