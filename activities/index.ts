/**
 * Activities of the elevation workflow: all of its I/O. Built by a factory from their
 * dependencies, so tests run them against real servers and processes wire them once.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { AuditStore } from '../integrations/audit/audit-store.js';
import type { GrantLedger, GrantRequest } from '../domain/grant-ledger.js';
import type {
  Actor,
  ElevationView,
  EventType,
  GrantReceipt,
  RevokeReceipt,
} from '../workflows/definitions.js';

/** An event as the workflow hands it over; the elevation view is the state after it. */
export interface WorkflowEvent {
  id: string;
  type: EventType;
  at: string;
  actor: Actor;
  data: Record<string, unknown>;
  elevation: ElevationView;
}

export interface ActivityDeps {
  store: Pick<AuditStore, 'append'>;
  ledger: Pick<GrantLedger, 'acquire' | 'release'>;
  logger: Logger;
}

export function createActivities({ store, ledger, logger }: ActivityDeps) {
  const attemptOf = (): number => {
    try {
      return Context.current().info.attempt;
    } catch {
      return 1; // called outside an activity (tests)
    }
  };

  return {
    /** Append events in order. Idempotent by event id, so a retried call stores nothing twice. */
    async recordEvents(elevationId: string, events: WorkflowEvent[]): Promise<void> {
      for (const e of events) {
        await store.append({ ...e, elevationId });
      }
    },

    /** Grant the role in its target (via the ledger), confirmed by reading it back. */
    async acquireGrant(req: GrantRequest): Promise<GrantReceipt> {
      try {
        return await ledger.acquire(req);
      } catch (err) {
        logger.warn(
          {
            elevationId: req.elevationId,
            attempt: attemptOf(),
            err: (err as Error).message,
            type: (err as Error).name,
          },
          'grant attempt failed',
        );
        throw err;
      }
    },

    /** Release the elevation's grant; removes the membership when no other elevation holds it. */
    async releaseGrant(req: GrantRequest): Promise<RevokeReceipt> {
      try {
        return await ledger.release(req);
      } catch (err) {
        // An error line on every failed attempt: a revocation that does not go through is an incident.
        logger.error(
          {
            elevationId: req.elevationId,
            attempt: attemptOf(),
            err: (err as Error).message,
            type: (err as Error).name,
          },
          'revocation attempt failed; it will be retried until it succeeds',
        );
        throw err;
      }
    },

    /** Tell approvers a request waits for them. Slack comes later; until then the log carries it. */
    notifyApprovers(req: { elevation: ElevationView; approvers: string[]; quorum: number }): Promise<void> {
      logger.info(
        {
          elevationId: req.elevation.id,
          botId: req.elevation.botId,
          roleId: req.elevation.roleId,
          approvers: req.approvers,
          quorum: req.quorum,
          deadline: req.elevation.approval.mode === 'approvers' ? req.elevation.approval.deadline : undefined,
        },
        'approval requested',
      );
      return Promise.resolve();
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
