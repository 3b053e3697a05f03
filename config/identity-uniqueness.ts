/**
 * One bot, one identity: the policy check that no two bots share a target identity (an LDAP
 * entry, a PostgreSQL login, an IAM role or user), and that no role hands one bot's identity to
 * another bot (a PostgreSQL role that is a bot's login, a credentials-mode IAM role that is a
 * bot's `awsPrincipal`). Shared, a grant to one bot is a grant to both, and the audit trail can
 * no longer say which of them acted.
 *
 * Identities are compared as their targets compare them (`core/rules/target-identity.ts`), the
 * same comparison drift detection makes at runtime.
 */
import type { IdentityKind, ReconcileIdentity } from '../core/model/reconcile.js';
import { IDENTITY_COMPARISON, IDENTITY_WORDS, identityKey } from '../core/rules/target-identity.js';
import type { Policy } from './policy.js';

/** The bot field that holds each kind of identity. */
const FIELD: Readonly<Record<IdentityKind, 'ldapDn' | 'postgresLogin' | 'awsPrincipal'>> = {
  ldap: 'ldapDn',
  postgres: 'postgresLogin',
  aws: 'awsPrincipal',
};

const KINDS = Object.keys(FIELD) as IdentityKind[];

/** A policy problem: the path of the field at fault and what is wrong with it. */
export interface IdentityConflict {
  path: (string | number)[];
  message: string;
}

type Bots = Pick<Policy, 'bots'>['bots'];
type Roles = Pick<Policy, 'roles'>['roles'];

/** Every bot's target identities, as the policy writes them, in the policy's order. */
export function botIdentitiesOf(policy: { bots: Bots }): ReconcileIdentity[] {
  return policy.bots.flatMap((bot) =>
    KINDS.flatMap((kind) => {
      const principal = bot[FIELD[kind]];
      return principal === undefined ? [] : [{ botId: bot.id, kind, principal }];
    }),
  );
}

/** The first bot to claim an identity. */
interface Claim {
  index: number;
  botId: string;
  principal: string;
}

const ADVICE = 'one bot, one identity: give each bot its own';

/**
 * The policy's shared identities, each reported once at the field that repeats it: a bot's
 * identity field when an earlier bot has the same identity, a role's target when it would hand
 * a bot's identity to other bots. Empty when every bot has identities of its own.
 */
export function identityConflicts(policy: { bots: Bots; roles: Roles }): IdentityConflict[] {
  const conflicts: IdentityConflict[] = [];
  const claims = new Map<string, Claim>();
  policy.bots.forEach((bot, index) => {
    for (const kind of KINDS) {
      const field = FIELD[kind];
      const principal = bot[field];
      if (principal === undefined) continue;
      const key = identityKey(kind, principal);
      const first = claims.get(key);
      if (!first) {
        claims.set(key, { index, botId: bot.id, principal });
        continue;
      }
      const written = first.principal === principal ? '' : ` = ${JSON.stringify(first.principal)}`;
      conflicts.push({
        path: ['bots', index, field],
        message:
          `bot "${bot.id}" shares ${IDENTITY_WORDS[kind]} ${JSON.stringify(principal)} with bot ` +
          `"${first.botId}" (bots[${first.index}].${field}${written}; ${IDENTITY_COMPARISON[kind]}); ${ADVICE}`,
      });
    }
  });

  policy.roles.forEach((role, index) => {
    const target = role.target;
    const handed =
      target.type === 'postgres'
        ? { kind: 'postgres' as const, value: target.role, field: 'role', verb: 'granted it' }
        : target.type === 'aws-iam' && target.mode === 'credentials'
          ? { kind: 'aws' as const, value: target.roleArn, field: 'roleArn', verb: 'given its sessions' }
          : undefined;
    if (!handed) return;
    const owner = claims.get(identityKey(handed.kind, handed.value));
    if (!owner) return;
    const others = policy.bots.filter((b) => b.id !== owner.botId && b.roles.includes(role.id));
    if (others.length === 0) return;
    const names = others.map((b) => `"${b.id}"`).join(', ');
    conflicts.push({
      path: ['roles', index, 'target', handed.field],
      message:
        `is the ${IDENTITY_WORDS[handed.kind]} of bot "${owner.botId}" (bots[${owner.index}].${FIELD[handed.kind]} = ` +
        `${JSON.stringify(owner.principal)}; ${IDENTITY_COMPARISON[handed.kind]}), and ` +
        `${others.length > 1 ? 'bots' : 'bot'} ${names} may request role "${role.id}": ${handed.verb}, ` +
        `${others.length > 1 ? 'they' : 'it'} would act as bot "${owner.botId}"; ${ADVICE}`,
    });
  });
  return conflicts;
}
