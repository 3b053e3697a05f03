/**
 * AWS IAM in attach mode as a {@link Target} (`aws-iam-attach`; roles say `type: aws-iam`,
 * `mode: attach`, see `AwsIamAttachTargetRef` in `core/model/targets.ts`).
 *
 * Each elevation gets its own customer-managed policy, `elevate-<elevationId>` under the path
 * `/elevate/`, attached to the bot's IAM role or user for the window and detached and deleted
 * when the window ends. The policy is the role's document with a
 * `DateLessThan: {"aws:CurrentTime": …}` condition added to every `Allow` statement, at the
 * window's end plus {@link EXPIRY_SLACK_SECONDS}: if Elevate cannot detach it in time (AWS
 * unreachable, Elevate down), AWS itself stops honouring it. Because the policy belongs to one
 * elevation, two elevations of the same bot and role never share a grant, and revoking one
 * leaves the other alone.
 *
 * **Drift.** Bots hold no standing privilege, so anything attached to a bot's role or user
 * that is not the policy of a live elevation (or declared standing) is drift: found per bot
 * principal by {@link AwsIamAttachTarget.reconcilePrincipal} (`aws-drift.ts`).
 *
 * **Tampering.** The policy's name is predictable, so someone else may create it first, or add a
 * version to it during the window. Elevate attaches a policy it did not just create only when it
 * is exactly the one Elevate would create (`policy-check.ts`), checks that again in the
 * read-back ({@link AwsIamAttachTarget.check}), and otherwise refuses with
 * `TargetTamperedError`; drift detection asks {@link IamPolicies.findTampering} about
 * live elevations' policies. The grant reads itself back (attached, and exactly Elevate's policy:
 * it alone knows the role's document); {@link AwsIamAttachTarget.check} by handle reads that the
 * policy is attached and has no version but Elevate's.
 *
 * **Extension.** {@link AwsIamAttachTarget.extend} moves the expiry condition with the window:
 * the default version, checked against the role's document, is replaced by a new version with
 * the moved expiry, and the old one deleted (`IamPolicies.moveExpiry`). The new version's id is
 * what the tamper checks accept from then on (`policy-check.ts`): the worker records it with
 * the extended end, and drift detection and {@link AwsIamAttachTarget.check} are told it.
 *
 * **Handle.** A grant's handle is the policy's ARN and the principal's: the revocation detaches
 * and deletes exactly that policy, and refuses a handle whose policy is not an Elevate policy in
 * the principal's account.
 *
 * Permissions Elevate's own AWS identity needs: `iam:CreatePolicy`, `iam:CreatePolicyVersion`
 * (for extensions), `iam:GetPolicy`,
 * `iam:GetPolicyVersion`, `iam:DeletePolicy`, `iam:ListPolicyVersions`,
 * `iam:DeletePolicyVersion`, `iam:ListPolicies`, `iam:ListEntitiesForPolicy`,
 * `iam:Attach/Detach/ListAttachedRolePolicies` (and the `User` forms for bots that are IAM
 * users), `iam:GetRole`/`iam:GetUser`/`iam:GetGroup` (for
 * {@link AwsIamAttachTarget.listMembers}); scope them to `policy/elevate/*` and the bots' roles
 * and users. Drift detection also needs, on the bots' roles and users:
 * `iam:ListAttachedRolePolicies`/`iam:ListAttachedUserPolicies` for every policy (they are
 * called without a path prefix, so that policies outside `/elevate/` show too),
 * `iam:ListRolePolicies`/`iam:ListUserPolicies`, `iam:DeleteRolePolicy`/`iam:DeleteUserPolicy`,
 * and `iam:DetachRolePolicy`/`iam:DetachUserPolicy` for any policy: an `iam:PolicyARN`
 * condition limiting them to `policy/elevate/*` makes removing other policies fail with
 * `TargetAccessDeniedError`.
 */
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  paginateListPolicies,
} from '@aws-sdk/client-iam';
import { z } from 'zod';
import type {
  DriftHooks,
  ExtendChange,
  GrantChange,
  GrantContext,
  Target,
  TargetChange,
} from '../../core/ports/target.js';
import type { ReconcileAwsPrincipal, RoleReconciliation } from '../../core/model/reconcile.js';
import type { AwsIamAttachGrantHandle, AwsIamAttachTargetRef } from '../../core/model/targets.js';
import {
  TargetInvalidError,
  TargetNotFoundError,
  TargetNotVerifiedError,
  TargetTamperedError,
} from '../../core/errors/target-errors.js';
import { NAME_PREFIX, policyName } from '../../core/crypto/aws-names.js';
import { readGrantHandle } from '../../core/rules/grant-handle.js';
import { expiryCondition, iamTime } from './policy-document.js';
import { isCode, mapAwsError, type AwsErrorContext, type AwsOperation } from './aws-errors.js';
import {
  POLICY_PATH,
  awsMembershipKey,
  elevationIdOfPolicy,
  parsePrincipal,
  policyNameOf,
  type AwsPrincipal,
} from './naming.js';
import { AwsConnection, EXPIRY_SLACK_SECONDS, type AwsTargetOptions } from './aws-client.js';
import { IamPolicies } from './iam-policies.js';
import { reconcileAwsPrincipal } from './aws-drift.js';

/** An attach-mode grant's handle ({@link AwsIamAttachGrantHandle}) as stored JSON must read. */
const handleSchema: z.ZodType<AwsIamAttachGrantHandle> = z.object({
  type: z.literal('aws-iam-attach'),
  policyArn: z.string(),
  principalArn: z.string(),
});

/** {@link Target} for AWS IAM in attach mode; see the module comment. */
export class AwsIamAttachTarget implements Target<AwsIamAttachTargetRef, AwsIamAttachGrantHandle> {
  private readonly aws: AwsConnection;
  /** The policy operations this target and its drift detection use. */
  readonly policies: IamPolicies;

  /** @throws {Error} for timeouts that are not positive or a page size out of range. */
  constructor(options: AwsTargetOptions = {}) {
    this.aws = new AwsConnection(options);
    this.policies = new IamPolicies(this.aws);
  }

  /**
   * Creates the elevation's policy (the document with its expiry condition, at
   * now + window + {@link EXPIRY_SLACK_SECONDS}) and attaches it to `principal`;
   * `changed: false` if it was already attached. A policy left by an earlier attempt is reused
   * as it is, so its expiry counts from that first attempt: a retry can only end the grant
   * earlier, never later. A policy Elevate did not create in this call (left by an earlier
   * attempt, or already attached) is used only if it is exactly the one Elevate would create:
   * `v1` its only version, and its document the role's with an expiry no later than this one
   * (see `policy-check.ts`). The grant is read back before it returns (attached, and still that
   * policy), so it is `confirmed`; its handle names the policy and the principal.
   *
   * @throws {TargetInvalidError} without `ctx` or with a window that is not positive, for a
   *   principal that is not a role or user ARN, a document that is not JSON or has no
   *   statements, or one IAM refuses.
   * @throws {TargetNotFoundError} when the role or user does not exist.
   * @throws {TargetTamperedError} when a policy under the elevation's name exists and is not
   *   the one Elevate would create; it is not attached (or, found attached, left for the
   *   revocation to take away).
   */
  async grant(
    ref: AwsIamAttachTargetRef,
    principal: string,
    ctx?: GrantContext,
  ): Promise<GrantChange<AwsIamAttachGrantHandle>> {
    const { p, name, arn, errCtx, elevationId, durationSeconds } = this.attachContext(
      'grant',
      principal,
      ctx,
    );
    const handle: AwsIamAttachGrantHandle = {
      type: 'aws-iam-attach',
      policyArn: arn,
      principalArn: principal,
    };
    // Checked before any call: a bad window or document fails at once, whatever state AWS is in.
    if (!(Number.isFinite(durationSeconds) && durationSeconds > 0)) {
      // Without a window the expiry condition would end the grant after the slack alone.
      throw new TargetInvalidError(
        `AWS attach mode needs the elevation's window to set the policy's expiry (got ${durationSeconds} s)`,
      );
    }
    const notAfter = new Date(this.aws.clock().getTime() + (durationSeconds + EXPIRY_SLACK_SECONDS) * 1000);
    const document = expiryCondition(ref.policyDocument, notAfter);
    return this.aws.run(errCtx, async () => {
      if (await this.policies.isAttached(p, arn)) {
        // Attached by an earlier attempt, or by someone else: either way it must be Elevate's.
        await this.policies.verifyPolicy(arn, principal, ref.policyDocument, notAfter);
        return { changed: false, confirmed: true, handle };
      }
      let created = false;
      try {
        await this.aws.iam.send(
          new CreatePolicyCommand({
            PolicyName: name,
            Path: POLICY_PATH,
            PolicyDocument: document,
            Description: `Elevate elevation ${elevationId}; expires ${iamTime(notAfter)}`,
          }),
        );
        created = true;
      } catch (err) {
        if (!isCode(err, 'EntityAlreadyExists')) throw err;
      }
      // The name is predictable: a policy already there may be someone else's, so it is checked
      // before it is attached (a retry of Elevate's own create passes).
      if (!created) await this.policies.verifyPolicy(arn, principal, ref.policyDocument, notAfter);
      try {
        await (p.kind === 'role'
          ? this.aws.iam.send(new AttachRolePolicyCommand({ RoleName: p.name, PolicyArn: arn }))
          : this.aws.iam.send(new AttachUserPolicyCommand({ UserName: p.name, PolicyArn: arn })));
      } catch (err) {
        const mapped = mapAwsError(err, { ...errCtx, operation: 'attach' });
        // A policy that can never be attached (quota reached, principal gone) is not left behind.
        if (!mapped.retryable) await this.policies.deletePolicy(arn, errCtx).catch(() => undefined);
        throw mapped;
      }
      // The read-back: attached, and still exactly the policy checked or created above.
      if (!(await this.policies.isAttached(p, arn))) {
        throw new TargetNotVerifiedError(`policy ${arn} does not read back as attached to ${principal}`);
      }
      await this.policies.verifyPolicy(arn, principal, ref.policyDocument, notAfter);
      this.aws.logger?.info(
        { principal, policy: arn, notAfter: iamTime(notAfter), reusedPolicy: !created },
        'AWS policy attached',
      );
      return { changed: true, confirmed: true, handle };
    });
  }

  /**
   * The policy and principal a grant of `ref` to `principal` for `elevationId` names.
   *
   * @throws {TargetInvalidError} without an elevation (its policy is named after it), or for a
   *   principal that is not a role or user ARN.
   */
  handleFor(
    _ref: AwsIamAttachTargetRef | undefined,
    principal: string,
    elevationId: string,
  ): AwsIamAttachGrantHandle {
    const { arn } = this.attachContext('revoke', principal, { elevationId, durationSeconds: 0 });
    return { type: 'aws-iam-attach', policyArn: arn, principalArn: principal };
  }

  /**
   * Detaches the handle's policy from its principal and deletes it (its non-default versions
   * first, and any other attachment, which only tampering can have made). `changed: false` if
   * it was not attached; a policy or principal that no longer exists is not an error.
   *
   * @throws {TargetInvalidError} for a malformed handle: a principal that is not a role or user
   *   ARN, or a policy that is not an Elevate policy of the principal's account.
   */
  async revoke(handle: AwsIamAttachGrantHandle): Promise<TargetChange> {
    const { p, arn, errCtx } = this.handleContext('revoke', handle);
    return this.aws.run(errCtx, async () => {
      let changed = true;
      try {
        await (p.kind === 'role'
          ? this.aws.iam.send(new DetachRolePolicyCommand({ RoleName: p.name, PolicyArn: arn }))
          : this.aws.iam.send(new DetachUserPolicyCommand({ UserName: p.name, PolicyArn: arn })));
      } catch (err) {
        if (!isCode(err, 'NoSuchEntity')) throw err;
        changed = false;
      }
      await this.policies.deletePolicy(arn, errCtx);
      if (changed) {
        this.aws.logger?.info(
          { principal: handle.principalArn, policy: arn },
          'AWS policy detached and deleted',
        );
      }
      return { changed };
    });
  }

  /**
   * {@link AwsIamAttachTarget.revoke} by elevation alone (the policy is named after it, whatever
   * the role's document): what drift detection takes away.
   */
  async removePolicy(principal: string, ctx: GrantContext | undefined): Promise<TargetChange> {
    return await this.revoke(this.handleFor(undefined, principal, ctx?.elevationId ?? ''));
  }

  /**
   * Moves the expiry of the handle's policy to `expiresAt` + {@link EXPIRY_SLACK_SECONDS}, for an
   * extension of the elevation: the policy must still be attached to its principal and its
   * default version exactly Elevate's policy for `ref`'s document; the new version replaces it
   * (`IamPolicies.moveExpiry`). Confirmed by reading back; `version` is the policy's version from
   * now on, which {@link AwsIamAttachTarget.check} and drift detection must be told.
   *
   * @throws {TargetInvalidError} for a malformed handle, as {@link AwsIamAttachTarget.revoke}, or
   *   an end that is not a date.
   * @throws {TargetNotFoundError} when the policy is no longer attached or no longer exists.
   * @throws {TargetTamperedError} when the policy is not the one Elevate made.
   */
  async extend(
    ref: AwsIamAttachTargetRef,
    handle: AwsIamAttachGrantHandle,
    expiresAt: Date,
  ): Promise<ExtendChange> {
    const { p, arn, errCtx } = this.handleContext('extend', handle);
    if (Number.isNaN(expiresAt.getTime())) {
      throw new TargetInvalidError("AWS attach mode needs the window's new end to move the policy's expiry");
    }
    const notAfter = new Date(expiresAt.getTime() + EXPIRY_SLACK_SECONDS * 1000);
    return this.aws.run(errCtx, async () => {
      // A policy taken away (revoked, or by drift detection) is not extended: nothing holds it.
      if (!(await this.policies.isAttached(p, arn))) {
        throw new TargetNotFoundError(`policy ${arn} is no longer attached to ${handle.principalArn}`);
      }
      const moved = await this.policies.moveExpiry(arn, handle.principalArn, ref.policyDocument, notAfter);
      return { changed: moved.changed, confirmed: true, version: moved.version };
    });
  }

  /**
   * Whether the handle's policy is attached to its principal (false when the principal does not
   * exist). An attached policy is also checked to have no version but Elevate's: `version` (the
   * one the elevation's last extension reported), or `v1` without it. A version added or made
   * default by someone else throws `TargetTamperedError` (versions cannot be edited, and Elevate
   * checked its own version's document against the role's before attaching or writing it).
   *
   * @throws {TargetInvalidError} for a malformed handle, as {@link AwsIamAttachTarget.revoke}.
   */
  async check(handle: AwsIamAttachGrantHandle, version?: string): Promise<boolean> {
    const { p, arn, errCtx } = this.handleContext('check', handle);
    if (!(await this.isAttached(p, arn, errCtx))) return false;
    const problem = await this.policies.findTampering(arn, version);
    if (problem === undefined) return true;
    this.aws.logger?.error(
      { principal: handle.principalArn, policy: arn, problem },
      "AWS policy under Elevate's name is not Elevate's",
    );
    throw new TargetTamperedError(
      `policy_tampered: ${arn} is not the policy Elevate made for this elevation: ${problem}. ` +
        'The revocation deletes it; look in CloudTrail for who called CreatePolicyVersion or SetDefaultPolicyVersion on it',
    );
  }

  /**
   * Whether the elevation's policy is attached to `principal`, by elevation alone (presence
   * only): what drift detection asks, with {@link IamPolicies.findTampering} separately.
   */
  async holdsPolicy(principal: string, ctx: GrantContext | undefined): Promise<boolean> {
    const { p, arn, errCtx } = this.attachContext('check', principal, ctx);
    return await this.isAttached(p, arn, errCtx);
  }

  /**
   * The ARNs of every role, user (and group, which Elevate never attaches to, so
   * one listed means tampering) that holds **any** policy under `/elevate/`, sorted. This is
   * the deployment-wide answer, not one per document: every attach-mode `ref` gets the same
   * list, since an elevation's policy is named after the elevation, not the role. Drift
   * detection compares it with the principals of all live attach-mode grants together.
   */
  async listMembers(_ref: AwsIamAttachTargetRef): Promise<string[]> {
    const errCtx = this.aws.errorContext('listMembers');
    return this.aws.run(errCtx, async () => {
      const arns = new Set<string>();
      const pages = paginateListPolicies(this.aws.pager, {
        Scope: 'Local',
        PathPrefix: POLICY_PATH,
        OnlyAttached: true,
      });
      for await (const page of pages) {
        for (const policy of page.Policies ?? []) {
          if (!policy.Arn || !policy.PolicyName?.startsWith(NAME_PREFIX)) continue;
          for (const holder of await this.policies.holdersOf(policy.Arn)) arns.add(holder);
        }
      }
      return [...arns].sort();
    });
  }

  /** The elevation's own policy: `aws-iam|attach|<principal>|<elevationId>`. */
  membershipKey(_ref: AwsIamAttachTargetRef, principal: string, elevationId: string): string {
    return awsMembershipKey('attach', principal, elevationId);
  }

  /** Attach-mode policies are per elevation: their drift is found per bot principal. */
  unreconciledReason(_ref?: AwsIamAttachTargetRef): string {
    return 'AWS IAM roles are reconciled per bot principal';
  }

  /** Everything attached to one bot's role or user, against its live elevations (`aws-drift.ts`). */
  reconcilePrincipal(unit: ReconcileAwsPrincipal, hooks: DriftHooks): Promise<RoleReconciliation> {
    return reconcileAwsPrincipal(unit, hooks, this);
  }

  /** Asks STS who Elevate is (`GetCallerIdentity`), proving both reachability and credentials. */
  ping(): Promise<void> {
    return this.aws.ping();
  }

  /** Releases the SDK clients' connections; later calls fail with `TargetUnreachableError`. */
  close(): Promise<void> {
    return this.aws.close();
  }

  /** Whether `arn` is attached to `p` (false when the principal does not exist). */
  private isAttached(p: AwsPrincipal, arn: string, errCtx: AwsErrorContext): Promise<boolean> {
    return this.aws.run(errCtx, async () => {
      try {
        return await this.policies.isAttached(p, arn);
      } catch (err) {
        if (isCode(err, 'NoSuchEntity')) return false;
        throw err;
      }
    });
  }

  /**
   * The handle's principal and policy, refusing up front a handle that is malformed or names a
   * policy that is not an Elevate policy of the principal's account (it could name any policy).
   */
  private handleContext(
    operation: AwsOperation,
    handle: AwsIamAttachGrantHandle,
  ): { p: AwsPrincipal; arn: string; errCtx: AwsErrorContext } {
    const { policyArn, principalArn } = readGrantHandle(handleSchema, handle, 'AWS attach-mode');
    const p = parsePrincipal(principalArn);
    const inAccount = `arn:${p.partition}:iam::${p.account}:policy${POLICY_PATH}`;
    if (elevationIdOfPolicy(policyArn) === undefined || !policyArn.startsWith(inAccount)) {
      throw new TargetInvalidError(
        `${JSON.stringify(policyArn)} is not an Elevate policy of ${principalArn}'s account`,
      );
    }
    return {
      p,
      arn: policyArn,
      errCtx: this.aws.errorContext(operation, principalArn, policyNameOf(policyArn)),
    };
  }

  /** Everything attach mode needs, refusing a missing elevation or a malformed principal up front. */
  private attachContext(
    operation: AwsOperation,
    principal: string,
    ctx: GrantContext | undefined,
  ): GrantContext & { p: AwsPrincipal; name: string; arn: string; errCtx: AwsErrorContext } {
    if (!ctx?.elevationId) {
      throw new TargetInvalidError(`AWS attach mode needs the elevation (its policy is named after it)`);
    }
    const p = parsePrincipal(principal);
    const name = policyName(ctx.elevationId);
    // Managed policies can only be attached within their account, so the policy lives in the principal's.
    const arn = `arn:${p.partition}:iam::${p.account}:policy${POLICY_PATH}${name}`;
    return { ...ctx, p, name, arn, errCtx: this.aws.errorContext(operation, principal, name) };
  }
}
