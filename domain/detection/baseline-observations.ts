/**
 * What the baselines learn from each audit event: a request (its source, role, duration and
 * the approval chain it saw), a refusal of the bot, a decision on its request, or the end of
 * its grant. Events of other types, and events whose data does not read, teach nothing.
 */
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ApprovalRule } from '../../core/model/elevation.js';
import { eventDataOf, type EventDataOf } from '../../core/model/event-data.js';
import type { BaselineObservation } from '../../core/model/risk.js';
import { approvalChainOf } from '../../core/rules/risk-routing.js';
import type { ElevationFacts } from '../../store/bot-baselines.js';

/** Refusals that say something about the bot that was refused (its actor). */
const BOT_REFUSALS = new Set<string>(['request.refused', 'credentials.refused', 'revoke.refused']);

/** The observation an event makes, if any; `facts` reads the elevation an event names. */
export async function observationOf(
  event: AuditEvent,
  facts: (elevationId: string) => Promise<ElevationFacts | undefined>,
): Promise<BaselineObservation | undefined> {
  const at = Date.parse(event.at);
  if (!Number.isFinite(at)) return undefined;
  if (event.type === 'elevation.requested') {
    const data = eventDataOf(event, 'elevation.requested');
    return data ? requested(data, at, event.elevationId) : undefined;
  }
  if (BOT_REFUSALS.has(event.type)) {
    if (event.actor.kind !== 'bot') return undefined;
    const reason = typeof event.data.reason === 'string' ? event.data.reason : event.type;
    return { kind: 'refused', botId: event.actor.id, at, reason };
  }
  const outcome = DECISIONS[event.type];
  if (outcome && event.elevationId) {
    const elevation = await facts(event.elevationId);
    return elevation
      ? { kind: 'decided', botId: elevation.botId, at, outcome, elevationId: event.elevationId }
      : undefined;
  }
  if (event.type === 'elevation.revoked' && event.elevationId) {
    const elevation = await facts(event.elevationId);
    const data = eventDataOf(event, 'elevation.revoked');
    if (!elevation?.grantedAt || !data || data.granted === false) return undefined;
    const held = (at - Date.parse(elevation.grantedAt)) / 1000;
    if (!Number.isFinite(held)) return undefined;
    return {
      kind: 'ended',
      botId: elevation.botId,
      at,
      roleId: elevation.roleId,
      heldSeconds: Math.max(0, held),
      givenBack: data.reason === 'given_back',
    };
  }
  return undefined;
}

const DECISIONS: Partial<Record<string, 'approved' | 'denied' | 'expired'>> = {
  'elevation.approved': 'approved',
  'elevation.denied': 'denied',
  'elevation.expired': 'expired',
};

function requested(
  data: EventDataOf<'elevation.requested'>,
  at: number,
  elevationId: string | null,
): BaselineObservation {
  const source = data.source;
  const sensitivity = data.role.risk?.sensitivity;
  return {
    kind: 'requested',
    ...(elevationId !== null ? { elevationId } : {}),
    ...(sensitivity ? { sensitivity } : {}),
    // A request scored high or critical teaches its hour and novelty only once approved.
    ...(data.risk ? { riskLevel: data.risk.level } : {}),
    botId: data.bot.id,
    roleId: data.role.id,
    at,
    durationSeconds: data.durationSeconds,
    ip: source?.ip ?? null,
    userAgent: source?.userAgent ?? null,
    authMethod: source?.authMethod ?? 'api_key',
    ...(source?.workload ? { workload: source.workload } : {}),
    approvalChain: data.role.approval ? approvalChainOf(recordedRule(data.role.approval)) : '',
  };
}

/** The approval rule as recorded, in today's shape (records made before approver groups had one list). */
function recordedRule(
  rule: NonNullable<EventDataOf<'elevation.requested'>['role']['approval']>,
): ApprovalRule {
  if (rule.mode === 'auto') return { mode: 'auto' };
  return {
    mode: 'approvers',
    groups: rule.groups ?? [{ name: 'approvers', quorum: rule.quorum ?? 1, members: rule.approvers ?? [] }],
    windowSeconds: rule.windowSeconds ?? 0,
    ownerMayApprove: rule.ownerMayApprove ?? false,
  };
}
