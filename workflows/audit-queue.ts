/**
 * The audit trail of one elevation as its workflow writes it: events are made here (each with
 * a copy of the view after the step) and stored strictly in the order they were queued, in one
 * of two modes named by what the next step does:
 *
 * - {@link AuditQueue.recordBeforeNextStep}: the next step waits until the event is stored
 *   (nothing is granted before the request is on record).
 * - {@link AuditQueue.recordInBackground}: the next step goes ahead at once (the expiry clock,
 *   a revocation), so an audit-store outage cannot stretch a grant past its window; the event
 *   is stored, in order, once the store answers.
 *
 * Events must never be lost, so both modes retry without limit.
 */
import { proxyActivities, proxyLocalActivities, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type { Actor, ElevationView } from '../core/model/elevation.js';
import type { EventType, WorkflowEvent, WorkflowEventOf } from '../core/model/events.js';
import type { EventDataOf } from '../core/model/event-data.js';

const RETRY_FOREVER = { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' } as const;

/**
 * A short, idempotent write to the audit store that the next step waits for anyway: a local
 * activity, inside the workflow task, with no round trip through the Temporal server.
 */
const recordLocally = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: RETRY_FOREVER,
}).recordEvents;

/**
 * Where nothing may wait for the audit store, an ordinary activity: a running local activity
 * would hold the workflow task open and delay the timer or the revocation until the store answers.
 */
const recordAsActivity = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: RETRY_FOREVER,
}).recordEvents;

/** The events of one elevation, made and stored in order. */
export class AuditQueue {
  private stored: Promise<void> = Promise.resolve();

  /** `snapshot` gives a copy of the elevation's view, as it is when an event is made. */
  constructor(
    private readonly elevationId: string,
    private readonly snapshot: () => ElevationView,
  ) {}

  /**
   * An event of type `T` by `actor`, carrying the view as it is now. `data` is checked against
   * its type's schema at compile time (`core/model/event-data.ts`).
   */
  event<T extends EventType>(type: T, actor: Actor, data: EventDataOf<T>): WorkflowEventOf<T> {
    // A type of T and data of the same T make one member of the union: TypeScript cannot see it.
    return {
      id: uuid4(),
      type,
      at: new Date().toISOString(),
      actor,
      data,
      elevation: this.snapshot(),
    } as WorkflowEventOf<T>;
  }

  /** Stores `events` after everything queued before; resolves once they are stored. */
  recordBeforeNextStep(...events: WorkflowEvent[]): Promise<void> {
    this.stored = this.stored.then(() => recordLocally(this.elevationId, events));
    return this.stored;
  }

  /** Stores `events` after everything queued before, without anyone waiting for it. */
  recordInBackground(...events: WorkflowEvent[]): void {
    this.stored = this.stored.then(() => recordAsActivity(this.elevationId, events));
  }

  /** Resolves once everything queued so far is stored. */
  drained(): Promise<void> {
    return this.stored;
  }
}
