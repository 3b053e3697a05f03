/**
 * Every audit event type, and an event as the workflow hands it over. Part of the pure core,
 * free of zod: the workflows import from here. What each type's `data` holds is in
 * `event-data.ts` (zod schemas), imported here as types only.
 */
import type { Actor, ElevationView } from './elevation.js';
import type { EventDataOf } from './event-data.js';

/** Every audit event type, in one place. */
export const EVENT_TYPES = [
  // recorded by the workflow
  'elevation.requested',
  'approval.accepted',
  'elevation.approved',
  'elevation.denied',
  'elevation.expired',
  'grant.failed',
  'grant.confirmed',
  'elevation.failed',
  'revoke.started',
  'revoke.failed',
  'elevation.revoked',
  // recorded by the server for attempts the workflow refused or never saw
  'approval.refused',
  'deny.refused',
  'revoke.refused',
  'request.refused',
  'auth.refused',
  // recorded by the server: how many refusals before authentication of one kind (type, reason,
  // route, source network, credential) a window saw beyond the first, which was recorded in full
  'refusals.summarized',
  // recorded by the worker: a decision update whose signature did not hold (sent around the
  // API, straight through Temporal), and a workflow started without the API's signature
  'decision.refused',
  'request.unverified',
  // recorded by reconciliation: a lease whose workflow ended without releasing it
  'lease.orphaned',
  // AWS credentials mode: the one delivery of a session's credentials to the bot, and refusals
  'credentials.delivered',
  'credentials.refused',
  // recorded by the server for an admin's export of the audit trail
  'audit.exported',
  // recorded by reconciliation (no elevation): a membership no elevation explains
  'drift.detected',
  'drift.reverted',
  // recorded by the server for an admin's change to a bot at runtime (no elevation)
  'bot.locked',
  'bot.unlocked',
  'bot.disabled',
  'bot.enabled',
  'bot.key_rotated',
  // recorded by the admin console: a sign-in, and what a signed-in admin did there
  'admin.signed_in',
  'admin.action',
  // recorded by continuous detection (no elevation): an anomaly across requests (a fleet's rate
  // spike, a dormant or orphaned bot...)
  'anomaly.detected',
  // recorded by periodic owner attestation (no elevation): the owner asked, their answer, an
  // unanswered attestation that suspended the bot, and refused attempts to answer
  'attestation.requested',
  'attestation.confirmed',
  'attestation.expired',
  'attestation.refused',
  // recorded by the workflow while a request waits for approval: the approvers who had not decided
  // were reminded, and the escalation groups joined after the policy's time without quorum
  'approval.reminded',
  'approval.escalated',
  // an active elevation's window extended (recorded by the workflow), and an extension refused
  'elevation.extended',
  'extend.refused',
  // an extension that waits for approvers (`approval: same-as-request`), and how it ended when it
  // did not move the window (denied, expired, failed); approvals are `approval.accepted` with
  // the extension's number, an approved one `elevation.extended`
  'extension.requested',
  'extension.closed',
  // break-glass (recorded with the elevation): the emergency path used, a reviewer's MFA answer,
  // a review missed by its deadline (the bot locked down), and refused attempts to review
  'breakglass.activated',
  'breakglass.reviewed',
  'breakglass.review_missed',
  'breakglass.refused',
  // a role bundle (recorded by the workflow): every role of the bundle granted and read back,
  // all or nothing (each role's own `grant.confirmed` is recorded before it)
  'bundle.granted',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * An event of type `T` as the workflow hands it over, its `data` typed by `T` (for a union of
 * types, one member per type); the elevation view is the state after it (absent for a refused
 * start, which must not create or change an elevation's summary).
 */
export type WorkflowEventOf<T extends EventType> = T extends EventType
  ? {
      id: string;
      type: T;
      at: string;
      actor: Actor;
      data: EventDataOf<T>;
      elevation?: ElevationView;
    }
  : never;

/** An event as the workflow hands it over, of any type: narrow on `type` for its data. */
export type WorkflowEvent = WorkflowEventOf<EventType>;
