/**
 * Periodic owner attestation's activities (`workflows/attestation-workflow.ts`): start the due
 * attestations, note an open one and ask the owner, and put the outcome in force — the roles
 * trimmed by an answer, or the suspension of an unanswered one — each recorded in the audit
 * trail. State changes are idempotent and events keyed by the attestation, so a retried
 * activity changes and records nothing twice.
 */
import type { Logger } from 'pino';
import type { AttestationAnswer, AttestationInput, AttestationRequest } from '../core/model/attestation.js';
import type { TypedAuditAppender } from '../core/model/audit-record.js';
import type { Actor } from '../core/model/elevation.js';
import type { AttestationActivities } from '../core/ports/activities.js';
import type { ApprovalNotifier } from '../core/ports/notifier.js';
import { AttestationStarter } from '../domain/attestations/attestation-starter.js';
import type { BotStates } from '../store/bot-state.js';
import type { ReviewActivityStores } from './review-activity-stores.js';

const SYSTEM: Actor = { kind: 'system', id: 'elevate' };

export interface AttestationActivityDeps {
  starter: Pick<AttestationStarter, 'startDue'>;
  botStates: Pick<BotStates, 'updateBotState'>;
  store: TypedAuditAppender;
  notifier: Pick<ApprovalNotifier, 'askAttestation'>;
  logger: Pick<Logger, 'info' | 'warn'>;
  clock?: () => Date;
}

export function createAttestationActivities(deps: AttestationActivityDeps): AttestationActivities {
  const now = () => (deps.clock ?? (() => new Date()))().toISOString();
  return {
    startDueAttestations: () => deps.starter.startDue(),

    async openAttestation(input: AttestationInput): Promise<void> {
      await deps.botStates.updateBotState(
        input.botId,
        { attestationRequested: { id: input.attestationId } },
        now(),
      );
      await deps.store.append({
        id: `${input.attestationId}:requested`,
        elevationId: null,
        type: 'attestation.requested',
        at: input.requestedAt,
        actor: SYSTEM,
        data: {
          attestationId: input.attestationId,
          botId: input.botId,
          owner: input.owner,
          roles: input.roles,
          trimmed: input.trimmed,
          deadline: input.deadline,
        },
      });
    },

    async askOwner(request: AttestationRequest): Promise<void> {
      if (deps.notifier.askAttestation) {
        await deps.notifier.askAttestation(request);
        return;
      }
      deps.logger.info({ ...request }, 'owner attestation requested: the owner opens reviewUrl');
    },

    async confirmAttestation(
      input: AttestationInput,
      answer: AttestationAnswer & { trimmed: string[] },
    ): Promise<void> {
      const { before } = await deps.botStates.updateBotState(
        input.botId,
        { attested: { by: answer.owner, trimmedRoles: answer.trimmed } },
        now(),
      );
      await deps.store.append({
        id: `${input.attestationId}:confirmed`,
        elevationId: null,
        type: 'attestation.confirmed',
        at: now(),
        actor: { kind: 'human', id: answer.owner },
        data: {
          attestationId: input.attestationId,
          botId: input.botId,
          owner: answer.owner,
          kept: answer.kept,
          trimmed: answer.trimmed,
          liftedSuspension: before?.attestation?.overdue != null,
          evidence: answer.evidence,
        },
      });
      deps.logger.info(
        { attestationId: input.attestationId, botId: input.botId, trimmed: answer.trimmed },
        'owner attested the bot roles',
      );
    },

    async expireAttestation(input: AttestationInput): Promise<void> {
      await deps.botStates.updateBotState(
        input.botId,
        { attestationOverdue: { attestationId: input.attestationId } },
        now(),
      );
      await deps.store.append({
        id: `${input.attestationId}:expired`,
        elevationId: null,
        type: 'attestation.expired',
        at: now(),
        actor: SYSTEM,
        data: {
          attestationId: input.attestationId,
          botId: input.botId,
          owner: input.owner,
          deadline: input.deadline,
          roles: input.roles,
        },
      });
      deps.logger.warn(
        { attestationId: input.attestationId, botId: input.botId, owner: input.owner },
        'owner attestation unanswered by its deadline: the bot is suspended',
      );
    },
  };
}

/** What {@link attestationActivitiesOn} builds the activities from: a worker's stores, policy and client. */
export type AttestationActivityStores = ReviewActivityStores<'botStates' | 'auditLog', 'bots' | 'detection'>;

/** The attestation activities of a worker. */
export function attestationActivitiesOn(deps: AttestationActivityStores): AttestationActivities {
  const logger = deps.logger.child({ component: 'attestation' });
  return createAttestationActivities({
    starter: new AttestationStarter({
      policy: deps.policy,
      botStates: deps.stores.botStates,
      temporal: deps.temporal,
      taskQueue: deps.taskQueue,
      reviewUrl: (id) => attestationReviewUrl(deps.publicUrl, id),
      logger,
    }),
    botStates: deps.stores.botStates,
    store: deps.store ?? deps.stores.auditLog,
    notifier: deps.notifier,
    logger,
  });
}

/** The page where an owner reviews an attestation (the MFA login starts there). */
export function attestationReviewUrl(publicUrl: string, attestationId: string): string {
  return `${publicUrl}/approvals/attest/${attestationId}`;
}
