/**
 * AWS IAM in credentials mode as a {@link Target} (`aws-sts-credentials`; roles say
 * `type: aws-iam`, `mode: credentials`, see `AwsIamCredentialsTargetRef` in
 * `core/model/targets.ts`).
 *
 * Nothing is attached to anything. Granting assumes the role with STS for the window
 * ({@link AwsStsCredentialsTarget.issueCredentials}) and leaves the temporary credentials in the
 * {@link CredentialHandoff} (the credentials vault), which gives them to the bot once. Revoking
 * closes the hand-off: credentials not yet delivered are destroyed, and delivered ones that would
 * stay valid are cut off by denying the session in AWS
 * ({@link AwsStsCredentialsTarget.revokeSession}). Both confirm themselves: there is no standing
 * membership to read back, and nothing for drift detection to list. A grant's handle names the
 * role, the session and the elevation (whose hand-off and denial the revocation closes).
 *
 * Permissions: `sts:AssumeRole` on the roles, whose trust policies must allow Elevate, and
 * `iam:PutRolePolicy`, `iam:GetRolePolicy`, `iam:ListRolePolicies` and `iam:DeleteRolePolicy`
 * on them for the denials.
 */
import {
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  PutRolePolicyCommand,
  paginateListRolePolicies,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { z } from 'zod';
import type {
  GrantChange,
  GrantContext,
  RevokeChange,
  Target,
  TargetChange,
} from '../../core/ports/target.js';
import type { CredentialHandoff } from '../../core/ports/credential-handoff.js';
import type { AwsIamCredentialsTargetRef, AwsStsCredentialsGrantHandle } from '../../core/model/targets.js';
import { TargetInvalidError, TargetNotVerifiedError } from '../../core/errors/target-errors.js';
import { DENY_PREFIX, denyPolicyName, sessionName } from '../../core/crypto/aws-names.js';
import { readGrantHandle } from '../../core/rules/grant-handle.js';
import { iamTime, policyText, statementsOf } from './policy-document.js';
import { awsMembershipKey, parsePrincipal } from './naming.js';
import { AwsConnection, EXPIRY_SLACK_SECONDS, type AwsTargetOptions } from './aws-client.js';

/** STS limits on `DurationSeconds` of AssumeRole: 15 minutes to 12 hours. */
export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;

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

/** Temporary credentials from {@link AwsStsCredentialsTarget.issueCredentials}. Secret: hand them to the bot only. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** When AWS stops accepting them (ISO 8601). */
  expiration: string;
  /** The `RoleSessionName`; it shows in CloudTrail as the end of the assumed-role ARN. */
  sessionName: string;
}

/** Seconds of validity under which a delivered session is left to expire rather than denied. */
const DENY_THRESHOLD_SECONDS = 5;

/** Options of {@link AwsStsCredentialsTarget}. */
export interface AwsStsCredentialsTargetOptions extends AwsTargetOptions {
  /** Where issued credentials wait for their bot; without it, grants and revocations are refused. */
  handoff?: CredentialHandoff;
}

/** A credentials-mode grant's handle ({@link AwsStsCredentialsGrantHandle}) as stored JSON must read. */
const handleSchema: z.ZodType<AwsStsCredentialsGrantHandle> = z.object({
  type: z.literal('aws-sts-credentials'),
  roleArn: z.string(),
  sessionName: z.string(),
  elevationId: z.string().min(1),
});

/** {@link Target} for AWS IAM in credentials mode; see the module comment. */
export class AwsStsCredentialsTarget implements Target<
  AwsIamCredentialsTargetRef,
  AwsStsCredentialsGrantHandle
> {
  private readonly aws: AwsConnection;
  private readonly handoff: CredentialHandoff | undefined;

  /** @throws {Error} for timeouts that are not positive or a page size out of range. */
  constructor(options: AwsStsCredentialsTargetOptions = {}) {
    const { handoff, ...connection } = options;
    this.aws = new AwsConnection(connection);
    this.handoff = handoff;
  }

  /**
   * Issues the elevation's session once (a retry reuses the first deposit) and leaves it,
   * encrypted, for the bot: `changed: true`, confirmed, with the session's name and expiry.
   *
   * @throws {TargetInvalidError} without `ctx`, or without a hand-off to leave credentials in.
   * @throws whatever the hand-off throws when it was closed before anything was issued (the
   *   elevation was revoked first).
   */
  async grant(
    ref: AwsIamCredentialsTargetRef,
    principal: string,
    ctx?: GrantContext,
  ): Promise<GrantChange<AwsStsCredentialsGrantHandle>> {
    const handoff = this.requireHandoff();
    const c = requireContext(ctx);
    const session = await handoff.issueOnce(c.elevationId, () => this.issueCredentials(ref, c));
    const handle = { ...this.handleFor(ref, principal, c.elevationId), sessionName: session.sessionName };
    return { changed: true, confirmed: true, session, handle };
  }

  /**
   * The role, session and elevation a grant of `ref` for `elevationId` names.
   *
   * @throws {TargetInvalidError} without an elevation (the session is named after it).
   */
  handleFor(
    ref: AwsIamCredentialsTargetRef,
    _principal: string,
    elevationId: string,
  ): AwsStsCredentialsGrantHandle {
    requireContext(elevationId ? { elevationId, durationSeconds: 0 } : undefined);
    return {
      type: 'aws-sts-credentials',
      roleArn: ref.roleArn,
      sessionName: sessionName(elevationId),
      elevationId,
    };
  }

  /**
   * Closes the handle's hand-off: credentials the bot has not fetched are destroyed; delivered
   * ones that stay valid more than a few seconds are cut off by denying the session in AWS
   * (read back). Confirmed, with what became of the session; `changed: false` when none was
   * issued.
   *
   * @throws {TargetInvalidError} for a malformed handle, or without a hand-off.
   */
  async revoke(handle: AwsStsCredentialsGrantHandle): Promise<RevokeChange> {
    const handoff = this.requireHandoff();
    const { roleArn, elevationId } = readGrantHandle(handleSchema, handle, 'AWS credentials-mode');
    const { session, delivered } = await handoff.withdraw(elevationId);
    let denied = false;
    if (session && delivered) {
      const left = (new Date(session.expiration).getTime() - this.aws.clock().getTime()) / 1000;
      if (left > DENY_THRESHOLD_SECONDS) {
        await this.revokeSession({ roleArn }, session, { elevationId, durationSeconds: 0 });
        denied = true;
      }
    }
    return {
      changed: session !== undefined,
      confirmed: true,
      ...(session ? { session: { ...session, delivered, denied } } : {}),
    };
  }

  /**
   * Always false: Elevate keeps nothing standing in AWS for an issued session, so there is
   * nothing to read back (grant and revoke confirm themselves); whether credentials are live is
   * a matter of their expiration. Answering true would make a revocation look like it never
   * takes effect.
   */
  check(handle: AwsStsCredentialsGrantHandle): Promise<boolean> {
    // A malformed handle is refused as the other targets refuse it: by a rejected promise.
    return Promise.resolve().then(() => {
      readGrantHandle(handleSchema, handle, 'AWS credentials-mode');
      return false;
    });
  }

  /** `[]`: nothing standing holds a session. */
  listMembers(_ref?: AwsIamCredentialsTargetRef): Promise<string[]> {
    return Promise.resolve([]);
  }

  /** The elevation's own session: `aws-iam|credentials|<principal>|<elevationId>`. */
  membershipKey(_ref: AwsIamCredentialsTargetRef, principal: string, elevationId: string): string {
    return awsMembershipKey('credentials', principal, elevationId);
  }

  /** Sessions are per elevation and nothing standing exists to list. */
  unreconciledReason(_ref?: AwsIamCredentialsTargetRef): string {
    return 'AWS IAM roles are reconciled per bot principal';
  }

  /**
   * Assumes `ref.roleArn` with STS for the window and returns the temporary
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
    const errCtx = this.aws.errorContext('issueCredentials', ref.roleArn);
    const role = parsePrincipal(ref.roleArn);
    if (role.kind !== 'role') throw new TargetInvalidError(`${ref.roleArn} is not the ARN of an IAM role`);
    if (ref.sessionPolicy !== undefined) statementsOf(ref.sessionPolicy, 'the session policy');
    const name = sessionName(ctx.elevationId);
    const duration = sessionDurationSeconds(ctx.durationSeconds);
    return this.aws.run(errCtx, async () => {
      const out = await this.aws.sts.send(
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
      this.aws.logger?.info(
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
   * Cuts off a session before its expiration, for an elevation revoked early
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
    ref: Pick<AwsIamCredentialsTargetRef, 'roleArn'>,
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
    const now = this.aws.clock().getTime();
    if (expires <= now) return { changed: false };
    const name = denyPolicyName(ctx.elevationId);
    const errCtx = this.aws.errorContext('revokeSession', ref.roleArn, name);
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
    return this.aws.run(errCtx, async () => {
      await this.purgeExpiredDenials(role.name, now);
      await this.aws.iam.send(
        new PutRolePolicyCommand({ RoleName: role.name, PolicyName: name, PolicyDocument: document }),
      );
      const back = await this.aws.iam.send(
        new GetRolePolicyCommand({ RoleName: role.name, PolicyName: name }),
      );
      if (!policyText(back.PolicyDocument).includes(`:${session.sessionName}`)) {
        throw new TargetNotVerifiedError(`the denial of session ${session.sessionName} did not read back`);
      }
      this.aws.logger?.warn(
        { role: ref.roleArn, sessionName: session.sessionName, until: session.expiration, policy: name },
        'AWS session of a revoked elevation denied until it expires',
      );
      return { changed: true };
    });
  }

  /** Deletes the role's session denials whose end has passed (they match nothing any more). */
  private async purgeExpiredDenials(roleName: string, now: number): Promise<void> {
    const names: string[] = [];
    for await (const page of paginateListRolePolicies(this.aws.pager, { RoleName: roleName })) {
      names.push(...(page.PolicyNames ?? []).filter((n) => n.startsWith(DENY_PREFIX)));
    }
    for (const PolicyName of names) {
      const got = await this.aws.ignoreMissing(
        this.aws.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName })),
      );
      const until = /"aws:CurrentTime"\s*:\s*"([^"]+)"/.exec(policyText(got?.PolicyDocument))?.[1];
      if (until && Date.parse(until) < now) {
        await this.aws.ignoreMissing(
          this.aws.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName })),
        );
      }
    }
  }

  /** Asks STS who Elevate is (`GetCallerIdentity`), proving both reachability and credentials. */
  ping(): Promise<void> {
    return this.aws.ping();
  }

  /** Releases the SDK clients' connections; later calls fail with `TargetUnreachableError`. */
  close(): Promise<void> {
    return this.aws.close();
  }

  private requireHandoff(): CredentialHandoff {
    if (!this.handoff) {
      throw new TargetInvalidError(
        'AWS credentials mode is not set up in this worker (ELEVATE_CREDENTIALS_KEY is missing)',
      );
    }
    return this.handoff;
  }
}

/** The elevation the session is named after, refused when missing. */
function requireContext(ctx: GrantContext | undefined): GrantContext {
  if (!ctx)
    throw new TargetInvalidError('AWS credentials mode needs the elevation (its session is named after it)');
  return ctx;
}
