/**
 * AWS IAM as a {@link Target}, in the two modes a role can use (see `AwsIamAttachTargetRef` and
 * `AwsIamCredentialsTargetRef` in `core/model/targets.ts`).
 *
 * **Attach mode.** Each elevation gets its own customer-managed policy, `elevate-<elevationId>`
 * under the path `/elevate/`, attached to the bot's IAM role or user for the window and detached
 * and deleted when the window ends. The policy is the role's document with a
 * `DateLessThan: {"aws:CurrentTime": …}` condition added to every `Allow` statement, at the
 * window's end plus {@link EXPIRY_SLACK_SECONDS}: if Elevate cannot detach it in time (AWS
 * unreachable, Elevate down), AWS itself stops honouring it. Because the policy belongs to one
 * elevation, two elevations of the same bot and role never share a grant, and revoking one
 * leaves the other alone.
 *
 * **Credentials mode.** Nothing is attached to anything. {@link AwsIamTarget.issueCredentials}
 * assumes the role with STS for the window and returns temporary credentials, which the bot
 * receives once. AWS ends them at their expiration; there is no standing state for
 * `grant`/`revoke`/`check` to change or read, and the methods say so (see their comments).
 *
 * **Drift.** Bots hold no standing privilege, so anything attached to a bot's role or user
 * that is not the policy of a live elevation (or declared standing) is drift.
 * {@link AwsIamTarget.listAttachedPolicies} shows everything attached, managed and inline,
 * whoever put it there; {@link AwsIamTarget.detachPolicy} and
 * {@link AwsIamTarget.deleteInlinePolicy} take it away; {@link elevationIdOfPolicy} tells an
 * Elevate policy, and whose elevation it is, from the rest.
 *
 * **Tampering.** The policy's name is predictable, so someone else may create it first, or add a
 * version to it during the window. Elevate attaches a policy it did not just create only when it
 * is exactly the one Elevate would create (`policy-check.ts`), checks that again in the
 * read-back ({@link AwsIamTarget.check}), and otherwise refuses with {@link TargetTamperedError};
 * drift detection asks {@link AwsIamTarget.findTampering} about live elevations' policies.
 *
 * Permissions Elevate's own AWS identity needs. Attach mode: `iam:CreatePolicy`,
 * `iam:GetPolicy`, `iam:GetPolicyVersion`,
 * `iam:DeletePolicy`, `iam:ListPolicyVersions`, `iam:DeletePolicyVersion`, `iam:ListPolicies`,
 * `iam:ListEntitiesForPolicy`, `iam:Attach/Detach/ListAttachedRolePolicies` (and the `User`
 * forms for bots that are IAM users), `iam:GetRole`/`iam:GetUser`/`iam:GetGroup` (for
 * {@link AwsIamTarget.listMembers}); scope them to `policy/elevate/*` and the bots' roles and users.
 * Drift detection also needs, on the bots' roles and users: `iam:ListAttachedRolePolicies`/
 * `iam:ListAttachedUserPolicies` for every policy (they are called without a path prefix, so
 * that policies outside `/elevate/` show too), `iam:ListRolePolicies`/`iam:ListUserPolicies`,
 * `iam:DeleteRolePolicy`/`iam:DeleteUserPolicy`, and `iam:DetachRolePolicy`/
 * `iam:DetachUserPolicy` for any policy: an `iam:PolicyARN` condition limiting them to
 * `policy/elevate/*` makes removing other policies fail with {@link TargetAccessDeniedError}.
 * Credentials mode: `sts:AssumeRole` on the roles, whose trust policies must allow Elevate.
 *
 * Every call goes through the AWS SDK (v3) with its standard retries (three attempts) and with
 * connect and request timeouts, so no call can hang. Failures are turned into
 * {@link TargetError}s by {@link mapAwsError} alone.
 */
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  PutRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  type IAMClientConfig,
  paginateListAttachedRolePolicies,
  paginateListAttachedUserPolicies,
  paginateListEntitiesForPolicy,
  paginateListPolicies,
  paginateListPolicyVersions,
  paginateListRolePolicies,
  paginateListUserPolicies,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Logger } from 'pino';
import type { GrantContext, Target, TargetChange } from '../../core/ports/target.js';
import {
  TargetInvalidError,
  TargetNotVerifiedError,
  TargetTamperedError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import { expiryCondition, hasStatements, iamTime, policyText, statementsOf } from './policy-document.js';
import { documentProblem, versionProblem, type PolicyVersionInfo } from './policy-check.js';
import { isCode, mapAwsError, type AwsErrorContext, type AwsOperation } from './aws-errors.js';
import {
  DENY_PREFIX,
  INLINE_NAME,
  NAME_PREFIX,
  POLICY_ARN,
  POLICY_PATH,
  denyPolicyName,
  elevationIdOfPolicy,
  parsePrincipal,
  policyName,
  policyNameOf,
  policyPathOf,
  sessionName,
  type AwsPrincipal,
} from './naming.js';
import type { AwsIamAttachTargetRef, AwsIamCredentialsTargetRef } from '../../core/model/targets.js';

/** Either kind of AWS IAM reference. */
export type AwsIamTargetRef = AwsIamAttachTargetRef | AwsIamCredentialsTargetRef;

/**
 * AWS credentials for Elevate's own identity: fixed keys, or a provider the SDK calls (and
 * refreshes) itself. Left out, the SDK's default chain is used (environment, shared config,
 * container or instance role).
 */
export type AwsCredentials = NonNullable<IAMClientConfig['credentials']>;

/** Options of {@link AwsIamTarget}. */
export interface AwsIamTargetOptions {
  /** Region for the SDK (IAM is global; STS is called in this region). Default `AWS_REGION`, else `us-east-1`. */
  region?: string;
  /** Endpoint for both IAM and STS instead of AWS's own, e.g. a moto server in tests. */
  endpoint?: string;
  /** Elevate's own credentials; never appear in an error message or log line. */
  credentials?: AwsCredentials;
  /** Receives one line per change made (never credentials). */
  logger?: Logger;
  /** The time the expiry condition counts from (default: the system clock). */
  clock?: () => Date;
  /** How long to wait for a TCP (and TLS) connection (default 3000 ms). */
  connectTimeoutMs?: number;
  /** How long to wait for each response (default 10000 ms); each of the SDK's attempts gets this long. */
  timeoutMs?: number;
  /**
   * How many items to ask IAM for in each page of a list call (`MaxItems`, 1 to 1000; default
   * IAM's own, 100). Every list is read to its last page whatever the size; a small size only
   * means more calls.
   */
  listPageSize?: number;
}

/**
 * Added to the window in the expiry condition. The revocation runs when the window ends and
 * takes a moment; without slack the condition could cut the grant a few seconds early, and
 * clocks differ a little. A minute late is the worst case when Elevate cannot revoke at all.
 */
export const EXPIRY_SLACK_SECONDS = 60;

/** STS limits on `DurationSeconds` of AssumeRole: 15 minutes to 12 hours. */
export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;

/** A managed policy attached to a role or user, as {@link AwsIamTarget.listAttachedPolicies} lists it. */
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
 * The session length asked of STS for a window: the window clamped to what AssumeRole accepts.
 * A window under 15 minutes still gets 15-minute credentials, because STS refuses anything
 * shorter; the bot can use them for up to 15 minutes, and Elevate cannot take them back early.
 * Roles also have a `MaxSessionDuration` (1 hour unless raised), and STS refuses a longer
 * session (reported as {@link TargetInvalidError}).
 */
export function sessionDurationSeconds(windowSeconds: number): number {
  const s = Number.isFinite(windowSeconds) ? Math.ceil(windowSeconds) : 0;
  return Math.min(MAX_SESSION_SECONDS, Math.max(MIN_SESSION_SECONDS, s));
}

/** Temporary credentials from {@link AwsIamTarget.issueCredentials}. Secret: hand them to the bot only. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** When AWS stops accepting them (ISO 8601). */
  expiration: string;
  /** The `RoleSessionName`; it shows in CloudTrail as the end of the assumed-role ARN. */
  sessionName: string;
}

/** Orders strings by UTF-16 code units, as `Array.prototype.sort` does by default. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * {@link Target} for AWS IAM, in attach mode and credentials mode; see the module comment.
 *
 * In credentials mode the {@link Target} methods have nothing to act on, and are honest about
 * it: {@link AwsIamTarget.grant} changes nothing, {@link AwsIamTarget.check} answers false and
 * {@link AwsIamTarget.revoke} cannot end a session early. Callers issue credentials with
 * {@link AwsIamTarget.issueCredentials} and rely on their expiration.
 */
export class AwsIamTarget implements Target<AwsIamTargetRef> {
  private readonly iam: IAMClient;
  private readonly sts: STSClient;
  private readonly logger: Logger | undefined;
  private readonly clock: () => Date;
  private readonly secrets: string[];
  /** What every paginator gets: the client, and the page size if one was set. */
  private readonly pager: { client: IAMClient; pageSize?: number };
  private closed = false;

  constructor(options: AwsIamTargetOptions = {}) {
    const connectionTimeout = options.connectTimeoutMs ?? 3_000;
    const requestTimeout = options.timeoutMs ?? 10_000;
    if (!(connectionTimeout > 0 && requestTimeout > 0)) throw new Error('AWS timeouts must be positive');
    const pageSize = options.listPageSize;
    if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 1000)) {
      throw new Error('AWS listPageSize must be an integer from 1 to 1000');
    }
    const config = {
      region: options.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestHandler: { connectionTimeout, requestTimeout, throwOnRequestTimeout: true },
    };
    this.iam = new IAMClient(config);
    this.sts = new STSClient(config);
    this.pager = pageSize === undefined ? { client: this.iam } : { client: this.iam, pageSize };
    this.logger = options.logger;
    this.clock = options.clock ?? (() => new Date());
    const c = options.credentials;
    this.secrets =
      c && typeof c === 'object' ? [c.secretAccessKey, c.sessionToken ?? ''].filter((s) => s.length > 0) : [];
  }

  /**
   * Attach mode: creates the elevation's policy (the document with its expiry condition, at
   * now + window + {@link EXPIRY_SLACK_SECONDS}) and attaches it to `principal`;
   * `changed: false` if it was already attached. A policy left by an earlier attempt is reused
   * as it is, so its expiry counts from that first attempt: a retry can only end the grant
   * earlier, never later. A policy Elevate did not create in this call (left by an earlier
   * attempt, or already attached) is used only if it is exactly the one Elevate would create:
   * `v1` its only version, and its document the role's with an expiry no later than this one
   * (see `policy-check.ts`).
   *
   * Credentials mode: `changed: true` and nothing is done; nothing standing is granted (the
   * credentials come from {@link AwsIamTarget.issueCredentials}).
   *
   * @throws {TargetInvalidError} without `ctx` or with a window that is not positive, for a
   *   principal that is not a role or user ARN, a document that is not JSON or has no
   *   statements, or one IAM refuses.
   * @throws {TargetNotFoundError} when the role or user does not exist.
   * @throws {TargetTamperedError} when a policy under the elevation's name exists and is not
   *   the one Elevate would create; it is not attached (or, found attached, left for the
   *   revocation to take away).
   */
  async grant(ref: AwsIamTargetRef, principal: string, ctx?: GrantContext): Promise<TargetChange> {
    if (ref.mode === 'credentials') return { changed: true };
    const { p, name, arn, errCtx, elevationId, durationSeconds } = this.attachContext(
      'grant',
      principal,
      ctx,
    );
    // Checked before any call: a bad window or document fails at once, whatever state AWS is in.
    if (!(Number.isFinite(durationSeconds) && durationSeconds > 0)) {
      // Without a window the expiry condition would end the grant after the slack alone.
      throw new TargetInvalidError(
        `AWS attach mode needs the elevation's window to set the policy's expiry (got ${durationSeconds} s)`,
      );
    }
    const notAfter = new Date(this.clock().getTime() + (durationSeconds + EXPIRY_SLACK_SECONDS) * 1000);
    const document = expiryCondition(ref.policyDocument, notAfter);
    return this.run(errCtx, async () => {
      if (await this.isAttached(p, arn)) {
        // Attached by an earlier attempt, or by someone else: either way it must be Elevate's.
        await this.verifyPolicy(arn, principal, ref.policyDocument, notAfter);
        return { changed: false };
      }
      let created = false;
      try {
        await this.iam.send(
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
      if (!created) await this.verifyPolicy(arn, principal, ref.policyDocument, notAfter);
      try {
        await (p.kind === 'role'
          ? this.iam.send(new AttachRolePolicyCommand({ RoleName: p.name, PolicyArn: arn }))
          : this.iam.send(new AttachUserPolicyCommand({ UserName: p.name, PolicyArn: arn })));
      } catch (err) {
        const mapped = mapAwsError(err, { ...errCtx, operation: 'attach' });
        // A policy that can never be attached (quota reached, principal gone) is not left behind.
        if (!mapped.retryable) await this.deletePolicy(arn, errCtx).catch(() => undefined);
        throw mapped;
      }
      this.logger?.info(
        { principal, policy: arn, notAfter: iamTime(notAfter), reusedPolicy: !created },
        'AWS policy attached',
      );
      return { changed: true };
    });
  }

  /**
   * Attach mode: detaches the elevation's policy from `principal` and deletes it (its
   * non-default versions first, and any other attachment, which only tampering can have
   * made). `changed: false` if it was not attached; a policy or principal that no longer
   * exists is not an error.
   *
   * Credentials mode: `changed: false`. Issued credentials cannot be withdrawn one session at
   * a time; they stop working at their expiration (the window, at least 15 minutes).
   *
   * @throws {TargetInvalidError} without `ctx` or for a principal that is not a role or user ARN.
   */
  async revoke(ref: AwsIamTargetRef, principal: string, ctx?: GrantContext): Promise<TargetChange> {
    if (ref.mode === 'credentials') return { changed: false };
    const { p, arn, errCtx } = this.attachContext('revoke', principal, ctx);
    return this.run(errCtx, async () => {
      let changed = true;
      try {
        await (p.kind === 'role'
          ? this.iam.send(new DetachRolePolicyCommand({ RoleName: p.name, PolicyArn: arn }))
          : this.iam.send(new DetachUserPolicyCommand({ UserName: p.name, PolicyArn: arn })));
      } catch (err) {
        if (!isCode(err, 'NoSuchEntity')) throw err;
        changed = false;
      }
      await this.deletePolicy(arn, errCtx);
      if (changed) this.logger?.info({ principal, policy: arn }, 'AWS policy detached and deleted');
      return { changed };
    });
  }

  /**
   * Attach mode: whether the elevation's policy is attached to `principal` (false when the
   * principal does not exist). When it is attached and `ref` carries the role's document, the
   * policy is also checked to be the one Elevate makes (the read-back after a grant): a version
   * added or made default by someone else, or another document, throws
   * {@link TargetTamperedError}. Drift detection passes no document (`'{}'`) and asks
   * {@link AwsIamTarget.findTampering} separately.
   *
   * Credentials mode: always false. Elevate keeps nothing standing in AWS for an issued session,
   * so there is nothing to read back; whether credentials are live is a matter of their
   * expiration, which {@link AwsIamTarget.issueCredentials} returns. (Answering true would make a
   * revocation look like it never takes effect.)
   */
  async check(ref: AwsIamTargetRef, principal: string, ctx?: GrantContext): Promise<boolean> {
    if (ref.mode === 'credentials') return false;
    const { p, arn, errCtx, durationSeconds } = this.attachContext('check', principal, ctx);
    return this.run(errCtx, async () => {
      let attached: boolean;
      try {
        attached = await this.isAttached(p, arn);
      } catch (err) {
        if (isCode(err, 'NoSuchEntity')) return false;
        throw err;
      }
      if (attached && hasStatements(ref.policyDocument)) {
        // Any policy Elevate made for this window ends by now + window + slack.
        const window = Number.isFinite(durationSeconds) && durationSeconds > 0 ? durationSeconds : 0;
        const bound = new Date(this.clock().getTime() + (window + EXPIRY_SLACK_SECONDS) * 1000);
        await this.verifyPolicy(arn, principal, ref.policyDocument, bound);
      }
      return attached;
    });
  }

  /**
   * Whether the Elevate policy `policyArn` was changed by someone else since Elevate created
   * it: a sentence saying how (a version other than `v1`, or `v1` no longer the default), or
   * `undefined` when it has only `v1` as Elevate made it, or no longer exists. IAM versions
   * cannot be edited, and {@link AwsIamTarget.grant} checked `v1`'s document before attaching
   * it, so this needs no document; drift detection asks it about the policies of live
   * elevations, which the lease would otherwise explain.
   *
   * @throws {TargetInvalidError} for an ARN that is not an Elevate policy's.
   */
  async findTampering(policyArn: string): Promise<string | undefined> {
    if (elevationIdOfPolicy(policyArn) === undefined) {
      throw new TargetInvalidError(`${JSON.stringify(policyArn)} is not the ARN of an Elevate policy`);
    }
    return this.run(this.errorContext('inspect', undefined, policyArn), async () => {
      const read = await this.readPolicy(policyArn, false);
      return read && versionProblem(read.versions, read.defaultVersionId);
    });
  }

  /**
   * Attach mode: the ARNs of every role, user (and group, which Elevate never attaches to, so
   * one listed means tampering) that holds **any** policy under `/elevate/`, sorted. This is
   * the deployment-wide answer, not one per document: every attach-mode `ref` gets the same
   * list, since an elevation's policy is named after the elevation, not the role. Drift
   * detection compares it with the principals of all live attach-mode grants together.
   *
   * Credentials mode: `[]`; nothing standing holds a session.
   */
  async listMembers(ref: AwsIamTargetRef): Promise<string[]> {
    if (ref.mode === 'credentials') return [];
    const errCtx = this.errorContext('listMembers');
    return this.run(errCtx, async () => {
      const arns = new Set<string>();
      const pages = paginateListPolicies(this.pager, {
        Scope: 'Local',
        PathPrefix: POLICY_PATH,
        OnlyAttached: true,
      });
      for await (const page of pages) {
        for (const policy of page.Policies ?? []) {
          if (!policy.Arn || !policy.PolicyName?.startsWith(NAME_PREFIX)) continue;
          for (const holder of await this.holdersOf(policy.Arn)) arns.add(holder);
        }
      }
      return [...arns].sort();
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
    return this.run(this.errorContext('listAttached', principalArn), async () => {
      const managed: AttachedManagedPolicy[] = [];
      const inline: string[] = [];
      try {
        // No PathPrefix: drift can be any policy, not just one under /elevate/.
        const attached =
          p.kind === 'role'
            ? paginateListAttachedRolePolicies(this.pager, { RoleName: p.name })
            : paginateListAttachedUserPolicies(this.pager, { UserName: p.name });
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
            ? paginateListRolePolicies(this.pager, { RoleName: p.name })
            : paginateListUserPolicies(this.pager, { UserName: p.name });
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
   * unattached; {@link AwsIamTarget.revoke} with its elevation detaches and deletes it.
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
    return this.run(this.errorContext('detach', principalArn, policyArn), async () => {
      try {
        await (p.kind === 'role'
          ? this.iam.send(new DetachRolePolicyCommand({ RoleName: p.name, PolicyArn: policyArn }))
          : this.iam.send(new DetachUserPolicyCommand({ UserName: p.name, PolicyArn: policyArn })));
      } catch (err) {
        // IAM answers NoSuchEntity alike for a missing principal, policy or attachment.
        if (isCode(err, 'NoSuchEntity')) return { changed: false };
        throw err;
      }
      this.logger?.info({ principal: principalArn, policy: policyArn }, 'AWS policy detached');
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
    return this.run(this.errorContext('deleteInline', principalArn, policyName), async () => {
      try {
        await (p.kind === 'role'
          ? this.iam.send(new DeleteRolePolicyCommand({ RoleName: p.name, PolicyName: policyName }))
          : this.iam.send(new DeleteUserPolicyCommand({ UserName: p.name, PolicyName: policyName })));
      } catch (err) {
        if (isCode(err, 'NoSuchEntity')) return { changed: false };
        throw err;
      }
      this.logger?.info({ principal: principalArn, policy: policyName }, 'AWS inline policy deleted');
      return { changed: true };
    });
  }

  /**
   * Credentials mode: assumes `ref.roleArn` with STS for the window and returns the temporary
   * credentials, with `RoleSessionName` {@link sessionName}(elevationId), `DurationSeconds`
   * {@link sessionDurationSeconds}(window) (at least 15 minutes: a shorter window still gets
   * 15-minute credentials, STS's minimum) and `ref.sessionPolicy`, when set, as the session
   * policy that narrows the role. Each call issues a new, independent set; hand them to the bot
   * once. Nothing of them is logged but the session name and expiration.
   *
   * @throws {TargetInvalidError} for a `roleArn` that is not a role ARN, a session policy that
   *   is not JSON or has no statements, or a duration above the role's maximum.
   * @throws {TargetAccessDeniedError} when Elevate may not assume the role (AWS also answers
   *   this for a role that does not exist).
   */
  async issueCredentials(ref: AwsIamCredentialsTargetRef, ctx: GrantContext): Promise<IssuedCredentials> {
    const errCtx = this.errorContext('issueCredentials', ref.roleArn);
    const role = parsePrincipal(ref.roleArn);
    if (role.kind !== 'role') throw new TargetInvalidError(`${ref.roleArn} is not the ARN of an IAM role`);
    if (ref.sessionPolicy !== undefined) statementsOf(ref.sessionPolicy, 'the session policy');
    const name = sessionName(ctx.elevationId);
    const duration = sessionDurationSeconds(ctx.durationSeconds);
    return this.run(errCtx, async () => {
      const out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: ref.roleArn,
          RoleSessionName: name,
          DurationSeconds: duration,
          ...(ref.sessionPolicy !== undefined ? { Policy: ref.sessionPolicy } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
        throw new TargetInvalidError(
          `STS answered AssumeRole of ${ref.roleArn} without complete credentials`,
        );
      }
      const expiration = new Date(c.Expiration).toISOString();
      this.logger?.info(
        { role: ref.roleArn, sessionName: name, durationSeconds: duration, expiration },
        'AWS role assumed for the elevation',
      );
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration,
        sessionName: name,
      };
    });
  }

  /**
   * Credentials mode: cuts off a session before its expiration, for an elevation revoked early
   * after its bot received the credentials. STS cannot withdraw one session, so Elevate puts an
   * inline policy {@link denyPolicyName}(elevationId) on the assumed role that denies everything
   * to that session alone (`aws:userid` ends with `:<sessionName>`; the names are Elevate's own,
   * one per elevation), and reads it back. The denial carries its own end, the session's
   * expiration + {@link EXPIRY_SLACK_SECONDS}, after which it matches nothing; denials of
   * sessions that have expired are deleted from the role on the way (a role holds 10,240
   * characters of inline policies, about 30 such denials).
   *
   * `changed: false` when the session has already expired (nothing to cut off).
   *
   * Permissions: `iam:PutRolePolicy`, `iam:GetRolePolicy`, `iam:ListRolePolicies` and
   * `iam:DeleteRolePolicy` on the credentials-mode roles.
   */
  async revokeSession(
    ref: AwsIamCredentialsTargetRef,
    session: { sessionName: string; expiration: string },
    ctx: GrantContext,
  ): Promise<TargetChange> {
    const role = parsePrincipal(ref.roleArn);
    if (role.kind !== 'role') throw new TargetInvalidError(`${ref.roleArn} is not the ARN of an IAM role`);
    const expires = Date.parse(session.expiration);
    if (Number.isNaN(expires)) throw new TargetInvalidError('the session has no valid expiration');
    if (!/^[\w+=,.@-]{2,64}$/.test(session.sessionName)) {
      throw new TargetInvalidError(`${JSON.stringify(session.sessionName)} is not an STS session name`);
    }
    const now = this.clock().getTime();
    if (expires <= now) return { changed: false };
    const name = denyPolicyName(ctx.elevationId);
    const errCtx = this.errorContext('revokeSession', ref.roleArn, name);
    const document = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ElevateRevokedSession',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: {
            StringLike: { 'aws:userid': `*:${session.sessionName}` },
            DateLessThan: { 'aws:CurrentTime': iamTime(new Date(expires + EXPIRY_SLACK_SECONDS * 1000)) },
          },
        },
      ],
    });
    return this.run(errCtx, async () => {
      await this.purgeExpiredDenials(role.name, now);
      await this.iam.send(
        new PutRolePolicyCommand({ RoleName: role.name, PolicyName: name, PolicyDocument: document }),
      );
      const back = await this.iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: name }));
      if (!policyText(back.PolicyDocument).includes(`:${session.sessionName}`)) {
        throw new TargetNotVerifiedError(`the denial of session ${session.sessionName} did not read back`);
      }
      this.logger?.warn(
        { role: ref.roleArn, sessionName: session.sessionName, until: session.expiration, policy: name },
        'AWS session of a revoked elevation denied until it expires',
      );
      return { changed: true };
    });
  }

  /** Deletes the role's session denials whose end has passed (they match nothing any more). */
  private async purgeExpiredDenials(roleName: string, now: number): Promise<void> {
    const names: string[] = [];
    for await (const page of paginateListRolePolicies(this.pager, { RoleName: roleName })) {
      names.push(...(page.PolicyNames ?? []).filter((n) => n.startsWith(DENY_PREFIX)));
    }
    for (const PolicyName of names) {
      const got = await this.ignoreMissing(
        this.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName })),
      );
      const until = /"aws:CurrentTime"\s*:\s*"([^"]+)"/.exec(policyText(got?.PolicyDocument))?.[1];
      if (until && Date.parse(until) < now) {
        await this.ignoreMissing(
          this.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName })),
        );
      }
    }
  }

  /** Asks STS who Elevate is (`GetCallerIdentity`), proving both reachability and credentials. */
  async ping(): Promise<void> {
    await this.run(this.errorContext('ping'), async () => {
      await this.sts.send(new GetCallerIdentityCommand({}));
    });
  }

  /** Releases the SDK clients' connections; later calls fail with {@link TargetUnreachableError}. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.iam.destroy();
      this.sts.destroy();
    }
    return Promise.resolve();
  }

  private errorContext(operation: AwsOperation, principal?: string, policy?: string): AwsErrorContext {
    return { operation, principal, policy, secrets: this.secrets };
  }

  /** Everything attach mode needs, refusing a missing context or a malformed principal up front. */
  private attachContext(
    operation: AwsOperation,
    principal: string,
    ctx: GrantContext | undefined,
  ): GrantContext & { p: AwsPrincipal; name: string; arn: string; errCtx: AwsErrorContext } {
    if (!ctx) {
      throw new TargetInvalidError(`AWS attach mode needs the elevation (its policy is named after it)`);
    }
    const p = parsePrincipal(principal);
    const name = policyName(ctx.elevationId);
    // Managed policies can only be attached within their account, so the policy lives in the principal's.
    const arn = `arn:${p.partition}:iam::${p.account}:policy${POLICY_PATH}${name}`;
    return { ...ctx, p, name, arn, errCtx: this.errorContext(operation, principal, name) };
  }

  private async run<T>(ctx: AwsErrorContext, op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new TargetUnreachableError('the AWS IAM target is closed');
    try {
      return await op();
    } catch (err) {
      throw mapAwsError(err, ctx);
    }
  }

  /**
   * The policy's default version id and versions, and with `withDocument` the default version's
   * document; `undefined` when the policy does not exist.
   */
  private async readPolicy(
    policyArn: string,
    withDocument: boolean,
  ): Promise<{ defaultVersionId?: string; versions: PolicyVersionInfo[]; document?: string } | undefined> {
    const got = await this.ignoreMissing(this.iam.send(new GetPolicyCommand({ PolicyArn: policyArn })));
    if (!got?.Policy) return undefined;
    const defaultVersionId = got.Policy.DefaultVersionId;
    const versions: PolicyVersionInfo[] = [];
    for await (const page of paginateListPolicyVersions(this.pager, { PolicyArn: policyArn })) {
      for (const v of page.Versions ?? []) {
        if (v.VersionId) versions.push({ versionId: v.VersionId, isDefault: v.IsDefaultVersion === true });
      }
    }
    if (!withDocument || !defaultVersionId) return { defaultVersionId, versions };
    const version = await this.iam.send(
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
  private async verifyPolicy(
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
    this.logger?.error(
      { principal, policy: policyArn, problem },
      "AWS policy under Elevate's name is not Elevate's; refused",
    );
    throw new TargetTamperedError(
      `policy_tampered: ${policyArn} is not the policy Elevate makes for this elevation: ${problem}. ` +
        `Elevate refuses to grant it to ${principal} (the revocation that follows deletes it); ` +
        'look in CloudTrail for who called CreatePolicy, CreatePolicyVersion or SetDefaultPolicyVersion on it',
    );
  }

  /** Whether `policyArn` is among the `/elevate/` policies attached to the principal (all pages). */
  private async isAttached(p: AwsPrincipal, policyArn: string): Promise<boolean> {
    const input = { PathPrefix: POLICY_PATH };
    const pages =
      p.kind === 'role'
        ? paginateListAttachedRolePolicies(this.pager, { ...input, RoleName: p.name })
        : paginateListAttachedUserPolicies(this.pager, { ...input, UserName: p.name });
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
  private async deletePolicy(policyArn: string, errCtx: AwsErrorContext): Promise<void> {
    const attempt = async (): Promise<void> => {
      for await (const page of paginateListPolicyVersions(this.pager, { PolicyArn: policyArn })) {
        for (const v of page.Versions ?? []) {
          if (v.IsDefaultVersion || !v.VersionId) continue;
          await this.ignoreMissing(
            this.iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: v.VersionId })),
          );
        }
      }
      await this.iam.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
    };
    try {
      await attempt();
    } catch (err) {
      if (isCode(err, 'NoSuchEntity')) return;
      if (!isCode(err, 'DeleteConflict')) throw err;
      await this.detachEverywhere(policyArn, errCtx);
      await this.ignoreMissing(attempt());
    }
  }

  /** Detaches the policy from every role, user and group IAM lists for it. */
  private async detachEverywhere(policyArn: string, errCtx: AwsErrorContext): Promise<void> {
    const { roles, users, groups } = await this.entitiesOf(policyArn);
    if (roles.length + users.length + groups.length > 0) {
      this.logger?.warn(
        { policy: policyArn, principal: errCtx.principal, roles, users, groups },
        'AWS policy of an elevation was attached elsewhere; detaching it everywhere',
      );
    }
    for (const RoleName of roles) {
      await this.ignoreMissing(
        this.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: policyArn })),
      );
    }
    for (const UserName of users) {
      await this.ignoreMissing(
        this.iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn: policyArn })),
      );
    }
    for (const GroupName of groups) {
      await this.ignoreMissing(
        this.iam.send(new DetachGroupPolicyCommand({ GroupName, PolicyArn: policyArn })),
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
      for await (const page of paginateListEntitiesForPolicy(this.pager, { PolicyArn: policyArn })) {
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
  private async holdersOf(policyArn: string): Promise<string[]> {
    const { roles, users, groups } = await this.entitiesOf(policyArn);
    const lookups = [
      ...roles.map((RoleName) =>
        this.ignoreMissing(this.iam.send(new GetRoleCommand({ RoleName }))).then((o) => o?.Role?.Arn),
      ),
      ...users.map((UserName) =>
        this.ignoreMissing(this.iam.send(new GetUserCommand({ UserName }))).then((o) => o?.User?.Arn),
      ),
      ...groups.map((GroupName) =>
        this.ignoreMissing(this.iam.send(new GetGroupCommand({ GroupName, MaxItems: 1 }))).then(
          (o) => o?.Group?.Arn,
        ),
      ),
    ];
    return (await Promise.all(lookups)).filter((a): a is string => typeof a === 'string');
  }

  /** `undefined` instead of a `NoSuchEntity` failure. */
  private async ignoreMissing<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (err) {
      if (isCode(err, 'NoSuchEntity')) return undefined;
      throw err;
    }
  }
}
