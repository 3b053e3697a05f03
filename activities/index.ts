/**
 * Activities of the elevation workflow: all of its I/O. Built by a factory from their
 * dependencies, so tests run them against real servers and processes wire them once.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { AuditStore } from '../integrations/audit/audit-store.js';
import { leaseKey, type GrantLedger, type GrantRequest } from '../domain/grant-ledger.js';
import type {
  Actor,
  BotSnapshot,
  ElevationView,
  DriftFinding,
  EventType,
  GrantReceipt,
  ReconcileRole,
  RevokeReceipt,
  RoleReconciliation,
  RoleSnapshot,
  SlackMessageRef,
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

/** An elevation with the bot and role it was requested for: what a notification describes. */
export interface ElevationDetails {
  elevation: ElevationView;
  bot: BotSnapshot;
  role: RoleSnapshot;
}

/** One step of an elevation to tell people about. */
export interface ElevationNotice extends ElevationDetails {
  /** The approval messages {@link ApprovalNotifier.announce} posted (empty without Slack). */
  messages: SlackMessageRef[];
  event: EventType;
  /** Also tell the bot's owner (the request was decided, or the grant ended). */
  notifyOwner: boolean;
}

/** Where approvers and owners hear about elevations: Slack, or the log when Slack is not set up. */
export interface ApprovalNotifier {
  /** Ask the eligible approvers; returns the messages posted, to be updated later. */
  announce(details: ElevationDetails): Promise<SlackMessageRef[]>;
  /** Update the approval messages, reply in their threads, and tell the owner when asked. */
  publish(notice: ElevationNotice): Promise<void>;
}

export interface ActivityDeps {
  store: Pick<AuditStore, 'append'>;
  ledger: Pick<GrantLedger, 'acquire' | 'release' | 'members' | 'reconcile'>;
  notifier: ApprovalNotifier;
  logger: Logger;
}

export function createActivities({ store, ledger, notifier, logger }: ActivityDeps) {
  const attemptOf = (): number => {
    try {
      return Context.current().info.attempt;
    } catch {
      return 1; // called outside an activity (tests)
    }
  };

  /** Run `op`; log its failure (with the attempt number) at `level` and rethrow for Temporal to retry. */
  const logFailure = async <T>(
    req: GrantRequest,
    level: 'warn' | 'error',
    message: string,
    op: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      logger[level](
        {
          elevationId: req.elevationId,
          attempt: attemptOf(),
          err: (err as Error).message,
          type: (err as Error).name,
        },
        message,
      );
      throw err;
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
    acquireGrant(req: GrantRequest): Promise<GrantReceipt> {
      return logFailure(req, 'warn', 'grant attempt failed', () => ledger.acquire(req));
    },

    /** Release the elevation's grant; removes the membership when no other elevation holds it. */
    releaseGrant(req: GrantRequest): Promise<RevokeReceipt> {
      // An error line on every failed attempt: a revocation that does not go through is an incident.
      return logFailure(req, 'error', 'revocation attempt failed; it will be retried until it succeeds', () =>
        ledger.release(req),
      );
    },

    /**
     * Compare who holds the role in its target with the leases of running elevations. A member
     * that no lease explains and the role does not list as standing is drift: recorded as
     * `drift.detected` (and logged as a warning), and with `action: revert` removed, read back
     * and recorded as `drift.reverted`. The decision for each member is made under the ledger's
     * lock for that membership, so a grant in progress is never mistaken for drift.
     */
    async reconcileRole(role: ReconcileRole): Promise<RoleReconciliation> {
      if (role.target.type === 'aws-iam') {
        // An AWS grant is a policy per elevation, not a membership of the role: not listed yet.
        return { drift: [], skipped: 'AWS IAM roles are not reconciled yet' };
      }
      const target = role.target;
      const keyOf = (principal: string) => leaseKey(target, principal, '');
      const standing = new Set(role.standing.map(keyOf));
      const bots = new Set(role.principals.map(keyOf));
      const drift: DriftFinding[] = [];
      for (const principal of await ledger.members(target)) {
        if (standing.has(keyOf(principal))) continue;
        const data = {
          role: role.id,
          target,
          principal,
          action: role.action,
          bot: bots.has(keyOf(principal)),
        };
        const record = (type: EventType) =>
          store.append({
            id: randomUUID(),
            elevationId: null,
            type,
            at: new Date().toISOString(),
            actor: { kind: 'system', id: 'elevate' },
            data,
          });
        const outcome = await ledger.reconcile(target, principal, role.action, async () => {
          logger.warn(data, 'drift: a member of the role that no elevation explains');
          await record('drift.detected');
        });
        if (outcome === 'alerted') drift.push({ principal, action: 'alerted' });
        if (outcome === 'reverted') {
          logger.warn(data, 'drift reverted: the member was removed');
          await record('drift.reverted');
          drift.push({ principal, action: 'reverted' });
        }
      }
      return { drift };
    },

    /** Ask the approvers (a Slack message each, or a log line with the approval link). */
    announceApproval(details: ElevationDetails): Promise<SlackMessageRef[]> {
      return notifier.announce(details);
    },

    /** Bring the approval messages up to date with one step of the elevation. */
    publishElevationEvent(notice: ElevationNotice): Promise<void> {
      return notifier.publish(notice);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
