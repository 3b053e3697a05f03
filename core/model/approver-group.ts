/** Approver groups: who may approve a role, and how many of them must. Pure types. */
import type { OnCallSource } from './oncall.js';
/**
 * One group of people who may approve a role. A role can require several groups, each with its
 * own quorum, and all of them must be met (see {@link quorumProgress}).
 */
export interface ApproverGroup {
  /** Shown to approvers and recorded with each approval, e.g. `security`. */
  name: string;
  /** Distinct approvals this group must contribute. */
  quorum: number;
  /** E-mail addresses listed in the policy (compared case-insensitively). */
  members?: string[];
  /** DN of an LDAP group; its members, matched by their `mail`, may approve (looked up at approval time). */
  ldapGroupDn?: string;
  /** Whoever is on call in this schedule may approve (looked up at approval time; `oncall.ts`). */
  oncall?: OnCallSource;
}
