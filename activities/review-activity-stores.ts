/**
 * What the activities of a workflow that asks a person to review something on a page (owner
 * attestation, break-glass review) are built from on a worker: the same stores, client and
 * notifier, differing only in the stores and policy they read.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Policy } from '../config/policy.js';
import type { TypedAuditAppender } from '../core/model/audit-record.js';
import type { ApprovalNotifier } from '../core/ports/notifier.js';
import type { Stores } from '../store/stores.js';

/** A worker's stores (`S`), policy (`P`) and client, for the review activities. */
export interface ReviewActivityStores<S extends keyof Stores, P extends keyof Policy> {
  stores: Pick<Stores, S>;
  policy: Pick<Policy, P>;
  notifier: ApprovalNotifier;
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  /** Base URL reviewers' browsers reach the API at (the review pages are under `/approvals/`). */
  publicUrl: string;
  /** Where appends go (defaults to the stores' audit log). */
  store?: TypedAuditAppender;
  logger: Logger;
}
