/**
 * Periodic owner attestation in the `ocsf` export (see `ocsf.ts`). These events change what a
 * bot may do, so they map like an admin's change to a bot, with the bot as the `user`:
 *
 * - `attestation.requested`: Entity Management 3004 (Update) of the bot's role list, Informational.
 * - `attestation.confirmed`: Entity Management 3004 (Update), Success; Low when roles were trimmed.
 * - `attestation.expired`: Account Change 3001 (Disable) of the bot, Medium: its eligibility is
 *   suspended until its owner attests.
 * - `attestation.refused`: Entity Management 3004 (Update), Failure, with the refusal code.
 *
 * The event as recorded stays under `unmapped` like every event.
 */
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { EventDataOf } from '../../core/model/event-data.js';
import { CLASSES, compact, text, type Mapping } from './ocsf-objects.js';

/** An attestation event's type and data, as `ocsf.ts` parsed them. */
export type AttestationPayload =
  | { type: 'attestation.requested'; data: EventDataOf<'attestation.requested'> }
  | { type: 'attestation.confirmed'; data: EventDataOf<'attestation.confirmed'> }
  | { type: 'attestation.expired'; data: EventDataOf<'attestation.expired'> }
  | { type: 'attestation.refused'; data: EventDataOf<'attestation.refused'> };

/** The bot's roles as a managed entity (`entity.data` holds what the event says about them). */
function rolesEntity(botId: string | undefined, data: Record<string, unknown>): Record<string, unknown> {
  return compact({
    uid: botId,
    name: botId ? `roles of bot ${botId}` : 'roles of a bot',
    type: 'Bot role list',
    type_id: 99,
    data: compact(data),
  });
}

const list = (roles: readonly string[]) => (roles.length > 0 ? roles.join(', ') : 'none');

/** The OCSF mapping of one attestation event. */
export function attestationMapping(event: AuditEvent, p: AttestationPayload): Mapping {
  const by = `${event.actor.kind} ${event.actor.id}`;
  switch (p.type) {
    case 'attestation.requested': {
      const d = p.data;
      return {
        cls: CLASSES.entityManagement,
        activity: 3,
        severity: 'informational',
        status: 'success',
        message: `Owner ${d.owner} of bot ${d.botId} asked to confirm its roles (${list(d.roles)}) by ${d.deadline}`,
        fields: { entity: rolesEntity(d.botId, { attestationId: d.attestationId, roles: d.roles }) },
      };
    }
    case 'attestation.confirmed': {
      const d = p.data;
      const trimmed = d.trimmed.length > 0 ? `; trimmed ${list(d.trimmed)}` : '';
      return {
        cls: CLASSES.entityManagement,
        activity: 3,
        severity: d.trimmed.length > 0 ? 'low' : 'informational',
        status: 'success',
        message: `Owner ${d.owner} attested the roles of bot ${d.botId} with MFA: kept ${list(d.kept)}${trimmed}`,
        fields: {
          entity: rolesEntity(d.botId, {
            attestationId: d.attestationId,
            kept: d.kept,
            trimmed: d.trimmed,
          }),
        },
      };
    }
    case 'attestation.expired': {
      const d = p.data;
      const bot = text(d.botId);
      const message = `Bot ${d.botId} suspended: its owner ${d.owner} did not confirm its roles by ${d.deadline}`;
      if (!bot) {
        return {
          cls: CLASSES.entityManagement,
          activity: 3,
          severity: 'medium',
          status: 'success',
          message,
          fields: { entity: rolesEntity(undefined, { attestationId: d.attestationId }) },
        };
      }
      return {
        cls: CLASSES.accountChange,
        activity: 5,
        severity: 'medium',
        status: 'success',
        message,
        fields: { user: { uid: bot, name: bot, type: 'Bot', type_id: 99 } },
      };
    }
    case 'attestation.refused': {
      const d = p.data;
      const code = text(d.code);
      const detail = text(d.message);
      const bot = text(d.botId);
      return {
        cls: CLASSES.entityManagement,
        activity: 3,
        severity: 'low',
        status: 'failure',
        statusCode: code,
        statusDetail: detail ?? code,
        message: `Refused an attestation${bot ? ` of bot ${bot}` : ''} by ${by}${code ? `: ${code}` : ''}${detail ? ` (${detail})` : ''}`,
        fields: { entity: rolesEntity(bot, { attestationId: text(d.attestationId) }) },
      };
    }
  }
}
