/**
 * One bot, one identity: when two names are the same identity in a target, and which target
 * identities a grant puts to use. The policy loader (`config/identity-uniqueness.ts`) and drift
 * detection (`activities/shared-identities.ts`) both compare through this module, so a policy
 * the loader accepts is never one that drift would call shared, and the other way round.
 *
 * Equal means equal as the target itself decides:
 * - **LDAP**: DNs in canonical form (`normalizeDn`: types and values case-folded, spaces
 *   around separators dropped, multi-valued RDNs sorted), so `UID=CI, ou=Bots,dc=example,dc=org`
 *   is `uid=ci,ou=bots,dc=example,dc=org`.
 * - **PostgreSQL**: byte for byte. PostgreSQL folds only *unquoted* identifiers to lower case,
 *   and Elevate always sends a login as a quoted identifier (and binds it as a parameter in
 *   reads), so `ETL` and `etl` are two different roles to the server and are two identities here.
 *   Servers are not compared: two server ids may be the same cluster, so one login name is one
 *   identity wherever it is used.
 * - **AWS IAM**: a role or user is the partition, the account, the kind and the *name*. IAM
 *   names are unique within an account whatever their path and are not distinguished by case,
 *   so `role/CI` and `role/bots/ci` in one account are one role. A role and a user may share a
 *   name and stay two principals.
 */
import type { IdentityKind, ReconcileIdentity, SharedIdentity } from '../model/reconcile.js';
import type { TargetRef } from '../model/targets.js';
import { normalizeDn } from './dn.js';

/** What each kind of identity is called in messages. */
export const IDENTITY_WORDS: Readonly<Record<IdentityKind, string>> = {
  ldap: 'LDAP entry',
  postgres: 'PostgreSQL login',
  aws: 'AWS IAM principal',
};

/** How each kind of identity is compared, for messages ("…, compared …"). */
export const IDENTITY_COMPARISON: Readonly<Record<IdentityKind, string>> = {
  ldap: 'DNs are compared normalised',
  postgres: 'logins are compared exactly, as Elevate quotes them, on every server',
  aws: 'IAM names are compared case-insensitively and without their path',
};

/** An IAM role or user ARN: partition, account, kind, optional path, name. */
const IAM_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,128})$/;

/**
 * The canonical form of an IAM role or user ARN: `arn:<partition>:iam::<account>:<kind>/<name>`
 * with the path dropped and the name lower-cased (see the module comment). Anything that is not
 * such an ARN (the `bot:<id>` label of a credentials-mode bot without `awsPrincipal`) is kept as
 * it is: it names nothing in IAM, so only itself can equal it.
 *
 * @example canonicalAwsPrincipal('arn:aws:iam::123456789012:role/bots/CI') // 'arn:aws:iam::123456789012:role/ci'
 */
export function canonicalAwsPrincipal(arn: string): string {
  const m = IAM_ARN.exec(arn);
  if (!m) return arn;
  const [, partition, account, kind, name = ''] = m;
  return `arn:${partition}:iam::${account}:${kind}/${name.toLowerCase()}`;
}

/**
 * The canonical form of `value` as an identity of `kind` (see the module comment). A DN that
 * does not parse is kept as written: the policy refuses such DNs, and a member a directory
 * returns that does not parse can only equal itself.
 */
export function canonicalIdentity(kind: IdentityKind, value: string): string {
  switch (kind) {
    case 'ldap':
      try {
        return normalizeDn(value);
      } catch {
        return value;
      }
    case 'postgres':
      return value;
    case 'aws':
      return canonicalAwsPrincipal(value);
  }
}

/** One key per identity, across kinds: `<kind>:<canonical form>`. */
export function identityKey(kind: IdentityKind, value: string): string {
  return `${kind}:${canonicalIdentity(kind, value)}`;
}

/** A target identity that a grant puts to use. */
export interface IdentityUse {
  kind: IdentityKind;
  /** As written in the grant. */
  value: string;
  /**
   * True when several bots may use it at once by design: a PostgreSQL role granted to bots'
   * logins, an IAM role assumed in credentials mode (each session is named after its elevation).
   * Such a use is shared identity only when the identity is also one bot's own.
   */
  common: boolean;
}

/**
 * The identities a grant of `target` to `principal` uses: the bot's own (`principal`), and,
 * where the target is itself something a bot can be, the target too. Granting PostgreSQL role
 * `r` lets the login act as `r` (`SET ROLE`, inheritance), and credentials mode hands out
 * sessions of `roleArn`: if `r` or `roleArn` is another bot's identity, the grantee acts as that
 * bot.
 */
export function identitiesOfGrant(target: TargetRef, principal: string): IdentityUse[] {
  switch (target.type) {
    case 'ldap':
      return [{ kind: 'ldap', value: principal, common: false }];
    case 'postgres':
      return [
        { kind: 'postgres', value: principal, common: false },
        { kind: 'postgres', value: target.role, common: true },
      ];
    case 'aws-iam':
      return target.mode === 'attach'
        ? [{ kind: 'aws', value: principal, common: false }]
        : [
            { kind: 'aws', value: principal, common: false },
            { kind: 'aws', value: target.roleArn, common: true },
          ];
  }
}

/** A held grant, as drift detection reads it: which bot's elevation uses which identity. */
export interface IdentityHolding {
  botId: string;
  elevationId: string;
  use: IdentityUse;
}

/**
 * The identities used by more than one bot: for each identity, the bots the policy gives it to
 * (`owners`) and the bots whose live elevations use it as their own are its holders; it is
 * shared when it has holders and, counting the bots that use it in common (see
 * {@link IdentityUse.common}), more than one bot. So two bots' elevations granted to one login,
 * an old elevation of bot A on what the policy now calls bot B's entry, and a credentials-mode
 * role that is also one bot's `awsPrincipal` assumed by another bot are shared; many bots
 * assuming one credentials-mode role that is nobody's own are not.
 *
 * Results are ordered by identity key, bots by id, so the same state gives the same report.
 */
export function sharedIdentitiesOf(
  owners: readonly ReconcileIdentity[],
  holdings: readonly IdentityHolding[],
): SharedIdentity[] {
  interface Entry {
    kind: IdentityKind;
    canonical: string;
    written: Set<string>;
    holders: Set<string>;
    bots: Map<string, { owner: boolean; elevations: Set<string> }>;
  }
  const entries = new Map<string, Entry>();
  const entryOf = (kind: IdentityKind, value: string): Entry => {
    const key = identityKey(kind, value);
    let entry = entries.get(key);
    if (!entry) {
      entry = {
        kind,
        canonical: canonicalIdentity(kind, value),
        written: new Set(),
        holders: new Set(),
        bots: new Map(),
      };
      entries.set(key, entry);
    }
    entry.written.add(value);
    return entry;
  };
  const botIn = (entry: Entry, botId: string) => {
    let bot = entry.bots.get(botId);
    if (!bot) {
      bot = { owner: false, elevations: new Set() };
      entry.bots.set(botId, bot);
    }
    return bot;
  };
  for (const o of owners) {
    const entry = entryOf(o.kind, o.principal);
    entry.holders.add(o.botId);
    botIn(entry, o.botId).owner = true;
  }
  for (const h of holdings) {
    const entry = entryOf(h.use.kind, h.use.value);
    if (!h.use.common) entry.holders.add(h.botId);
    botIn(entry, h.botId).elevations.add(h.elevationId);
  }
  return [...entries.entries()]
    .filter(([, e]) => e.holders.size > 0 && e.bots.size > 1)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => ({
      kind: e.kind,
      identity: e.canonical,
      principals: [...e.written].sort(),
      bots: [...e.bots.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([botId, b]) => ({ botId, owner: b.owner, elevations: [...b.elevations].sort() })),
    }));
}

/**
 * The sentence a shared identity is reported with: "LDAP entry uid=ci,… is used by bot a (the
 * policy's, elevations el_1) and bot b (elevation el_2)".
 */
export function describeSharedIdentity(shared: SharedIdentity): string {
  const bots = shared.bots.map((b) => {
    const parts = [
      b.owner ? "the policy's" : undefined,
      b.elevations.length > 0
        ? `elevation${b.elevations.length > 1 ? 's' : ''} ${b.elevations.join(', ')}`
        : undefined,
    ].filter(Boolean);
    return `bot ${b.botId}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
  });
  const list = bots.length > 1 ? `${bots.slice(0, -1).join(', ')} and ${bots.at(-1)}` : bots.join('');
  return `${IDENTITY_WORDS[shared.kind]} ${shared.identity} is used by ${list}`;
}
