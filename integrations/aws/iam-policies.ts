/**
 * What Elevate reads and changes about managed and inline IAM policies, for the attach target
 * and for drift detection: whether a policy under Elevate's name is Elevate's own
 * (`policy-check.ts`), attaching state, moving the expiry of an extended elevation's policy,
 * deleting a policy with its versions and attachments, and everything attached to a bot's role or
 * user, whoever attached it.
 */
import {
  CreatePolicyVersionCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetUserCommand,
  paginateListAttachedRolePolicies,
  paginateListAttachedUserPolicies,
  paginateListEntitiesForPolicy,
  paginateListPolicyVersions,
  paginateListRolePolicies,
  paginateListUserPolicies,
} from '@aws-sdk/client-iam';
import type { TargetChange } from '../../core/ports/target.js';
import {
  TargetInvalidError,
  TargetNotFoundError,
  TargetNotVerifiedError,
  TargetTamperedError,
} from '../../core/errors/target-errors.js';
import { documentProblem, sameDocument, versionProblem, type PolicyVersionInfo } from './policy-check.js';
import { expiryCondition, iamTime } from './policy-document.js';
import { isCode, type AwsErrorContext } from './aws-errors.js';
import {
  INLINE_NAME,
  POLICY_ARN,
  POLICY_PATH,
  elevationIdOfPolicy,
  parsePrincipal,
  policyNameOf,
  policyPathOf,
  type AwsPrincipal,
} from './naming.js';
import { compare, type AwsConnection } from './aws-client.js';

/** A managed policy attached to a role or user, as {@link IamPolicies.listAttachedPolicies} lists it. */
export interface AttachedManagedPolicy {
  arn: string;
  name: string;
  /** The policy's path, `/` through `/a/b/`; Elevate's own are under {@link POLICY_PATH}. */
  path: string;
}

/**
 * Everything attached to a bot's role or user: the managed policies (any path, customer- or
 * AWS-managed) and the names of its inline policies.
 */
export interface AttachedPolicies {
  /** Sorted by ARN. */
  managed: AttachedManagedPolicy[];
  /** Sorted by name. */
  inline: string[];
}

/**
 * IAM policy operations over one {@link AwsConnection}. The first four run a call of their own
 * and map its failures; the rest are steps of a larger operation, called inside the caller's
 * `AwsConnection.run`, which maps them.
 */
export class IamPolicies {
  constructor(private readonly aws: AwsConnection) {}

  /**
   * Whether the Elevate policy `policyArn` was changed by someone else since Elevate last wrote
   * it: a sentence saying how (a version other than `version`, or `version` no longer the
   * default), or `undefined` when it has only `version` as Elevate made it, or no longer exists.
   * `version` is the one the elevation's last extension wrote ({@link moveExpiry}), `v1` when it
   * was never extended. IAM versions cannot be edited and their ids are never given twice, and
   * Elevate checked that version's document against the role's before attaching or writing it,
   * so this needs no document; drift detection asks it about the policies of live elevations,
   * which the lease would otherwise explain.
   *
   * @throws {TargetInvalidError} for an ARN that is not an Elevate policy's.
   */
  async findTampering(policyArn: string, version?: string): Promise<string | undefined> {
    if (elevationIdOfPolicy(policyArn) === undefined) {
      throw new TargetInvalidError(`${JSON.stringify(policyArn)} is not the ARN of an Elevate policy`);
    }
    return this.aws.run(this.aws.errorContext('inspect', undefined, policyArn), async () => {
      const read = await this.readPolicy(policyArn, false);
      return read && versionProblem(read.versions, read.defaultVersionId, version);
    });
  }

  /**
   * Everything attached to the bot's IAM role or user `principalArn`, whoever attached it:
   * every managed policy (any path, customer- or AWS-managed, all pages; the path is read from
   * the ARN, as IAM does not list it) sorted by ARN, and the name of every inline policy (all
   * pages) sorted by name. Drift detection compares this with the policies of the bot's live
   * elevations ({@link elevationIdOfPolicy}) and what is declared standing.
   *
   * A principal that does not exist (or is deleted while being read) holds nothing:
   * `{ managed: [], inline: [] }`.
   *
   * @throws {TargetInvalidError} for a principal that is not a role or user ARN.
   */
  async listAttachedPolicies(principalArn: string): Promise<AttachedPolicies> {
    const p = parsePrincipal(principalArn);
    return this.aws.run(this.aws.errorContext('listAttached', principalArn), async () => {
      const managed: AttachedManagedPolicy[] = [];
      const inline: string[] = [];
      try {
        // No PathPrefix: drift can be any policy, not just one under /elevate/.
        const attached =
          p.kind === 'role'
            ? paginateListAttachedRolePolicies(this.aws.pager, { RoleName: p.name })
            : paginateListAttachedUserPolicies(this.aws.pager, { UserName: p.name });
        for await (const page of attached) {
          for (const a of page.AttachedPolicies ?? []) {
            if (!a.PolicyArn) continue;
            managed.push({
              arn: a.PolicyArn,
              name: a.PolicyName ?? policyNameOf(a.PolicyArn),
              path: policyPathOf(a.PolicyArn),
            });
          }
        }
        const names =
          p.kind === 'role'
            ? paginateListRolePolicies(this.aws.pager, { RoleName: p.name })
            : paginateListUserPolicies(this.aws.pager, { UserName: p.name });
        for await (const page of names) inline.push(...(page.PolicyNames ?? []));
      } catch (err) {
        if (isCode(err, 'NoSuchEntity')) return { managed: [], inline: [] };
        throw err;
      }
      managed.sort((a, b) => compare(a.arn, b.arn));
      inline.sort(compare);
      return { managed, inline };
    });
  }

  /**
   * Detaches the managed policy `policyArn` from the bot's IAM role or user `principalArn`;
   * `changed: false` when it was not attached, or the principal or the policy no longer exists.
   *
   * The policy itself is left alone, never deleted: it may be AWS-managed or shared with other
   * roles. An Elevate policy (see {@link elevationIdOfPolicy}) detached this way stays behind
   * unattached; the attach target's `revoke` with its elevation detaches and deletes it.
   *
   * @throws {TargetInvalidError} for a principal that is not a role or user ARN, or a
   *   `policyArn` that is not the ARN of a managed policy.
   * @throws {TargetAccessDeniedError} when Elevate may not detach it (for example a
   *   `iam:PolicyARN` condition that limits Elevate to `policy/elevate/*`).
   */
  async detachPolicy(principalArn: string, policyArn: string): Promise<TargetChange> {
    const p = parsePrincipal(principalArn);
    if (!POLICY_ARN.test(policyArn)) {
      throw new TargetInvalidError(
        `${JSON.stringify(policyArn)} is not the ARN of an IAM managed policy (arn:aws:iam::<account>:policy/<name>)`,
      );
    }
    return this.aws.run(this.aws.errorContext('detach', principalArn, policyArn), async () => {
      try {
        await (p.kind === 'role'
          ? this.aws.iam.send(new DetachRolePolicyCommand({ RoleName: p.name, PolicyArn: policyArn }))
          : this.aws.iam.send(new DetachUserPolicyCommand({ UserName: p.name, PolicyArn: policyArn })));
      } catch (err) {
        // IAM answers NoSuchEntity alike for a missing principal, policy or attachment.
        if (isCode(err, 'NoSuchEntity')) return { changed: false };
        throw err;
      }
      this.aws.logger?.info({ principal: principalArn, policy: policyArn }, 'AWS policy detached');
      return { changed: true };
    });
  }

  /**
   * Deletes the inline policy `policyName` of the bot's IAM role or user `principalArn`
   * (inline policies belong to their principal, so deleting is the only way to remove one);
   * `changed: false` when there is no such inline policy or no such principal.
   *
   * @throws {TargetInvalidError} for a principal that is not a role or user ARN, or a name IAM
   *   cannot have given an inline policy.
   */
  async deleteInlinePolicy(principalArn: string, policyName: string): Promise<TargetChange> {
    const p = parsePrincipal(principalArn);
    if (!INLINE_NAME.test(policyName)) {
      throw new TargetInvalidError(`${JSON.stringify(policyName)} is not the name of an IAM inline policy`);
    }
    return this.aws.run(this.aws.errorContext('deleteInline', principalArn, policyName), async () => {
      try {
        await (p.kind === 'role'
          ? this.aws.iam.send(new DeleteRolePolicyCommand({ RoleName: p.name, PolicyName: policyName }))
          : this.aws.iam.send(new DeleteUserPolicyCommand({ UserName: p.name, PolicyName: policyName })));
      } catch (err) {
        if (isCode(err, 'NoSuchEntity')) return { changed: false };
        throw err;
      }
      this.aws.logger?.info({ principal: principalArn, policy: policyName }, 'AWS inline policy deleted');
      return { changed: true };
    });
  }

  /**
   * The policy's default version id and versions, and with `withDocument` the default version's
   * document; `undefined` when the policy does not exist.
   */
  private async readPolicy(
    policyArn: string,
    withDocument: boolean,
  ): Promise<{ defaultVersionId?: string; versions: PolicyVersionInfo[]; document?: string } | undefined> {
    const got = await this.aws.ignoreMissing(
      this.aws.iam.send(new GetPolicyCommand({ PolicyArn: policyArn })),
    );
    if (!got?.Policy) return undefined;
    const defaultVersionId = got.Policy.DefaultVersionId;
    const versions: PolicyVersionInfo[] = [];
    for await (const page of paginateListPolicyVersions(this.aws.pager, { PolicyArn: policyArn })) {
      for (const v of page.Versions ?? []) {
        if (v.VersionId) versions.push({ versionId: v.VersionId, isDefault: v.IsDefaultVersion === true });
      }
    }
    if (!withDocument || !defaultVersionId) return { defaultVersionId, versions };
    const version = await this.aws.iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: defaultVersionId }),
    );
    return { defaultVersionId, versions, document: version.PolicyVersion?.Document ?? '' };
  }

  /**
   * Refuses, with {@link TargetTamperedError}, the elevation's policy `policyArn` unless it is
   * exactly the one Elevate makes from `roleDocument` for a window ending by `notAfter`. A
   * policy that is not there (yet) is {@link TargetNotVerifiedError}, retried: IAM's eventual
   * consistency, or a revocation racing the grant.
   */
  async verifyPolicy(
    policyArn: string,
    principal: string,
    roleDocument: string,
    notAfter: Date,
  ): Promise<void> {
    const read = await this.readPolicy(policyArn, true);
    if (!read) throw new TargetNotVerifiedError(`IAM does not show policy ${policyArn}`);
    const problem =
      versionProblem(read.versions, read.defaultVersionId) ??
      documentProblem(read.document ?? '', roleDocument, notAfter);
    if (problem === undefined) return;
    this.aws.logger?.error(
      { principal, policy: policyArn, problem },
      "AWS policy under Elevate's name is not Elevate's; refused",
    );
    throw new TargetTamperedError(
      `policy_tampered: ${policyArn} is not the policy Elevate makes for this elevation: ${problem}. ` +
        `Elevate refuses to grant it to ${principal} (the revocation that follows deletes it); ` +
        'look in CloudTrail for who called CreatePolicy, CreatePolicyVersion or SetDefaultPolicyVersion on it',
    );
  }

  /**
   * Moves the expiry of the elevation's policy `policyArn` to `notAfter`, for an extension: the
   * default version must be exactly the one Elevate makes from `roleDocument` with an expiry no
   * later than `notAfter` (else {@link TargetTamperedError}: the extension is refused, and the
   * policy is left for the revocation or drift detection to take away). The new version is
   * `expiryCondition(roleDocument, notAfter)`, which, the old one being checked equal to
   * `expiryCondition(roleDocument, T)`, is the old document with only Elevate's `aws:CurrentTime`
   * limit moved: a limit the role's own document sets stays where it was, and nothing else can
   * change. It is made the default and the other versions are deleted, so that the policy again
   * has one version; the result is read back. A retry that finds the moved expiry already in the
   * default version only finishes the clean-up (`changed: false`). Returns the version the policy
   * now has, which {@link findTampering} must be told from now on.
   *
   * A step of the attach target's `extend`, called inside its `AwsConnection.run`.
   *
   * @throws {TargetNotFoundError} when the policy no longer exists (the grant was taken away).
   * @throws {TargetTamperedError} when its default version is not Elevate's.
   * @throws {TargetNotVerifiedError} when the policy does not read back as written (retried).
   */
  async moveExpiry(
    policyArn: string,
    principal: string,
    roleDocument: string,
    notAfter: Date,
  ): Promise<{ changed: boolean; version: string }> {
    const read = await this.readPolicy(policyArn, true);
    if (!read?.defaultVersionId) {
      throw new TargetNotFoundError(`policy ${policyArn} no longer exists: the grant was taken away`);
    }
    const before = documentProblem(read.document ?? '', roleDocument, notAfter);
    if (before !== undefined) this.refuseExtension(policyArn, principal, before);
    const wanted = expiryCondition(roleDocument, notAfter);
    let version = read.defaultVersionId;
    // Versions that are not the default allow nothing; IAM keeps five at most, so they go first.
    const others = read.versions.map((v) => v.versionId).filter((id) => id !== version);
    if (others.length > 0) {
      this.aws.logger?.warn(
        { principal, policy: policyArn, versions: others },
        'AWS policy of an elevation had versions besides its default; deleting them',
      );
    }
    for (const VersionId of others) {
      await this.aws.ignoreMissing(
        this.aws.iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId })),
      );
    }
    const changed = !sameDocument(read.document ?? '', wanted);
    if (changed) {
      const made = await this.aws.iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: wanted, SetAsDefault: true }),
      );
      const previous = version;
      version = made.PolicyVersion?.VersionId ?? '';
      await this.aws.ignoreMissing(
        this.aws.iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: previous })),
      );
    }
    // The read-back: one version, the one written (or found) above, with the moved expiry.
    const after = await this.readPolicy(policyArn, true);
    if (!after) throw new TargetNotFoundError(`policy ${policyArn} was deleted while its expiry moved`);
    const problem =
      versionProblem(after.versions, after.defaultVersionId, version) ??
      (sameDocument(after.document ?? '', wanted) ? undefined : 'its default version is not the one written');
    // Retried, not refused: IAM reads are eventually consistent, and the retry checks the default
    // version against the role's document again before it writes anything.
    if (problem !== undefined) {
      throw new TargetNotVerifiedError(
        `policy ${policyArn} does not read back with the moved expiry: ${problem}`,
      );
    }
    this.aws.logger?.info(
      { principal, policy: policyArn, version, notAfter: iamTime(notAfter), changed },
      "AWS policy's expiry moved",
    );
    return { changed, version };
  }

  /** Logs and throws the {@link TargetTamperedError} that refuses an extension of `policyArn`. */
  private refuseExtension(policyArn: string, principal: string, problem: string): never {
    this.aws.logger?.error(
      { principal, policy: policyArn, problem },
      "AWS policy under Elevate's name is not Elevate's; extension refused",
    );
    throw new TargetTamperedError(
      `policy_tampered: ${policyArn} is not the policy Elevate made for this elevation: ${problem}. ` +
        `Elevate refuses to extend ${principal}'s grant (the revocation deletes the policy); ` +
        'look in CloudTrail for who called CreatePolicyVersion or SetDefaultPolicyVersion on it',
    );
  }

  /** Whether `policyArn` is among the `/elevate/` policies attached to the principal (all pages). */
  async isAttached(p: AwsPrincipal, policyArn: string): Promise<boolean> {
    const input = { PathPrefix: POLICY_PATH };
    const pages =
      p.kind === 'role'
        ? paginateListAttachedRolePolicies(this.aws.pager, { ...input, RoleName: p.name })
        : paginateListAttachedUserPolicies(this.aws.pager, { ...input, UserName: p.name });
    for await (const page of pages) {
      if ((page.AttachedPolicies ?? []).some((a) => a.PolicyArn === policyArn)) return true;
    }
    return false;
  }

  /**
   * Deletes the policy: its non-default versions first (IAM refuses to delete a policy that has
   * any), then the policy. A `DeleteConflict` means something else still holds it: it is detached
   * from every entity and the delete tried once more. A policy already gone is fine.
   */
  async deletePolicy(policyArn: string, errCtx: AwsErrorContext): Promise<void> {
    const attempt = async (): Promise<void> => {
      for await (const page of paginateListPolicyVersions(this.aws.pager, { PolicyArn: policyArn })) {
        for (const v of page.Versions ?? []) {
          if (v.IsDefaultVersion || !v.VersionId) continue;
          await this.aws.ignoreMissing(
            this.aws.iam.send(
              new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: v.VersionId }),
            ),
          );
        }
      }
      await this.aws.iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
    };
    try {
      await attempt();
    } catch (err) {
      if (isCode(err, 'NoSuchEntity')) return;
      if (!isCode(err, 'DeleteConflict')) throw err;
      await this.detachEverywhere(policyArn, errCtx);
      await this.aws.ignoreMissing(attempt());
    }
  }

  /** Detaches the policy from every role, user and group IAM lists for it. */
  private async detachEverywhere(policyArn: string, errCtx: AwsErrorContext): Promise<void> {
    const { roles, users, groups } = await this.entitiesOf(policyArn);
    if (roles.length + users.length + groups.length > 0) {
      this.aws.logger?.warn(
        { policy: policyArn, principal: errCtx.principal, roles, users, groups },
        'AWS policy of an elevation was attached elsewhere; detaching it everywhere',
      );
    }
    for (const RoleName of roles) {
      await this.aws.ignoreMissing(
        this.aws.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: policyArn })),
      );
    }
    for (const UserName of users) {
      await this.aws.ignoreMissing(
        this.aws.iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn: policyArn })),
      );
    }
    for (const GroupName of groups) {
      await this.aws.ignoreMissing(
        this.aws.iam.send(new DetachGroupPolicyCommand({ GroupName, PolicyArn: policyArn })),
      );
    }
  }

  /** Names of the entities a policy is attached to (all pages); none when the policy is gone. */
  private async entitiesOf(
    policyArn: string,
  ): Promise<{ roles: string[]; users: string[]; groups: string[] }> {
    const roles: string[] = [];
    const users: string[] = [];
    const groups: string[] = [];
    try {
      for await (const page of paginateListEntitiesForPolicy(this.aws.pager, { PolicyArn: policyArn })) {
        for (const r of page.PolicyRoles ?? []) if (r.RoleName) roles.push(r.RoleName);
        for (const u of page.PolicyUsers ?? []) if (u.UserName) users.push(u.UserName);
        for (const g of page.PolicyGroups ?? []) if (g.GroupName) groups.push(g.GroupName);
      }
    } catch (err) {
      if (!isCode(err, 'NoSuchEntity')) throw err;
    }
    return { roles, users, groups };
  }

  /**
   * ARNs of the entities holding a policy. IAM lists them by name only, and an ARN includes the
   * path, so each is looked up; one deleted meanwhile is left out.
   */
  async holdersOf(policyArn: string): Promise<string[]> {
    const { roles, users, groups } = await this.entitiesOf(policyArn);
    const lookups = [
      ...roles.map((RoleName) =>
        this.aws.ignoreMissing(this.aws.iam.send(new GetRoleCommand({ RoleName }))).then((o) => o?.Role?.Arn),
      ),
      ...users.map((UserName) =>
        this.aws.ignoreMissing(this.aws.iam.send(new GetUserCommand({ UserName }))).then((o) => o?.User?.Arn),
      ),
      ...groups.map((GroupName) =>
        this.aws
          .ignoreMissing(this.aws.iam.send(new GetGroupCommand({ GroupName, MaxItems: 1 })))
          .then((o) => o?.Group?.Arn),
      ),
    ];
    return (await Promise.all(lookups)).filter((a): a is string => typeof a === 'string');
  }
}
