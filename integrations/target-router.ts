/**
 * Every configured target behind one {@link Target}: a change is routed by the reference's
 * `type` (and `mode` for AWS, `server` for PostgreSQL) to the target that owns it, and a
 * revocation or read-back by its handle's `type` (and `server`). A reference or handle
 * to a target that is not configured fails as {@link TargetInvalidError}: the policy check
 * refuses such roles at start, so meeting one here means the configuration changed under a
 * running elevation, which retrying cannot fix.
 *
 * This is where a new kind of target is registered: a field in {@link TargetSet} and a case in
 * {@link TargetRouter.route} and {@link TargetRouter.routeHandle} (see docs/architecture.md,
 * "Targets").
 */
import type { GrantHandle, TargetRef } from '../core/model/targets.js';
import { TargetInvalidError } from '../core/errors/target-errors.js';
import type { ReconcileAwsPrincipal, RoleReconciliation } from '../core/model/reconcile.js';
import type {
  DriftHooks,
  ExtendChange,
  GrantChange,
  GrantContext,
  RevokeChange,
  Target,
} from '../core/ports/target.js';

type RefOf<T extends TargetRef['type']> = Extract<TargetRef, { type: T }>;
type AwsRefOf<M extends RefOf<'aws-iam'>['mode']> = Extract<RefOf<'aws-iam'>, { mode: M }>;
type HandleOf<T extends GrantHandle['type']> = Extract<GrantHandle, { type: T }>;

/** The targets of one deployment, by kind (PostgreSQL by server id). */
export interface TargetSet {
  ldap?: Target<RefOf<'ldap'>, HandleOf<'ldap'>>;
  postgres?: Record<string, Target<RefOf<'postgres'>, HandleOf<'postgres'>>>;
  /** `aws-iam-attach`: a policy per elevation, attached to the bot's role or user. */
  awsIamAttach?: Target<AwsRefOf<'attach'>, HandleOf<'aws-iam-attach'>>;
  /** `aws-sts-credentials`: temporary credentials per elevation, handed to the bot once. */
  awsStsCredentials?: Target<AwsRefOf<'credentials'>, HandleOf<'aws-sts-credentials'>>;
}

export class TargetRouter implements Target {
  constructor(private readonly targets: TargetSet) {}

  grant(ref: TargetRef, principal: string, ctx?: GrantContext): Promise<GrantChange> {
    return this.route(ref).grant(ref, principal, ctx);
  }

  /** Routed by the handle's `type`; a handle no configured target made is refused (rejected). */
  async revoke(handle: GrantHandle): Promise<RevokeChange> {
    return this.routeHandle(handle).revoke(handle);
  }

  /**
   * Each target gets its own handles, at once where it can take many ({@link Target.revokeMany})
   * and one by one otherwise; one answer per handle, in order.
   */
  async revokeMany(handles: GrantHandle[]): Promise<(RevokeChange | Error)[]> {
    const results: (RevokeChange | Error)[] = new Array<RevokeChange | Error>(handles.length);
    const byTarget = new Map<Target, number[]>();
    handles.forEach((handle, i) => {
      try {
        const target = this.routeHandle(handle);
        byTarget.set(target, [...(byTarget.get(target) ?? []), i]);
      } catch (err) {
        results[i] = err as Error;
      }
    });
    await Promise.all(
      [...byTarget].map(async ([target, indices]) => {
        const mine = indices.map((i) => handles[i]!);
        const changes = target.revokeMany
          ? await target.revokeMany(mine).catch((err: Error) => mine.map(() => err))
          : await Promise.all(mine.map((h) => target.revoke(h).catch((err: Error) => err)));
        indices.forEach((i, j) => (results[i] = changes[j]!));
      }),
    );
    return results;
  }

  async check(handle: GrantHandle, version?: string): Promise<boolean> {
    return this.routeHandle(handle).check(handle, version);
  }

  /**
   * Routed by the handle, as {@link revoke}; the reference must be of the same kind (the handle
   * is the grant, the reference only says what it was made from). A target without
   * {@link Target.extend} has nothing to move: `changed: false`.
   */
  async extend(ref: TargetRef, handle: GrantHandle, expiresAt: Date): Promise<ExtendChange> {
    const target = this.routeHandle(handle);
    if (this.route(ref) !== target) {
      throw new TargetInvalidError(
        `the grant's handle (${handle.type}) is not of the role's target (${ref.type})`,
      );
    }
    return target.extend ? target.extend(ref, handle, expiresAt) : { changed: false };
  }

  handleFor(ref: TargetRef, principal: string, elevationId: string): GrantHandle {
    return this.route(ref).handleFor(ref, principal, elevationId);
  }

  listMembers(ref: TargetRef): Promise<string[]> {
    return this.route(ref).listMembers(ref);
  }

  membershipKey(ref: TargetRef, principal: string, elevationId: string): string {
    return this.route(ref).membershipKey(ref, principal, elevationId);
  }

  unreconciledReason(ref: TargetRef): string | undefined {
    return this.route(ref).unreconciledReason?.(ref);
  }

  /**
   * Bot principals are reconciled by the target whose grants are not role memberships: AWS
   * attach mode (the unit is a bot's IAM role or user).
   */
  reconcilePrincipal(unit: ReconcileAwsPrincipal, hooks: DriftHooks): Promise<RoleReconciliation> {
    const target = this.targets.awsIamAttach;
    if (!target?.reconcilePrincipal) {
      throw new TargetInvalidError('no AWS IAM target is configured in this worker');
    }
    return target.reconcilePrincipal(unit, hooks);
  }

  /** Every configured target answers. */
  async ping(): Promise<void> {
    await Promise.all(this.all().map((t) => t.ping()));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all().map((t) => t.close()));
  }

  private all(): Target<never, GrantHandle>[] {
    const { ldap, postgres, awsIamAttach, awsStsCredentials } = this.targets;
    const all: (Target<never, GrantHandle> | undefined)[] = [
      ldap,
      ...Object.values(postgres ?? {}),
      awsIamAttach,
      awsStsCredentials,
    ];
    return all.filter((t) => t !== undefined);
  }

  /** The target for `ref`, typed loosely: each target only ever receives references of its own type. */
  private route(ref: TargetRef): Target {
    let target: Target<never, GrantHandle> | undefined;
    let name: string;
    switch (ref.type) {
      case 'ldap':
        target = this.targets.ldap;
        name = 'ldap target';
        break;
      case 'postgres':
        target = this.targets.postgres?.[ref.server];
        name = `PostgreSQL server "${ref.server}"`;
        break;
      case 'aws-iam':
        target = ref.mode === 'attach' ? this.targets.awsIamAttach : this.targets.awsStsCredentials;
        name = `aws-iam target (${ref.mode} mode)`;
        break;
    }
    if (!target) throw new TargetInvalidError(`no ${name} is configured in this process`);
    return target;
  }

  /**
   * The target that made `handle`, typed loosely as in {@link route}. The handle comes from
   * stored JSON: only its `type` (and `server`) is read here; the target checks the rest.
   */
  private routeHandle(handle: GrantHandle): Target {
    const h: unknown = handle;
    const type = typeof h === 'object' && h !== null ? (h as { type?: unknown }).type : undefined;
    let target: Target<never, GrantHandle> | undefined;
    let name: string;
    switch (type) {
      case 'ldap':
        target = this.targets.ldap;
        name = 'ldap target';
        break;
      case 'postgres': {
        const server = String((h as { server?: unknown }).server);
        target = Object.hasOwn(this.targets.postgres ?? {}, server)
          ? this.targets.postgres?.[server]
          : undefined;
        name = `PostgreSQL server "${server}"`;
        break;
      }
      case 'aws-iam-attach':
        target = this.targets.awsIamAttach;
        name = 'aws-iam target (attach mode)';
        break;
      case 'aws-sts-credentials':
        target = this.targets.awsStsCredentials;
        name = 'aws-iam target (credentials mode)';
        break;
      default:
        throw new TargetInvalidError(`${JSON.stringify(h)} is not the handle of a grant`);
    }
    if (!target) throw new TargetInvalidError(`no ${name} is configured in this process`);
    return target;
  }
}
