/**
 * What AWS SDK failures mean: {@link mapAwsError} turns each into a typed target error (the one
 * place where AWS failures get their meaning), naming the operation and never a secret.
 */
import {
  TargetAccessDeniedError,
  TargetError,
  TargetInvalidError,
  TargetNotFoundError,
  TargetNotVerifiedError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import { isObject } from './policy-document.js';

/** The operation an error happened in, for messages and for mapping `NoSuchEntity`. */
export type AwsOperation =
  | 'grant'
  | 'attach'
  | 'revoke'
  | 'check'
  | 'listMembers'
  | 'issueCredentials'
  | 'ping'
  | 'listAttached'
  | 'detach'
  | 'deleteInline'
  | 'revokeSession'
  | 'inspect'
  | 'extend';

/** What {@link mapAwsError} needs to know about the failed call. */
export interface AwsErrorContext {
  operation: AwsOperation;
  /** The bot's role or user ARN (attach mode), or the role assumed (credentials mode). */
  principal?: string;
  /**
   * Name of the elevation's policy (attach mode); for `detach` the ARN of the policy, for
   * `deleteInline` the name of the inline policy.
   */
  policy?: string;
  /** Removed from every message, in case a server or library ever echoes them. */
  secrets?: string[];
}

/** Error codes (without a trailing `Exception`) that mean AWS is overloaded or failing: retry. */
const TRANSIENT_CODES = new Set([
  'Throttling',
  'ThrottledRequest',
  'TooManyRequests',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceFailure',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'RequestTimeout',
  'PriorRequestNotComplete',
  'IDPCommunicationError',
]);

/** Error codes that say Elevate's own identity may not do this, or is not recognised. */
const DENIED_CODES = new Set([
  'AccessDenied',
  'InvalidClientTokenId',
  'UnrecognizedClient',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidAccessKeyId',
  'ExpiredToken',
  'RegionDisabled',
  'OptInRequired',
]);

function describe(ctx: AwsErrorContext): string {
  const who = ctx.principal ?? '?';
  const policy = ctx.policy ?? '?';
  switch (ctx.operation) {
    case 'grant':
      return `granting policy ${policy} to ${who}`;
    case 'attach':
      return `attaching policy ${policy} to ${who}`;
    case 'revoke':
      return `removing policy ${policy} from ${who}`;
    case 'check':
      return `checking policy ${policy} on ${who}`;
    case 'listMembers':
      return `listing the holders of Elevate's policies`;
    case 'issueCredentials':
      return `assuming ${who}`;
    case 'ping':
      return 'asking STS who Elevate is';
    case 'listAttached':
      return `listing the policies attached to ${who}`;
    case 'detach':
      return `detaching policy ${policy} from ${who}`;
    case 'deleteInline':
      return `deleting inline policy ${policy} of ${who}`;
    case 'revokeSession':
      return `denying a revoked session on ${who} with inline policy ${policy}`;
    case 'inspect':
      return `reading the versions of policy ${policy}`;
    case 'extend':
      return `moving the expiry of policy ${policy} on ${who}`;
  }
}

function redact(message: string, secrets: string[] | undefined): string {
  let out = message;
  for (const s of secrets ?? []) if (s) out = out.split(s).join('[redacted]');
  return out;
}

/** The error's AWS code without a trailing `Exception` (`NoSuchEntityException` → `NoSuchEntity`). */
export function awsErrorCode(err: unknown): string | undefined {
  if (!isObject(err) && !(err instanceof Error)) return undefined;
  const e = err as { Code?: unknown; name?: unknown };
  const raw = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : undefined;
  return raw?.replace(/Exception$/, '');
}

/** The HTTP status AWS answered with, or undefined when no answer arrived. */
export function httpStatus(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Turns whatever the AWS SDK threw into a {@link TargetError}. This is the one place where AWS
 * failures get their meaning; the idempotency cases (`EntityAlreadyExists` on create,
 * `NoSuchEntity` on detach, delete and read) are handled by the callers before they get here.
 *
 * - no answer (connection refused, reset, timed out, DNS, no credentials could be loaded) →
 *   {@link TargetUnreachableError} (retryable);
 * - throttling (`Throttling`, `ThrottlingException`, …), `ServiceUnavailable` and any 5xx →
 *   {@link TargetUnreachableError} (retryable);
 * - `AccessDenied`, `InvalidClientTokenId`, `UnrecognizedClientException` and the other
 *   authentication refusals → {@link TargetAccessDeniedError};
 * - `NoSuchEntity` while attaching the policy just created → {@link TargetUnreachableError}:
 *   the bot's role or user was seen a moment before, so it is IAM's eventual consistency
 *   not showing the new policy yet (a principal deleted meanwhile is reported as not found
 *   on the next attempt);
 * - `NoSuchEntity` otherwise → {@link TargetNotFoundError} naming the role or user;
 * - `DeleteConflict` → {@link TargetNotVerifiedError} (retryable): the policy still has an
 *   attachment or version IAM has not caught up on;
 * - `MalformedPolicyDocument`, `LimitExceeded`, `ValidationError`, `PackedPolicyTooLarge` and
 *   every other answer → {@link TargetInvalidError} with the code: AWS has decided, and asking
 *   again will not change its mind.
 */
export function mapAwsError(err: unknown, ctx: AwsErrorContext): TargetError {
  if (err instanceof TargetError) return err;
  const what = describe(ctx);
  const make = <T extends TargetError>(Cls: new (message: string) => T, message: string): T =>
    new Cls(redact(message, ctx.secrets));
  const e = (isObject(err) || err instanceof Error ? err : {}) as { message?: unknown; code?: unknown };
  const text = typeof e.message === 'string' ? e.message : String(err);
  const status = httpStatus(err);
  const code = awsErrorCode(err);

  if (status === undefined) {
    const detail = [typeof e.code === 'string' ? e.code : code, text].filter(Boolean).join(': ');
    return make(TargetUnreachableError, `AWS unreachable while ${what}: ${detail}`);
  }
  const detail = `${code ?? 'error'}, HTTP ${status}${text ? `: ${text}` : ''}`;
  if ((code && TRANSIENT_CODES.has(code)) || status >= 500) {
    return make(TargetUnreachableError, `AWS temporarily unable to serve ${what} (${detail})`);
  }
  if (code && DENIED_CODES.has(code)) {
    return make(TargetAccessDeniedError, `Elevate's AWS identity may not do this: ${what} (${detail})`);
  }
  if (code === 'NoSuchEntity') {
    if (ctx.operation === 'attach') {
      return make(
        TargetUnreachableError,
        `IAM does not show policy ${ctx.policy ?? '?'} yet (eventual consistency) while ${what} (${detail})`,
      );
    }
    return make(TargetNotFoundError, `AWS principal ${ctx.principal ?? '?'} does not exist (${detail})`);
  }
  if (code === 'DeleteConflict') {
    return make(
      TargetNotVerifiedError,
      `IAM still shows an attachment or version of policy ${ctx.policy ?? '?'} while ${what} (${detail})`,
    );
  }
  return make(TargetInvalidError, `AWS refused ${what} (${detail})`);
}

/** Whether AWS answered the call with this error code. */
export function isCode(err: unknown, code: string): boolean {
  return httpStatus(err) !== undefined && awsErrorCode(err) === code;
}
