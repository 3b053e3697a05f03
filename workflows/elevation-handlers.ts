/**
 * The messages an elevation workflow answers, declared apart from its path (the shape of
 * Temporal's `safe-message-handlers` sample): the `status` Query, the approve, deny and revoke
 * Updates, and the reload of the decision keys. Each validator asks {@link ElevationState},
 * so a refused attempt is answered to the caller and never enters history; each handler hands
 * the accepted decision to the state and answers once the workflow has acted on it.
 */
import { condition, log, proxyLocalActivities, proxySinks, setHandler } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type { Actor } from '../core/model/elevation.js';
import type { ApproveInput, DecisionKind, DenyInput, SignedDecision } from '../core/model/decisions.js';
import type { ElevateSinks } from './definitions.js';
import type { AuditQueue } from './audit-queue.js';
import type { NotifyQueue } from './notify-queue.js';
import { refuse, type ElevationState } from './elevation-state.js';
import {
  approveUpdate,
  denyUpdate,
  extendUpdate,
  reloadDecisionKeysUpdate,
  revokeUpdate,
  statusQuery,
} from './definitions.js';
import { DecisionRefusal, decisionClaimsOf, type DecisionInputs } from '../core/rules/signed-decision.js';
import { Extensions } from './extend.js';

/**
 * Loads the public keys decisions must be signed with again. Local: it reads only the worker's
 * configuration.
 */
const { loadDecisionTrust } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** Refused decisions reach the audit trail through the worker (validators run no activities). */
const sinks = proxySinks<ElevateSinks>();

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

/** Declares the elevation's Query and Updates (before the workflow's first `await`). */
export function setElevationHandlers(
  state: ElevationState,
  audit: AuditQueue,
  notify: NotifyQueue,
  extensions?: Extensions,
): void {
  const elevationId = state.view.id;

  /**
   * A decision's input, from a token whose signature holds (validators: nothing else counts).
   * A refusal is recorded through the worker's audit sink and answered as `unsigned_decision`,
   * or `unknown_decision_key` when the API should have the keys reloaded and try again.
   */
  const verified = <K extends DecisionKind>(kind: K, arg: unknown): DecisionInputs[K] => {
    try {
      return state.verified(kind, arg);
    } catch (err) {
      if (!(err instanceof DecisionRefusal)) throw err;
      const claimed = claimedActor(kind, arg);
      sinks.audit.decisionRefused(elevationId, {
        decision: kind,
        code: err.code,
        message: err.message,
        kid: err.kid ?? null,
        claimed,
        at: new Date().toISOString(),
      });
      log.warn('Refused a decision whose signature does not hold', {
        elevationId,
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

  setHandler(statusQuery, () => state.view);

  setHandler(
    reloadDecisionKeysUpdate,
    async () => {
      state.reloadStarted();
      const trust = await loadDecisionTrust();
      state.useTrust(trust);
      return { kids: trust.keys.map((k) => k.kid) };
    },
    { validator: () => state.checkReload() },
  );

  setHandler(
    approveUpdate,
    async (arg) => {
      const input = state.accepted<'approve'>(arg);
      // An approval of a pending extension (it names one), not of the request (`extension-approval.ts`).
      if (extensions && Extensions.forExtension(input)) return extensions.approve(input);
      const { data, quorumMet } = state.approve(input);
      await audit.recordBeforeNextStep(
        audit.event('approval.accepted', { kind: 'human', id: data.approver }, data),
      );
      notify.publish('approval.accepted');
      // The approval that completes the quorum answers once the workflow has acted on it.
      if (quorumMet) await condition(() => state.view.status !== 'pending_approval');
      return state.snapshot();
    },
    {
      validator: (arg) => {
        const input = verified('approve', arg);
        if (extensions && Extensions.forExtension(input)) extensions.validateApproval(input);
        else state.validateApproval(input);
      },
    },
  );

  setHandler(
    denyUpdate,
    async (arg) => {
      const input = state.accepted<'deny'>(arg);
      if (extensions && Extensions.forExtension(input)) return extensions.denyExtension(input);
      state.deny(input);
      await condition(() => state.isFinal());
      return state.snapshot();
    },
    {
      validator: (arg) => {
        const input = verified('deny', arg);
        if (extensions && Extensions.forExtension(input)) extensions.checkDenial(input);
        else state.checkDenial(input);
      },
    },
  );

  setHandler(
    revokeUpdate,
    async (arg) => {
      state.requestRevoke(state.accepted<'revoke'>(arg));
      await condition(() => state.revokingOrEnded());
      return state.snapshot();
    },
    { validator: (arg) => state.checkRevoke(verified('revoke', arg)) },
  );

  if (extensions) {
    setHandler(extendUpdate, (arg) => extensions.extend(state.accepted<'extend'>(arg)), {
      validator: (arg) => extensions.check(verified('extend', arg)),
    });
  }
}
