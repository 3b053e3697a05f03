/**
 * What the services that send a person's signed answer to a workflow share (owner attestation,
 * break-glass review): the API error a refused answer becomes, with the specific reason the
 * pages record, and the reading of the workflow's refusal of the Update.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, type QueryDefinition } from '@temporalio/common';
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/errors/error-codes.js';
import type { AnswerRefusalCode } from '../core/model/signed-answer.js';
import type { DecisionSigner } from './decision-signer.js';
import { ApiError, unavailable } from './errors.js';

/** An answer refused: the API code, and the specific reason recorded with it. */
export class AnswerRefused extends ApiError {
  constructor(
    code: ErrorCode,
    /** The specific reason (`not_pending`...), recorded in the pages' refusal event. */
    readonly reason: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** What such a service is built from: the Temporal client, the signer of its kind of answer (`K`), a logger. */
export interface AnswerServiceDeps<K extends keyof DecisionSigner> {
  temporal: Pick<Client, 'workflow'>;
  signer: Pick<DecisionSigner, K>;
  logger: Pick<Logger, 'info' | 'error'>;
}

/**
 * Where the workflow `workflowId` stands, as its `query` answers; `notFound` when there is no such
 * workflow, and unavailable (logged, "could not `action`") when Temporal cannot answer.
 */
export async function answerWorkflowView<V>(
  deps: Pick<AnswerServiceDeps<never>, 'temporal' | 'logger'>,
  workflowId: string,
  query: QueryDefinition<V>,
  notFound: () => AnswerRefused,
  action: string,
): Promise<V> {
  try {
    return await deps.temporal.workflow.getHandle(workflowId).query(query);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound();
    throw unavailable(deps.logger, err, action);
  }
}

/** How a service reads its workflow's refusal of an answer. */
export interface AnswerFailureReading<C extends string> {
  /** `ApplicationFailure.type` of the workflow's refusals. */
  refusalType: string;
  /** The workflow's refusal codes as the API's error codes. */
  toApi: Record<C | AnswerRefusalCode, ErrorCode>;
  /** The service's refusal error. */
  refused: (code: ErrorCode, reason: string, message: string) => AnswerRefused;
  logger: Pick<Logger, 'error'>;
  /** Logged with a refused signature: what the answer was for. */
  fields: Record<string, unknown>;
  /** The log line when the workflow refused the API's own signature. */
  signatureRefused: string;
  /** What the person is told when the workflow has ended. */
  ended: string;
  /** What could not be done, in "could not …" (`send the attestation`). */
  action: string;
}

/**
 * The error that sending an answer's Update failed with, as the API answers it: the workflow's
 * refusal with its code, an ended workflow as `not_pending`, anything else as unavailable.
 */
export function answerFailure<C extends string>(err: unknown, how: AnswerFailureReading<C>): ApiError {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === how.refusalType) {
    const code = (cause.details?.[0] as C | AnswerRefusalCode | undefined) ?? 'not_pending';
    if (code === 'unsigned_decision') {
      how.logger.error(
        { ...how.fields, detail: cause.details?.[1] ?? null, message: cause.message },
        how.signatureRefused,
      );
    }
    return how.refused(how.toApi[code], code, cause.message);
  }
  if (err instanceof WorkflowNotFoundError) return how.refused('not_pending', 'not_pending', how.ended);
  return unavailable(how.logger, err, how.action);
}
