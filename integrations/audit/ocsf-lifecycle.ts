/**
 * The request lifecycle's later additions in the `ocsf` export (see `ocsf.ts`): reminders and
 * escalation of approvals, extensions, break-glass and role bundles. Each is an Entity Management
 * 3004 (Update) of the elevation, like the steps of an elevation in `ocsf.ts`:
 *
 * - `approval.reminded` Informational, `approval.escalated` Low;
 * - `elevation.extended` Low; `extension.requested` Informational; `extension.closed` Low when
 *   denied or expired, Medium (Failure) when approved but not put in force;
 * - `breakglass.activated` High (granted without approval), `breakglass.reviewed` Low when
 *   confirmed and High when rejected, `breakglass.review_missed` High, Failure;
 * - `bundle.granted` Informational, naming each role's target.
 *
 * The event as recorded stays under `unmapped` like every event.
 */
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { EventDataOf } from '../../core/model/event-data.js';
import {
  describeTarget,
  elevationEntity,
  text,
  type Mapping,
  type Severity,
  type Status,
} from './ocsf-objects.js';

/** A lifecycle event's type and data, as `ocsf.ts` parsed them. */
export type LifecyclePayload =
  | { type: 'approval.reminded'; data: EventDataOf<'approval.reminded'> }
  | { type: 'approval.escalated'; data: EventDataOf<'approval.escalated'> }
  | { type: 'elevation.extended'; data: EventDataOf<'elevation.extended'> }
  | { type: 'extension.requested'; data: EventDataOf<'extension.requested'> }
  | { type: 'extension.closed'; data: EventDataOf<'extension.closed'> }
  | { type: 'breakglass.activated'; data: EventDataOf<'breakglass.activated'> }
  | { type: 'breakglass.reviewed'; data: EventDataOf<'breakglass.reviewed'> }
  | { type: 'breakglass.review_missed'; data: EventDataOf<'breakglass.review_missed'> }
  | { type: 'bundle.granted'; data: EventDataOf<'bundle.granted'> };

/** The OCSF mapping of one lifecycle event; `update` is `ocsf.ts`'s update of the elevation. */
export function lifecycleMapping(
  event: AuditEvent,
  parsed: LifecyclePayload,
  update: (severity: Severity, status: Status, message: string, extra?: Partial<Mapping>) => Mapping,
): Mapping {
  const id = event.elevationId ?? 'unknown';
  switch (parsed.type) {
    case 'approval.reminded': {
      const d = parsed.data;
      return update(
        'informational',
        'success',
        `Approvers of elevation ${id} reminded (reminder ${d.number}, ${d.secondsLeft} s left, ${d.approvals} approval${d.approvals === 1 ? '' : 's'} so far)`,
      );
    }
    case 'approval.escalated': {
      const d = parsed.data;
      return update(
        'low',
        'success',
        `Elevation ${id} escalated to ${d.groups.join(', ')} after ${d.afterSeconds} s without quorum`,
      );
    }
    case 'elevation.extended': {
      const d = parsed.data;
      return update(
        'low',
        'success',
        `Elevation ${id} extended by ${d.durationSeconds} s to ${d.to} by ${d.requestedBy.kind} ${d.requestedBy.id} (extension ${d.extensions}, ${d.lifetimeSeconds} of ${d.maxTotalSeconds} s)`,
      );
    }
    case 'extension.requested': {
      const d = parsed.data;
      return update(
        'informational',
        'success',
        `Extension ${d.number} of elevation ${id} by ${d.durationSeconds} s asked by ${d.requestedBy.kind} ${d.requestedBy.id}; waits for ${d.quorum} approval${d.quorum === 1 ? '' : 's'} until ${d.deadline}`,
        { fields: { entity: elevationEntity(event), comment: text(d.justification) } },
      );
    }
    case 'extension.closed': {
      const d = parsed.data;
      const why = d.reason ? `: ${d.reason}` : '';
      return d.outcome === 'failed'
        ? update(
            'medium',
            'failure',
            `Extension ${d.number} of elevation ${id} approved but not put in force${why}`,
            {
              statusCode: 'extension_failed',
              statusDetail: 'extension_failed',
            },
          )
        : update(
            'low',
            'success',
            `Extension ${d.number} of elevation ${id} ${d.outcome}${why} (window unchanged)`,
          );
    }
    case 'breakglass.activated': {
      const d = parsed.data;
      return update(
        'high',
        'success',
        `Break-glass: bot ${d.botId} granted role ${d.roleId} without approval for ${d.durationSeconds} s (elevation ${id}); review due ${d.reviewDeadline}`,
        { fields: { entity: elevationEntity(event), comment: text(d.justification) } },
      );
    }
    case 'breakglass.reviewed': {
      const d = parsed.data;
      return update(
        d.outcome === 'confirmed' ? 'low' : 'high',
        'success',
        `Break-glass of elevation ${id} ${d.outcome} by ${d.reviewer}${d.late ? ' after its deadline' : ''}${d.lockedDown ? `; bot ${d.botId} locked down` : ''}`,
        { fields: { entity: elevationEntity(event), comment: text(d.comment) } },
      );
    }
    case 'bundle.granted': {
      const d = parsed.data;
      const roles = d.grants.map(
        (g) => `${g.roleId} (${describeTarget(g.receipt.target, event.elevationId)})`,
      );
      return update(
        'informational',
        'success',
        `Bundle ${d.bundle} granted, all or nothing, for elevation ${id}: ${roles.join(', ')}`,
      );
    }
    case 'breakglass.review_missed': {
      const d = parsed.data;
      return update(
        'high',
        'failure',
        `Break-glass of elevation ${id} not reviewed by ${d.deadline}; bot ${d.botId} locked down`,
        { statusCode: 'review_missed', statusDetail: 'review_missed' },
      );
    }
  }
}
