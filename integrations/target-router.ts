/**
 * Every configured target behind one {@link Target}: a change is routed by the reference's
 * `type` (and, for PostgreSQL, its `server`) to the target that owns it. A reference to a
 * target that is not configured fails as {@link TargetInvalidError}: the policy check refuses
 * such roles at start, so meeting one here means the configuration changed under a running
 * elevation, which retrying cannot fix.
 */
import type { TargetRef } from '../core/model/targets.js';
import { TargetInvalidError } from '../core/errors/target-errors.js';
import type { GrantContext, Target, TargetChange } from '../core/ports/target.js';

type RefOf<T extends TargetRef['type']> = Extract<TargetRef, { type: T }>;

/** The targets of one deployment, by type (PostgreSQL by server id). */
export interface TargetSet {
  ldap?: Target<RefOf<'ldap'>>;
  postgres?: Record<string, Target<RefOf<'postgres'>>>;
  awsIam?: Target<RefOf<'aws-iam'>>;
}

export class TargetRouter implements Target {
  constructor(private readonly targets: TargetSet) {}

  grant(ref: TargetRef, principal: string, ctx?: GrantContext): Promise<TargetChange> {
    return this.route(ref).grant(ref, principal, ctx);
  }

  revoke(ref: TargetRef, principal: string, ctx?: GrantContext): Promise<TargetChange> {
    return this.route(ref).revoke(ref, principal, ctx);
  }

  check(ref: TargetRef, principal: string, ctx?: GrantContext): Promise<boolean> {
    return this.route(ref).check(ref, principal, ctx);
  }

  listMembers(ref: TargetRef): Promise<string[]> {
    return this.route(ref).listMembers(ref);
  }

  /** Every configured target answers. */
  async ping(): Promise<void> {
    await Promise.all(this.all().map((t) => t.ping()));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all().map((t) => t.close()));
  }

  private all(): Target<never>[] {
    const { ldap, postgres, awsIam } = this.targets;
    return [
      ...(ldap ? [ldap] : []),
      ...Object.values(postgres ?? {}),
      ...(awsIam ? [awsIam] : []),
    ] as Target<never>[];
  }

  /** The target for `ref`, typed loosely: each target only ever receives references of its own type. */
  private route(ref: TargetRef): Target {
    let target: Target<never> | undefined;
    switch (ref.type) {
      case 'ldap':
        target = this.targets.ldap;
        break;
      case 'postgres':
        target = this.targets.postgres?.[ref.server];
        break;
      case 'aws-iam':
        target = this.targets.awsIam;
        break;
    }
    if (!target) {
      const name = ref.type === 'postgres' ? `PostgreSQL server "${ref.server}"` : `${ref.type} target`;
      throw new TargetInvalidError(`no ${name} is configured in this process`);
    }
    return target;
  }
}
