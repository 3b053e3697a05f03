/**
 * What approvers do (the Slack app and the MFA approval pages call these): which approver groups
 * a person is in, whether they could approve an elevation now (asked before the MFA login), and
 * the approval or denial itself, sent signed to the workflow, which decides again. Every refusal
 * is audited.
 */
import type { Logger } from 'pino';
import type { ApproverGroup } from '../../core/model/elevation.js';
import type { Policy, RolePolicy } from '../../config/policy.js';
import { riskRoutingFor } from '../../config/risk-policy.js';
import type { Actor, ApproverIdentity, ElevationView } from '../../core/model/elevation.js';
import type { ApproveInput, DenyInput } from '../../core/model/decisions.js';
import type { ErrorCode } from '../../core/errors/error-codes.js';
import {
  AmbiguousIdentityError,
  type ApproverDirectory,
  type ApproverLogin,
  type DirectoryPerson,
} from '../../core/ports/approver-directory.js';
import { approvalRefusal, sameApprover } from '../../core/rules/approval-eligibility.js';
import { extensionApprovalRefusal } from '../../core/rules/extension-approval.js';
import type { AuditService } from '../audit/audit-service.js';
import { AuditedRefusal, RefusalError, unavailable } from '../errors.js';
import {
  REFUSAL_TO_API,
  isGone,
  type DecisionRefusalExtra,
  type DecisionSender,
} from '../elevations/decision-sender.js';
import type { ElevationReader } from '../elevations/elevation-reader.js';
import type { ElevationIndex } from '../../store/elevation-index.js';
import type { OnCallDirectory } from '../../core/ports/oncall-directory.js';
import { onCallDirectory } from '../../integrations/oncall/oncall-directory.js';

/** At most this many requests waiting for approval are read for one approver queue. */
export const QUEUE_LIMIT = 200;

/**
 * One request in an approver's queue, or one extension (`extension`, its number) of an active
 * elevation: the groups they were found in, and why not now, if so.
 */
export interface QueueItem {
  elevation: ElevationView;
  groups: string[];
  extension?: number;
  /** Why the person may not approve it right now (absent: they may). */
  refusal?: string;
}

export interface ApprovalServiceDeps {
  policy: Pick<Policy, 'roles' | 'detection'>;
  reader: Pick<ElevationReader, 'find'>;
  decisions: Pick<DecisionSender, 'decide' | 'refusalOrUnavailable'>;
  refusals: Pick<AuditService, 'recordRefusal'>;
  /** Needed when a role names an LDAP approver group. */
  directory?: Pick<ApproverDirectory, 'memberEntry'>;
  /** Who is on call for on-call approver groups (default: policy rotations only). */
  oncall?: OnCallDirectory;
  /** The requests waiting for approval, for approvers' queues (absent: every queue is empty). */
  pending?: Pick<ElevationIndex, 'listElevations'>;
  logger: Pick<Logger, 'error'>;
  clock?: () => Date;
}

/** Without a configured directory: rotations in the policy only (a provider's schedule is unavailable). */
const ROTATIONS_ONLY = onCallDirectory();

export class ApprovalService {
  private readonly roles: Map<string, RolePolicy>;
  private readonly clock: () => Date;

  constructor(private readonly deps: ApprovalServiceDeps) {
    this.roles = new Map(deps.policy.roles.map((r) => [r.id, r]));
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * The approver groups of the elevation's role that `email` belongs to: policy lists, and
   * LDAP groups looked up now.
   */
  async approverGroups(roleId: string, email: string): Promise<string[]> {
    return (await this.approverMatch(roleId, { email })).groups;
  }

  /**
   * Whether `email` could approve elevation `id` now (with `extension`: its pending extension of
   * that number, `extension-approval.ts`): asked before an approver is sent to log in, so nobody
   * does an MFA login for nothing. The workflow decides again when the approval arrives. A
   * refusal is audited and thrown as {@link RefusalError}.
   */
  async checkApprover(
    id: string,
    email: string,
    login?: ApproverLogin,
    extension?: number,
  ): Promise<{ elevation: ElevationView; groups: string[] }> {
    const by: Actor = { kind: 'human', id: email };
    const elevation = await this.deps.reader.find(id);
    const refuse = async (code: ErrorCode, reason: string, message: string): Promise<never> => {
      const receipt = await this.deps.refusals.recordRefusal('approval.refused', elevation ? id : null, by, {
        code: reason,
        message,
        stage: 'precheck',
        ...(extension !== undefined ? { extension } : {}),
      });
      throw new RefusalError(receipt, code, reason, message);
    };
    if (!elevation) return refuse('not_found', 'not_found', `elevation ${id} not found`);
    // The LDAP lookup is only worth it while the elevation waits for approvers: the request, or
    // (with `extension`) the extension of that number.
    const waiting =
      extension === undefined
        ? elevation.status === 'pending_approval'
        : elevation.status === 'active' && elevation.pendingExtension?.number === extension;
    const { groups, entries } = waiting
      ? await this.approverMatch(elevation.roleId, personOf(email, login)).catch((err: unknown) => {
          if (err instanceof AmbiguousIdentityError)
            return refuse('approval_refused', 'ambiguous_identity', err.message);
          throw err;
        })
      : { groups: [], entries: [] };
    const role = this.roles.get(elevation.roleId);
    const ownerMayApprove = role?.approval.mode === 'approvers' && role.approval.ownerMayApprove;
    const identity = login ? identityOf(entries, login) : undefined;
    const now = this.clock().getTime();
    const problem =
      extension === undefined
        ? approvalRefusal(elevation, email, groups, ownerMayApprove, now, identity)
        : extensionApprovalRefusal(elevation, extension, email, groups, ownerMayApprove, now, identity);
    if (problem) return refuse(REFUSAL_TO_API[problem.code], problem.code, problem.message);
    return { elevation, groups };
  }

  /**
   * The approver queue of a person who has just logged in: every request waiting for approval
   * of a role they are an approver of (its own groups, its escalation groups, or the risk
   * score's), oldest first, then every active elevation's extension waiting for them (`extension`
   * set), each with why they may not approve it now if so (already approved, the escalation not
   * yet due, the bot's owner...). Nothing is audited: nothing was asked.
   */
  async queue(email: string, login?: ApproverLogin): Promise<QueueItem[]> {
    if (!this.deps.pending) return [];
    const requests = await this.deps.pending.listElevations({
      status: ['pending_approval'],
      limit: QUEUE_LIMIT,
    });
    // Extensions wait on active elevations, which the index cannot tell apart by that: read
    // them and keep those with one waiting.
    const active = await this.deps.pending.listElevations({ status: ['active'], limit: QUEUE_LIMIT });
    const matches = new Map<string, Promise<{ groups: string[]; entries: string[] }>>();
    const items: QueueItem[] = [];
    const waiting = [
      ...[...requests.items].reverse().map((elevation) => ({ elevation, extension: undefined })),
      ...[...active.items]
        .reverse()
        .flatMap((elevation) =>
          elevation.pendingExtension ? [{ elevation, extension: elevation.pendingExtension.number }] : [],
        ),
    ];
    for (const { elevation, extension } of waiting) {
      let match = matches.get(elevation.roleId);
      if (!match) {
        match = this.approverMatch(elevation.roleId, personOf(email, login)).catch((err: unknown) => {
          // A person the directory cannot pin down approves nothing; their queue says so by its absence.
          if (err instanceof AmbiguousIdentityError) return { groups: [], entries: [] };
          throw err;
        });
        matches.set(elevation.roleId, match);
      }
      const { groups, entries } = await match;
      if (groups.length === 0) continue;
      const role = this.roles.get(elevation.roleId);
      const ownerMayApprove = role?.approval.mode === 'approvers' && role.approval.ownerMayApprove;
      const identity = login ? identityOf(entries, login) : undefined;
      const now = this.clock().getTime();
      const problem =
        extension === undefined
          ? approvalRefusal(elevation, email, groups, ownerMayApprove, now, identity)
          : extensionApprovalRefusal(elevation, extension, email, groups, ownerMayApprove, now, identity);
      items.push({
        elevation,
        groups,
        ...(extension !== undefined ? { extension } : {}),
        ...(problem ? { refusal: problem.message } : {}),
      });
    }
    return items;
  }

  /**
   * Approve as a person who has proved who they are (`evidence`: the MFA login): the request,
   * or with `input.extension` the pending extension of that number. Their approver groups are
   * looked up here; the workflow refuses an approval that must not count.
   */
  async approve(
    id: string,
    input: Omit<ApproveInput, 'groups' | 'identity'>,
    login?: ApproverLogin,
  ): Promise<ElevationView> {
    const by: Actor = { kind: 'human', id: input.approver.id };
    const about = extensionData(input.extension);
    const view = await this.deps.reader.find(id);
    const { groups, entries } = view
      ? await this.approverMatch(view.roleId, personOf(input.approver.id, login)).catch(
          async (err: unknown) => {
            if (!(err instanceof AmbiguousIdentityError)) throw err;
            throw await this.ambiguousRefusal(err, 'approval.refused', id, by, {
              evidence: input.evidence ?? null,
              ...about,
            });
          },
        )
      : { groups: [], entries: [] };
    // Who the approver is beyond the address, signed with the decision: the workflow refuses a
    // second approval by the same directory entry or identity-provider subject.
    const evidence = input.evidence ?? {};
    const identity = identityOf(entries, {
      ...(typeof evidence['issuer'] === 'string' ? { issuer: evidence['issuer'] } : {}),
      ...(typeof evidence['subject'] === 'string' ? { subject: evidence['subject'] } : {}),
      ...login,
    });
    try {
      return await this.deps.decisions.decide(id, 'approve', { ...input, groups, identity });
    } catch (err) {
      if (isGone(err)) {
        const receipt = await this.deps.refusals.recordRefusal('approval.refused', id, by, {
          code: 'already_ended',
          evidence: input.evidence ?? null,
          ...about,
        });
        throw new AuditedRefusal(receipt, 'already_ended', `elevation ${id} has ended or does not exist`);
      }
      throw await this.deps.decisions.refusalOrUnavailable(err, 'approval.refused', id, by, {
        evidence: input.evidence ?? null,
        ...about,
      });
    }
  }

  /**
   * Deny: a human approver or the bot's owner (groups looked up here), or an admin; the request,
   * or with `input.extension` the pending extension of that number.
   */
  async deny(id: string, input: Omit<DenyInput, 'groups'>): Promise<ElevationView> {
    const about = extensionData(input.extension);
    const view = input.by.kind === 'human' ? await this.deps.reader.find(id) : undefined;
    const groups = view
      ? await this.approverGroups(view.roleId, input.by.id).catch(async (err: unknown) => {
          if (!(err instanceof AmbiguousIdentityError)) throw err;
          throw await this.ambiguousRefusal(err, 'deny.refused', id, input.by, {
            reason: input.reason,
            ...about,
          });
        })
      : [];
    try {
      return await this.deps.decisions.decide(id, 'deny', { ...input, groups });
    } catch (err) {
      if (isGone(err)) {
        const receipt = await this.deps.refusals.recordRefusal('deny.refused', id, input.by, {
          code: 'already_ended',
          ...about,
        });
        throw new AuditedRefusal(receipt, 'already_ended', `elevation ${id} has ended or does not exist`);
      }
      throw await this.deps.decisions.refusalOrUnavailable(err, 'deny.refused', id, input.by, {
        reason: input.reason,
        ...about,
      });
    }
  }

  /**
   * The approver groups `person` belongs to, and the directory entries that made them a member
   * (so one person counts once under any address). An entry the directory cannot pin down is
   * thrown as {@link AmbiguousIdentityError}, for the caller to refuse and audit with its context
   * ({@link ambiguousRefusal}).
   */
  private async approverMatch(
    roleId: string,
    person: DirectoryPerson,
  ): Promise<{ groups: string[]; entries: string[] }> {
    const groups: string[] = [];
    const entries = new Set<string>();
    for (const g of this.approverGroupsOf(roleId)) {
      if (g.members?.some((m) => sameApprover(m, person.email))) {
        groups.push(g.name);
      } else if (g.oncall) {
        const onCall = await (this.deps.oncall ?? ROTATIONS_ONLY)
          .onCall(g.oncall, this.clock())
          .catch((err: unknown) => {
            throw unavailable(this.deps.logger, err, 'look up who is on call');
          });
        if (onCall.some((m) => sameApprover(m, person.email))) groups.push(g.name);
      } else if (g.ldapGroupDn) {
        const directory = this.deps.directory;
        if (!directory) {
          throw unavailable(this.deps.logger, new Error('no LDAP directory configured'), 'look up approvers');
        }
        const entry = await directory.memberEntry(g.ldapGroupDn, person).catch((err: unknown) => {
          if (err instanceof AmbiguousIdentityError) throw err;
          throw unavailable(this.deps.logger, err, 'look up approver groups in LDAP');
        });
        if (entry !== undefined) {
          groups.push(g.name);
          entries.add(entry);
        }
      }
    }
    return { groups, entries: [...entries] };
  }

  /**
   * The groups that may approve the role's requests: its own, the groups its approval rule
   * escalates to (counted once the request escalated: `approval-nudges.ts`), and the escalation
   * group the risk score adds to high-risk requests (or makes the approvers of an automatic
   * role's). The workflow counts an approval only for the groups its request was routed to.
   */
  private approverGroupsOf(roleId: string): ApproverGroup[] {
    const role = this.roles.get(roleId);
    if (!role) return [];
    const rule = role.approval;
    const own = rule.mode === 'approvers' ? [...rule.groups, ...(rule.escalation?.groups ?? [])] : [];
    const escalation = riskRoutingFor(this.deps.policy.detection, role).escalation;
    return escalation && !own.some((g) => g.name === escalation.name) ? [...own, escalation] : own;
  }

  /**
   * A person the directory cannot pin down to one entry, refused (403 `approval_refused`, reason
   * `ambiguous_identity`) and recorded as `type` for elevation `id`.
   */
  private async ambiguousRefusal(
    err: AmbiguousIdentityError,
    type: 'approval.refused' | 'deny.refused',
    id: string,
    by: Actor,
    extra: DecisionRefusalExtra,
  ): Promise<RefusalError> {
    const receipt = await this.deps.refusals.recordRefusal(type, id, by, {
      code: 'ambiguous_identity',
      message: err.message,
      ...extra,
    });
    return new RefusalError(receipt, 'approval_refused', 'ambiguous_identity', err.message);
  }
}

/** What a refusal of an extension's approval or denial records besides its code: the extension's number. */
function extensionData(extension: number | undefined): { extension?: number } {
  return extension !== undefined ? { extension } : {};
}

/** Who to look up in the directory: the address, and the join value the provider asserted. */
function personOf(email: string, login: ApproverLogin | undefined): DirectoryPerson {
  return { email, ...(login?.joinValue !== undefined ? { joinValue: login.joinValue } : {}) };
}

/** The approver's identity as the workflow records it (see `ApproverIdentity`). */
function identityOf(entries: string[], login: ApproverLogin): ApproverIdentity {
  return {
    entries,
    ...(login.issuer !== undefined ? { issuer: login.issuer } : {}),
    ...(login.subject !== undefined ? { subject: login.subject } : {}),
  };
}
