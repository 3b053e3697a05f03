/**
 * The human decisions an elevation accepts (approve, deny, revoke), how they arrive signed, and
 * every reason one is refused. Part of the pure core.
 */
import type { Actor, ApproverIdentity, DecisionTrust } from './elevation.js';

export type { ExtendInput } from './extend.js';

/**
 * What an approver submits. `groups` are the approver groups the server found this person in
 * (policy lists and LDAP groups, looked up at approval time); `evidence` is how they proved
 * who they are (the MFA login's issuer, subject, amr, acr, auth_time and ID-token hash).
 */
export interface ApproveInput {
  approver: { id: string; displayName?: string };
  groups: string[];
  evidence?: Record<string, unknown>;
  /** Who the approver is beyond their address; absent in approvals sent before it existed. */
  identity?: ApproverIdentity;
  comment?: string;
  /** The number of the pending extension this approves; absent: the request itself. */
  extension?: number;
}

/** A denial, by a human approver (with the approver groups they are in) or an admin. */
export interface DenyInput {
  by: Actor;
  reason: string;
  groups?: string[];
  /** The number of the pending extension this denies; absent: the request itself. */
  extension?: number;
}

/** A request to end an elevation early: the bot gives it back, or an admin revokes it. */
export interface RevokeInput {
  by: Actor;
  reason?: string;
}

/** The decisions an elevation workflow accepts, each as an Update (`extend`: a bot's or an admin's). */
export type DecisionKind = 'approve' | 'deny' | 'revoke' | 'extend';

/**
 * A decision as the API sends it: a compact JWS (Ed25519) whose payload carries the decision's
 * input (an {@link ApproveInput}, {@link DenyInput} or {@link RevokeInput}), the elevation id,
 * when it was made and a nonce (see `core/rules/signed-decision.ts`). Nothing outside the token
 * is read.
 */
export interface SignedDecision {
  token: string;
}

/** What the worker found when it checked the signature over a workflow's start input. */
export interface RequestCheck {
  /** `verified`, or why the request is refused. */
  outcome: 'verified' | RequestRefusalCode;
  message: string;
  /** The key id the signature named, when there was one. */
  kid?: string;
  trust: DecisionTrust;
}

/** Why the worker refused to act on a workflow's start input. */
export type RequestRefusalCode =
  | 'unsigned' // no signature: not started by Elevate's API
  | 'bad_signature' // the signature does not verify, or covers a different input
  | 'unknown_key' // signed with a key the workers do not trust
  | 'wrong_workflow' // the input is for another workflow id
  | 'stale' // signed too long before the workflow started
  | 'replayed'; // the elevation already exists: a copy of an earlier request

/** Why a decision token was refused (recorded as `decision.refused`). */
export type DecisionRefusalCode =
  | 'unsigned' // no token
  | 'malformed' // not a compact JWS with the expected payload
  | 'bad_signature' // the signature does not verify
  | 'unknown_key' // signed with a key this elevation does not trust (yet)
  | 'wrong_elevation' // made for another elevation
  | 'wrong_decision' // a token for another kind of decision
  | 'stale' // too old, or dated in the future
  | 'replayed'; // its nonce was used before

/** What is recorded about a decision refused by the validator. */
export interface DecisionRefusalRecord {
  decision: DecisionKind;
  code: DecisionRefusalCode;
  message: string;
  /** The key id the token named, if any. */
  kid: string | null;
  /** Who the (unverified) update claimed to act for, when it said. */
  claimed: Actor | null;
  /** When the validator refused it (ISO 8601). */
  at: string;
}

/** Why the workflow refused an approve, deny or revoke update. */
export type RefusalCode =
  | 'not_pending' // the elevation is no longer waiting for a decision
  | 'already_ended' // the elevation has ended (denied, expired, failed, revoked)
  | 'approval_window_closed' // the approval window has passed
  | 'not_eligible' // the person is not an approver for this role
  | 'owner_may_not_approve' // the bot's owner may not approve its requests for this role
  | 'already_approved' // this approver has already approved (each counts once)
  | 'not_needed' // every group this approver belongs to already has its quorum
  | 'invalid_input' // the update's payload is malformed
  | 'unsigned_decision' // not signed by Elevate's API (details[1] is the DecisionRefusalCode)
  | 'unknown_decision_key' // signed with a key the elevation does not trust yet: reload and retry
  // extend (`core/rules/extend.ts`)
  | 'not_active' // the elevation is not active (not granted yet, or ending)
  | 'extension_not_allowed' // the role's policy does not allow extensions (or the run predates them)
  | 'extension_too_long' // the total lifetime would pass the role's `extend.maxTotalSeconds`
  | 'too_many_extensions' // the role's `extend.maxExtensions` is reached
  | 'extension_in_progress' // another extension of this elevation is being made or awaits approvers
  | 'extension_not_pending'; // the extension an approval or denial names is not waiting for approvers
