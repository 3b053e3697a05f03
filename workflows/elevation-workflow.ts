/**
 * One elevation, from request to revocation, as a Temporal workflow (id `elevation-<id>`).
 *
 *   requested → [pending_approval → approved] → active → revoking → revoked
 *                        ↘ denied | expired            ↘ failed (grant impossible)
 *
 * Deterministic: all I/O is in activities. Approvals, denials and revocations arrive as
 * Updates whose validators refuse bad attempts before they enter history. Revocation runs in
 * a non-cancellable scope and is retried until the target confirms it, however long it takes.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type { EventType, WorkflowEvent, WorkflowEventOf } from '../core/model/events.js';
import type { EventDataOf } from '../core/model/event-data.js';
import type {
  Actor,
  DecisionTrust,
  ElevationInput,
  ElevationView,
  EndReason,
  GrantReceipt,
  RevokeReceipt,
  SlackMessageRef,
} from '../core/model/elevation.js';
import type {
  ApproveInput,
  DecisionKind,
  DenyInput,
  RefusalCode,
  RevokeInput,
  SignedDecision,
} from '../core/model/decisions.js';
import type { ElevateSinks } from './definitions.js';
import { NON_RETRYABLE_GRANT_ERRORS } from '../core/errors/activity-error-types.js';
import {
  REFUSAL_FAILURE_TYPE,
  approveUpdate,
  denyUpdate,
  reloadDecisionKeysUpdate,
  revokeUpdate,
  statusQuery,
} from './definitions.js';
import { quorumProgress } from '../core/rules/approval-quorum.js';
import { approvalRefusal, isIdentity, sameApprover } from '../core/rules/approval-eligibility.js';
import { initialView, isFinal } from '../core/rules/elevation-view.js';
import { canonicalAddress } from '../core/rules/email-address.js';
import {
  DecisionRefusal,
  decisionClaimsOf,
  verifyDecision,
  type DecisionInputs,
} from '../core/rules/signed-decision.js';

const SYSTEM: Actor = { kind: 'system', id: 'elevate' };

/**
 * Recording events is a short, idempotent write to the audit store. Where the next step waits
 * for it anyway (nothing is granted before the request is on record), it runs as a local
 * activity: inside the workflow task, with no round trip through the Temporal server. Events
 * must never be lost, so both forms retry without limit.
 */
const recordGating = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
}).recordEvents;

/**
 * The worker's side of trust: check the API's signature over the start input (and hand over
 * the public keys that decisions must be signed with), or load those keys again. Local: they
 * read only the worker's configuration (and, for a copied request, the audit store).
 */
const { checkRequest, loadDecisionTrust } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** Refused decisions reach the audit trail through the worker (validators run no activities). */
const { audit } = proxySinks<ElevateSinks>();

/** Shortest pause between two reloads of the decision keys (they are asked for, not pushed). */
const RELOAD_INTERVAL_MS = 10_000;

/**
 * Where nothing may wait for the audit store (the expiry timer, a revocation), the write is an
 * ordinary activity: a running local activity would hold the workflow task open and delay the
 * timer or the revocation until the store answers.
 */
const recordBehind = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
}).recordEvents;

/**
 * Slack messages (or, without Slack, log lines). Never on the critical path: nothing waits for
 * them but the workflow's own end. One call may itself wait out Slack's rate limits, so the
 * timeouts are generous; a message is retried for an hour before it is given up (and logged).
 */
const { publishElevationEvent } = proxyActivities<Activities>({
  startToCloseTimeout: '150s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s' },
});

/**
 * One revocation round: a few quick tries, then the workflow records the failure and waits
 * before the next round. No error type is non-retryable here: a revocation is never abandoned.
 */
const { releaseGrant } = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '300ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 3 },
});

function refuse(code: RefusalCode, message: string, detail?: string): never {
  throw ApplicationFailure.create({
    type: REFUSAL_FAILURE_TYPE,
    message,
    details: detail === undefined ? [code] : [code, detail],
    nonRetryable: true,
  });
}

/** Who an update claims to act for, read without trusting it (for the record of a refusal). */
function claimedActor(kind: DecisionKind, arg: unknown): Actor | null {
  const pick = (v: unknown): Actor | null => {
    const a = v as Partial<Actor> | undefined;
    return typeof a?.id === 'string' && typeof a.kind === 'string'
      ? { kind: a.kind, id: a.id.slice(0, 320) }
      : null;
  };
  let input: unknown = arg;
  const token = (arg as Partial<SignedDecision> | undefined)?.token;
  if (typeof token === 'string') {
    try {
      input = decisionClaimsOf(token).input;
    } catch {
      return null;
    }
  }
  if (kind === 'approve') {
    const id = (input as Partial<ApproveInput> | undefined)?.approver?.id;
    return typeof id === 'string' ? { kind: 'human', id: id.slice(0, 320) } : null;
  }
  return pick((input as Partial<DenyInput> | undefined)?.by);
}

function errorSummary(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}

/** The elevation workflow. Returns the final view. */
export async function elevationWorkflow(input: ElevationInput): Promise<ElevationView> {
  const rule = input.role.approval;
  const view: ElevationView = input.carried?.view ?? initialView(input, Date.now());
  let revokeRequest: { by: Actor; comment?: string; reason: EndReason } | undefined;
  let messages: SlackMessageRef[] = input.carried?.messages ?? [];
  let denial: DenyInput | undefined;
  /** The public keys decisions must be signed with (absent in runs started before signing). */
  let trust: DecisionTrust | undefined = input.carried?.trust;
  /** Nonces of the decisions accepted so far: each signed decision counts once. */
  const usedNonces = new Set<string>();
  let lastReload = Number.NEGATIVE_INFINITY;
  const grantRequest = {
    elevationId: input.elevationId,
    target: input.role.target,
    principal: input.bot.principal,
    durationSeconds: input.durationSeconds,
  };
  const { acquireGrant } = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: `${input.timing.grantTimeoutSeconds}s`,
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumInterval: '10s',
      nonRetryableErrorTypes: NON_RETRYABLE_GRANT_ERRORS,
    },
  });

  // Read through a function: handlers assign it, which control-flow narrowing cannot see.
  const requestedRevoke = () => revokeRequest;
  const snapshot = (): ElevationView => JSON.parse(JSON.stringify(view)) as ElevationView;
  // `data` is checked against its type's schema at compile time (`core/model/event-data.ts`).
  const event = <T extends EventType>(type: T, actor: Actor, data: EventDataOf<T>): WorkflowEventOf<T> =>
    // A type of T and data of the same T make one member of the union: TypeScript cannot see it.
    ({
      id: uuid4(),
      type,
      at: new Date().toISOString(),
      actor,
      data,
      elevation: snapshot(),
    }) as WorkflowEventOf<T>;
  /**
   * The audit queue: events are stored strictly in the order they were queued. `write` is for
   * steps that wait for the record; `writeBehind` for those that must not (the expiry clock
   * and revocations), so an audit-store outage cannot stretch a grant past its window.
   */
  let stored: Promise<void> = Promise.resolve();
  const write = (...events: WorkflowEvent[]): Promise<void> => {
    stored = stored.then(() => recordGating(input.elevationId, events));
    return stored;
  };
  const writeBehind = (...events: WorkflowEvent[]): void => {
    stored = stored.then(() => recordBehind(input.elevationId, events));
  };
  /**
   * The Slack queue, like the audit queue but never awaited on the way: each step updates the
   * approval message (and its thread) in order, after the request was announced.
   */
  let published: Promise<void> = Promise.resolve();
  const details = () => ({ elevation: snapshot(), bot: input.bot, role: input.role });
  const announce = (): void => {
    if (rule.mode !== 'approvers') return;
    const { announceApproval } = proxyActivities<Activities>({
      startToCloseTimeout: '150s',
      // Retried while anyone could still approve: an approval prompt is never dropped silently.
      scheduleToCloseTimeout: `${Math.max(rule.windowSeconds, 60)}s`,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s' },
    });
    const d = details();
    published = published
      .then(() => announceApproval(d))
      .then((refs) => {
        messages = refs;
      })
      .catch((err: unknown) => {
        log.error('Could not announce the approval request', {
          elevationId: input.elevationId,
          error: errorSummary(err),
        });
      });
  };
  const publish = (type: EventType, notifyOwner = false): void => {
    if (rule.mode !== 'approvers') return;
    const d = details();
    published = published
      .then(() => publishElevationEvent({ ...d, messages, event: type, notifyOwner }))
      .catch((err: unknown) => {
        log.warn('Could not publish an elevation event to Slack', {
          elevationId: input.elevationId,
          event: type,
          error: errorSummary(err),
        });
      });
  };
  const end = (status: ElevationView['status'], reason: EndReason): void => {
    view.status = status;
    view.endReason = reason;
    view.endedAt = new Date().toISOString();
  };

  // ---- messages ---------------------------------------------------------------------------

  setHandler(statusQuery, () => view);

  /**
   * A decision's input, from a token whose signature holds (validators: nothing else counts).
   * A refusal is recorded through the worker's audit sink and answered as `unsigned_decision`,
   * or `unknown_decision_key` when the API should have the keys reloaded and try again.
   */
  const verified = <K extends DecisionKind>(kind: K, arg: unknown): DecisionInputs[K] => {
    try {
      return verifyDecision(arg as SignedDecision | undefined, {
        keys: trust?.keys ?? [],
        elevationId: input.elevationId,
        decision: kind,
        now: Date.now(),
        used: usedNonces,
      }).input;
    } catch (err) {
      if (!(err instanceof DecisionRefusal)) throw err;
      const claimed = claimedActor(kind, arg);
      audit.decisionRefused(input.elevationId, {
        decision: kind,
        code: err.code,
        message: err.message,
        kid: err.kid ?? null,
        claimed,
        at: new Date().toISOString(),
      });
      log.warn('Refused a decision whose signature does not hold', {
        elevationId: input.elevationId,
        decision: kind,
        code: err.code,
        claimed,
      });
      return refuse(
        err.code === 'unknown_key' ? 'unknown_decision_key' : 'unsigned_decision',
        err.message,
        err.code,
      );
    }
  };

  /**
   * A decision's input in its handler, which runs only after the validator accepted it (or on
   * replay, where validators do not run). Its nonce is spent here. Histories recorded before
   * decisions were signed carry the bare input, which is what the code of that time read.
   */
  const accepted = <K extends DecisionKind>(arg: unknown): DecisionInputs[K] => {
    const token = (arg as Partial<SignedDecision> | undefined)?.token;
    if (typeof token !== 'string') return arg as DecisionInputs[K];
    const claims = decisionClaimsOf<K>(token);
    usedNonces.add(claims.nonce);
    return claims.input;
  };

  setHandler(
    reloadDecisionKeysUpdate,
    async () => {
      lastReload = Date.now();
      trust = await loadDecisionTrust();
      return { kids: trust.keys.map((k) => k.kid) };
    },
    {
      validator: () => {
        if (Date.now() - lastReload < RELOAD_INTERVAL_MS) {
          refuse('invalid_input', 'the decision keys were reloaded less than 10 seconds ago');
        }
      },
    },
  );

  /**
   * The groups among `claimed` that `who` may act for. The server looks membership up (policy
   * lists and LDAP groups); a policy list is checked again here against the role as it was
   * when the bot asked, so a list can never be widened after the request.
   */
  const eligibleGroups = (who: string, claimed: unknown): string[] => {
    if (rule.mode !== 'approvers' || !Array.isArray(claimed)) return [];
    return rule.groups
      .filter((g) => claimed.includes(g.name))
      .filter((g) => g.ldapGroupDn !== undefined || (g.members ?? []).some((m) => sameApprover(m, who)))
      .map((g) => g.name);
  };

  /** Throws a refusal when this approval must not count. Pure: also the update's validator. */
  const checkApproval = (a: ApproveInput): void => {
    if (typeof a?.approver?.id !== 'string' || a.approver.id.trim() === '' || a.approver.id.length > 320) {
      refuse('invalid_input', 'approver.id must be a non-empty string');
    }
    const who = a.approver.id;
    const ownerMayApprove = rule.mode === 'approvers' && rule.ownerMayApprove;
    // `identity` is checked only when the approval carries one, so approvals recorded before
    // it existed replay exactly as they were decided.
    const identity = isIdentity(a.identity) ? a.identity : undefined;
    const problem = approvalRefusal(
      view,
      who,
      eligibleGroups(who, a.groups),
      ownerMayApprove,
      Date.now(),
      identity,
    );
    if (problem) refuse(problem.code, problem.message);
  };

  /** The validator's stricter checks on new approvals (validators do not run on replay). */
  const validateApproval = (a: ApproveInput): void => {
    const address = canonicalAddress(a?.approver?.id);
    if (!address.ok) refuse('invalid_input', `approver.id: ${address.message}`);
    if (a.identity !== undefined && !isIdentity(a.identity))
      refuse('invalid_input', 'identity must hold entries (strings) and optionally issuer and subject');
    checkApproval(a);
  };

  setHandler(
    approveUpdate,
    async (arg) => {
      const a = accepted<'approve'>(arg);
      // Checked again: a timer or another update may have been handled since validation.
      checkApproval(a);
      const approver = a.approver.id.trim().toLowerCase();
      const groups = eligibleGroups(approver, a.groups);
      view.approvals.push({
        approver,
        at: new Date().toISOString(),
        groups,
        ...(a.evidence ? { evidence: a.evidence } : {}),
        ...(isIdentity(a.identity) ? { identity: a.identity } : {}),
      });
      const progress = rule.mode === 'approvers' ? quorumProgress(rule.groups, view.approvals) : undefined;
      if (progress && view.approval.mode === 'approvers') view.approval.groups = progress.groups;
      await write(
        event(
          'approval.accepted',
          { kind: 'human', id: approver },
          {
            approver,
            groups,
            evidence: a.evidence ?? null,
            ...(isIdentity(a.identity) ? { identity: a.identity } : {}),
            comment: a.comment ?? null,
            count: view.approvals.length,
            progress: progress?.groups ?? [],
          },
        ),
      );
      publish('approval.accepted');
      if (progress?.met) await condition(() => view.status !== 'pending_approval');
      return snapshot();
    },
    { validator: (arg) => validateApproval(verified('approve', arg)) },
  );

  const checkDenial = (d: DenyInput): void => {
    if (typeof d?.reason !== 'string' || d.reason.trim() === '')
      refuse('invalid_input', 'reason is required');
    if (isFinal(view)) refuse('already_ended', `the elevation has ended (${view.status})`);
    if (view.status !== 'pending_approval') refuse('not_pending', `the elevation is ${view.status}`);
    if (d.by?.kind === 'human') {
      const eligible = eligibleGroups(d.by.id, d.groups).length > 0 || sameApprover(d.by.id, input.bot.owner);
      if (!eligible) refuse('not_eligible', `${d.by.id} is not an approver for role ${input.role.id}`);
    } else if (d?.by?.kind !== 'admin') {
      refuse('invalid_input', 'only approvers and admins may deny');
    }
  };

  setHandler(
    denyUpdate,
    async (arg) => {
      const d = accepted<'deny'>(arg);
      checkDenial(d);
      denial ??= d;
      await condition(() => isFinal(view));
      return snapshot();
    },
    { validator: (arg) => checkDenial(verified('deny', arg)) },
  );

  const checkRevoke = (r: RevokeInput): void => {
    if (r?.by?.kind !== 'bot' && r?.by?.kind !== 'admin')
      refuse('invalid_input', 'only the bot or an admin may revoke');
    if (isFinal(view) && view.status !== 'revoked')
      refuse('already_ended', `the elevation has ended (${view.status})`);
  };

  setHandler(
    revokeUpdate,
    async (arg) => {
      const r = accepted<'revoke'>(arg);
      checkRevoke(r);
      // A revocation already under way (expiry, an earlier request) is not started twice.
      if (!revokeRequest && view.status !== 'revoking' && !isFinal(view)) {
        revokeRequest = {
          by: r.by,
          reason: r.by.kind === 'bot' ? 'given_back' : 'admin_revoked',
          ...(r.reason !== undefined ? { comment: r.reason } : {}),
        };
      }
      await condition(() => view.status === 'revoking' || isFinal(view));
      return snapshot();
    },
    { validator: (arg) => checkRevoke(verified('revoke', arg)) },
  );

  // ---- revocation, never abandoned ----------------------------------------------------------

  const revoke = (reason: EndReason): Promise<void> =>
    CancellationScope.nonCancellable(async () => {
      const carried = input.carried;
      const startedAt = carried?.revokeStartedAt ?? new Date().toISOString();
      view.status = 'revoking';
      view.endReason = reason;
      if (!carried) {
        // Recorded beside the first attempt, not before it: the revocation does not wait.
        writeBehind(
          event('revoke.started', revokeRequest?.by ?? SYSTEM, {
            reason,
            comment: revokeRequest?.comment ?? null,
            requestedBy: revokeRequest?.by ?? null,
          }),
        );
      }
      let attempts = carried?.revokeAttempts ?? 0;
      let receipt: RevokeReceipt;
      for (;;) {
        try {
          receipt = await releaseGrant(grantRequest);
          break;
        } catch (err) {
          attempts += 1;
          const error = errorSummary(err);
          view.revokeAttempts = attempts;
          view.lastError = `${error.type}: ${error.message}`;
          log.error('Revocation failed; it will be retried until the target confirms it', {
            elevationId: input.elevationId,
            attempt: attempts,
            error: view.lastError,
          });
          writeBehind(event('revoke.failed', SYSTEM, { attempt: attempts, error }));
          if (workflowInfo().continueAsNewSuggested) {
            await stored;
            // An update being handled must finish in this run: continue-as-new would drop it.
            // (While revoking every handler answers at once; this keeps it so after an edit.)
            await condition(allHandlersFinished);
            await continueAsNew<typeof elevationWorkflow>({
              ...input,
              carried: {
                view: snapshot(),
                revokeReason: reason,
                revokeStartedAt: startedAt,
                revokeAttempts: attempts,
                messages,
                ...(trust ? { trust } : {}),
              },
            });
          }
          await sleep(
            Math.min(2 ** Math.min(attempts - 1, 16) * 1000, input.timing.revokeRetryMaxSeconds * 1000),
          );
        }
      }
      end(reason === 'grant_failed' ? 'failed' : 'revoked', reason);
      const type = reason === 'grant_failed' ? 'elevation.failed' : 'elevation.revoked';
      await write(event(type, SYSTEM, { reason, startedAt, receipt, revokeAttempts: attempts }));
      publish(type, true);
    });

  // ---- the path -----------------------------------------------------------------------------

  if (input.carried) {
    await revoke(input.carried.revokeReason);
    await condition(allHandlersFinished);
    await published;
    return view;
  }

  // Only a request the API signed is acted on: one started straight through Temporal is
  // recorded and refused before anything is announced or granted. (Runs started before
  // requests were signed replay without this step.)
  if (patched('signed-requests')) {
    const check = await checkRequest(input, workflowInfo().startTime.getTime());
    trust = check.trust;
    if (check.outcome !== 'verified') {
      view.lastError = `request not signed by Elevate's API: ${check.message}`;
      end('failed', 'request_unverified');
      // Recorded without the elevation's view: a forged start must not create an elevation in
      // the list, nor overwrite the summary of the genuine one whose id it copied.
      const { elevation: _unverifiedView, ...refused } = event(
        'request.unverified',
        { kind: 'anonymous', id: 'temporal' },
        {
          code: check.outcome,
          message: check.message,
          kid: check.kid ?? null,
          claimed: { bot: input.bot.id, role: input.role.id, durationSeconds: input.durationSeconds },
        },
      );
      await write(refused);
      return view;
    }
  }

  const requested = event(
    'elevation.requested',
    { kind: 'bot', id: input.bot.id },
    {
      bot: input.bot,
      role: input.role,
      durationSeconds: input.durationSeconds,
      justification: input.justification,
      ticket: input.ticket ?? null,
      requestId: input.requestId ?? null,
      ...(input.identity ? { identity: input.identity } : {}),
    },
  );

  if (input.durationSeconds < 1 || input.durationSeconds > input.role.maxDurationSeconds) {
    // The server refuses these; the workflow does not trust its input blindly either.
    view.lastError = `durationSeconds ${input.durationSeconds} is outside 1..${input.role.maxDurationSeconds}`;
    end('failed', 'grant_failed');
    await write(requested, event('elevation.failed', SYSTEM, { error: view.lastError }));
    return view;
  }

  if (rule.mode === 'auto') {
    await write(requested, event('elevation.approved', SYSTEM, { rule: 'auto' }));
  } else {
    await write(requested);
    announce();
    const deadline = view.approval.mode === 'approvers' ? Date.parse(view.approval.deadline) : Date.now();
    const decided = await condition(
      () =>
        quorumProgress(rule.groups, view.approvals).met ||
        denial !== undefined ||
        revokeRequest !== undefined,
      Math.max(deadline - Date.now(), 1),
    );
    if (denial) {
      end('denied', 'denied');
      await write(event('elevation.denied', denial.by, { reason: denial.reason }));
      publish('elevation.denied', true);
    } else if (revokeRequest) {
      end('revoked', revokeRequest.by.kind === 'bot' ? 'withdrawn' : 'admin_revoked');
      await write(
        event('elevation.revoked', revokeRequest.by, {
          // Set by `end` just above.
          reason: view.endReason!,
          comment: revokeRequest.comment ?? null,
          granted: false,
        }),
      );
      publish('elevation.revoked', true);
    } else if (!decided) {
      end('expired', 'approval_timeout');
      await write(
        event('elevation.expired', SYSTEM, {
          approvals: view.approvals.length,
          progress: view.approval.mode === 'approvers' ? view.approval.groups : [],
        }),
      );
      publish('elevation.expired', true);
    } else {
      view.status = 'approved';
      await write(event('elevation.approved', SYSTEM, { approvers: view.approvals.map((a) => a.approver) }));
      publish('elevation.approved', true);
    }
    if (isFinal(view)) {
      await condition(allHandlersFinished);
      await published;
      return view;
    }
  }

  // approved: grant, unless a revocation arrives first (then the grant is cancelled and fenced).
  let reason: EndReason;
  if (revokeRequest) {
    reason = revokeRequest.reason;
  } else {
    const granting = new CancellationScope();
    const grant = granting.run(() => acquireGrant(grantRequest));
    void condition(() => revokeRequest !== undefined).then(() => granting.cancel());
    let receipt: GrantReceipt | undefined;
    try {
      receipt = await grant;
    } catch (err) {
      if (!isCancellation(err)) {
        const error = errorSummary(err);
        view.lastError = `${error.type}: ${error.message}`;
        writeBehind(event('grant.failed', SYSTEM, { error }));
        publish('grant.failed');
      }
    }
    if (receipt) {
      const now = Date.now();
      view.status = 'active';
      view.grantedAt = new Date(now).toISOString();
      view.expiresAt = new Date(now + input.durationSeconds * 1000).toISOString();
      // Not awaited: the expiry clock runs from the confirmed grant whether or not the audit
      // store is answering right now (the event is stored in order once it is).
      writeBehind(event('grant.confirmed', SYSTEM, { receipt }));
      publish('grant.confirmed');
      // The expiry clock starts once the grant is confirmed, not at request time.
      await condition(
        () => revokeRequest !== undefined,
        Math.max(Date.parse(view.expiresAt) - Date.now(), 1),
      );
      reason = requestedRevoke()?.reason ?? 'expired';
    } else {
      reason = requestedRevoke()?.reason ?? 'grant_failed';
    }
  }
  await revoke(reason);
  await condition(allHandlersFinished);
  await published;
  return view;
}
