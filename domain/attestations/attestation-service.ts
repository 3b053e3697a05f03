/**
 * What the attestation pages do with an owner's answer: read where an attestation stands, check
 * that the person who logged in is the bot's owner (before and after the MFA login), and send
 * their answer to the attestation workflow, signed by the API as approvals are. The workflow
 * decides again; every refusal is recorded as `attestation.refused` by the pages.
 */
import type { ErrorCode } from '../../core/errors/error-codes.js';
import {
  ATTESTATION_REFUSAL_TYPE,
  type AttestationRefusalCode,
  type AttestationView,
} from '../../core/model/attestation.js';
import { sameApprover } from '../../core/rules/approval-eligibility.js';
import { attestUpdate, attestationStatusQuery } from '../../workflows/attestation-definitions.js';
import {
  AnswerRefused,
  answerFailure,
  answerWorkflowView,
  type AnswerServiceDeps,
} from '../signed-answers.js';

/**
 * An attestation answer refused: the API code, and the reason (`not_owner`, `not_pending`...)
 * recorded in `attestation.refused`.
 */
export class AttestationRefused extends AnswerRefused {}

/** The workflow's refusal codes as the API's error codes. */
const REFUSAL_TO_API: Record<AttestationRefusalCode, ErrorCode> = {
  not_pending: 'not_pending',
  not_owner: 'forbidden',
  unknown_role: 'invalid_request',
  // The API's own signature refused: keys or clocks, never the owner's doing.
  unsigned_decision: 'service_unavailable',
};

export type AttestationServiceDeps = AnswerServiceDeps<'attestation'>;

export class AttestationService {
  constructor(private readonly deps: AttestationServiceDeps) {}

  /** Where attestation `id` stands; `not_found` when there is no such attestation. */
  async view(id: string): Promise<AttestationView> {
    return answerWorkflowView(
      this.deps,
      id,
      attestationStatusQuery,
      () => new AttestationRefused('not_found', 'not_found', `attestation ${id} does not exist`),
      'read the attestation',
    );
  }

  /**
   * The attestation, if `email` may answer it now: it is open and `email` is the bot's owner
   * (compared as approvers' addresses are). Asked before the login (with the address unknown:
   * only that it is open) and after it.
   */
  async check(id: string, email?: string): Promise<AttestationView> {
    const view = await this.view(id);
    if (view.status !== 'pending') {
      throw new AttestationRefused(
        'not_pending',
        'not_pending',
        `attestation ${id} is ${view.status === 'confirmed' ? 'already answered' : 'past its deadline'}`,
      );
    }
    if (email !== undefined && !sameApprover(email, view.owner)) {
      throw new AttestationRefused(
        'forbidden',
        'not_owner',
        `You logged in as ${email}, but only the owner of bot ${view.botId} may confirm its roles.`,
      );
    }
    return view;
  }

  /** Send the owner's answer (the roles kept), signed, to the workflow; the workflow decides. */
  async attest(
    id: string,
    owner: string,
    kept: string[],
    evidence: Record<string, unknown>,
  ): Promise<AttestationView> {
    const view = await this.check(id, owner);
    const trimmed = view.roles.filter((r) => !kept.includes(r));
    try {
      const signed = await this.deps.signer.attestation(id, { owner, kept, trimmed, evidence });
      const after = await this.deps.temporal.workflow
        .getHandle(id)
        .executeUpdate(attestUpdate, { args: [signed] });
      this.deps.logger.info({ attestationId: id, botId: view.botId, trimmed }, 'attestation sent');
      return after;
    } catch (err) {
      throw answerFailure<AttestationRefusalCode>(err, {
        refusalType: ATTESTATION_REFUSAL_TYPE,
        toApi: REFUSAL_TO_API,
        refused: (code, reason, message) => new AttestationRefused(code, reason, message),
        logger: this.deps.logger,
        fields: { attestationId: id },
        signatureRefused:
          "an attestation workflow refused this API's signed answer: check ELEVATE_DECISION_SIGNING_KEY here, ELEVATE_DECISION_PUBLIC_KEYS on the workers, and the clocks",
        ended: `attestation ${id} has ended`,
        action: 'send the attestation',
      });
    }
  }
}
