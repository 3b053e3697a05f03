/**
 * Sending a signed decision (approve, deny, revoke, extend) to an elevation's workflow as an Update, and
 * turning what the workflow answers into the caller's error: a refusal the workflow gave is
 * recorded and thrown as {@link RefusalError}; a workflow that has closed or never existed is
 * told by the client's typed `WorkflowNotFoundError`, never by an error message.
 */
import type { AuthMethod } from '../../core/model/request-source.js';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Actor, ElevationView } from '../../core/model/elevation.js';
import type { DecisionKind, RefusalCode } from '../../core/model/decisions.js';
import type { ErrorCode } from '../../core/errors/error-codes.js';
import type { DecisionInputs } from '../../core/rules/signed-decision.js';
import {
  REFUSAL_FAILURE_TYPE,
  approveUpdate,
  denyUpdate,
  extendUpdate,
  reloadDecisionKeysUpdate,
  revokeUpdate,
} from '../../workflows/definitions.js';
import type { AuditService } from '../audit/audit-service.js';
import type { DecisionSigner } from '../decision-signer.js';
import { RefusalError, unavailable, type ApiError } from '../errors.js';
import type { ElevationReader } from './elevation-reader.js';

/** The workflow's refusal codes as the API's error codes. */
export const REFUSAL_TO_API: Record<RefusalCode, ErrorCode> = {
  not_pending: 'not_pending',
  already_ended: 'already_ended',
  approval_window_closed: 'approval_window_closed',
  not_eligible: 'approval_refused',
  owner_may_not_approve: 'approval_refused',
  already_approved: 'already_approved',
  not_needed: 'approval_not_needed',
  invalid_input: 'invalid_request',
  // The API's own signature refused: a configuration fault (keys, clocks), never the caller's.
  unsigned_decision: 'service_unavailable',
  unknown_decision_key: 'service_unavailable',
  not_active: 'not_active',
  extension_not_allowed: 'extension_not_allowed',
  extension_too_long: 'extension_too_long',
  too_many_extensions: 'too_many_extensions',
  extension_in_progress: 'extension_in_progress',
  extension_not_pending: 'extension_not_pending',
};

/** The Update of each decision; every one takes the same argument, a SignedDecision. */
const DECISION_UPDATES = {
  approve: approveUpdate,
  deny: denyUpdate,
  revoke: revokeUpdate,
  extend: extendUpdate,
} as const satisfies Record<DecisionKind, unknown>;

/** What a refused approval or denial records besides its code: the MFA evidence, the reason given. */
export interface DecisionRefusalExtra {
  evidence?: Record<string, unknown> | null;
  reason?: string;
  /** Where a bot's give-back came from (address, user agent, method). */
  ip?: string | null;
  userAgent?: string | null;
  authMethod?: AuthMethod;
  /** An extension's seconds and justification, as asked. */
  durationSeconds?: number;
  justification?: string;
  /** The number of the pending extension an approval or denial was for. */
  extension?: number;
}

export interface DecisionSenderDeps {
  reader: Pick<ElevationReader, 'handle'>;
  /**
   * Signs every decision sent to a workflow (approve, deny, revoke): workers act only on what
   * this key signed.
   */
  signer: Pick<DecisionSigner, 'decision' | 'kid'>;
  refusals: Pick<AuditService, 'recordRefusal'>;
  logger: Pick<Logger, 'info' | 'error'>;
}

export class DecisionSender {
  constructor(private readonly deps: DecisionSenderDeps) {}

  /**
   * Send a decision, signed, to the elevation's workflow. A workflow that does not know this
   * API's key yet (started before a key rotation, or before decisions were signed) answers
   * `unknown_decision_key`: it is asked to reload its keys from the worker's configuration,
   * and the decision is signed afresh and sent once more.
   */
  async decide<K extends DecisionKind>(
    id: string,
    kind: K,
    input: DecisionInputs[K],
  ): Promise<ElevationView> {
    const { reader, signer, logger } = this.deps;
    // Every decision's update takes the same argument: a SignedDecision.
    const update = DECISION_UPDATES[kind] as typeof approveUpdate;
    const send = async () => {
      const view = await reader.handle(id).executeUpdate(update, {
        args: [await signer.decision(id, kind, input)],
      });
      // One line per decision this API signed and a workflow accepted: what to compare the
      // audit trail with if the signing key is ever suspected.
      logger.info({ elevationId: id, decision: kind, kid: signer.kid }, 'decision sent');
      return view;
    };
    try {
      return await send();
    } catch (err) {
      if (refusalCodeOf(err) !== 'unknown_decision_key') throw err;
    }
    try {
      const { kids } = await reader.handle(id).executeUpdate(reloadDecisionKeysUpdate);
      if (!kids.includes(signer.kid)) {
        logger.error(
          { elevationId: id, kid: signer.kid, trusted: kids },
          "the workers do not trust this API's decision signing key: add its public key to ELEVATE_DECISION_PUBLIC_KEYS on every worker",
        );
      }
    } catch (err) {
      // Refused as too soon: another caller has just had the keys reloaded; the retry tells.
      if (refusalCodeOf(err) !== 'invalid_input') throw err;
    }
    return send();
  }

  /**
   * What a failed decision means for the caller: a workflow's refusal, recorded as `type` and
   * returned as {@link RefusalError}; anything else a 503.
   */
  async refusalOrUnavailable(
    err: unknown,
    type: 'approval.refused' | 'deny.refused' | 'revoke.refused' | 'extend.refused',
    id: string,
    by: Actor,
    extra: DecisionRefusalExtra = {},
  ): Promise<ApiError> {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === REFUSAL_FAILURE_TYPE) {
      const code = (cause.details?.[0] as RefusalCode | undefined) ?? 'invalid_input';
      const receipt = await this.deps.refusals.recordRefusal(type, id, by, {
        code,
        message: cause.message,
        ...extra,
      });
      if (code === 'unsigned_decision' || code === 'unknown_decision_key') {
        this.deps.logger.error(
          {
            elevationId: id,
            code,
            detail: cause.details?.[1] ?? null,
            message: cause.message,
            kid: this.deps.signer.kid,
          },
          "a workflow refused this API's signed decision: check ELEVATE_DECISION_SIGNING_KEY here, ELEVATE_DECISION_PUBLIC_KEYS on the workers, and the clocks",
        );
      }
      // Beside a code, a refusal may name the field at fault (an extension's `durationSeconds`);
      // a refused signature's detail is its own code, for the log only.
      const detail = cause.details?.[1];
      const signature = code === 'unsigned_decision' || code === 'unknown_decision_key';
      const field = typeof detail === 'string' && !signature;
      return new RefusalError(
        receipt,
        REFUSAL_TO_API[code] ?? 'invalid_request',
        code,
        cause.message,
        field ? detail : undefined,
      );
    }
    return unavailable(this.deps.logger, err, 'reach the elevation');
  }
}

/**
 * Whether an update failed because the workflow has closed or never existed: the client reports
 * both as `WorkflowNotFoundError` ("workflow execution already completed"), by type, not by message.
 */
export function isGone(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError;
}

/** The workflow's refusal code of a refused update, if `err` is one. */
function refusalCodeOf(err: unknown): RefusalCode | undefined {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === REFUSAL_FAILURE_TYPE
    ? (cause.details?.[0] as RefusalCode | undefined)
    : undefined;
}
