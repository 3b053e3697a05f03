/**
 * The policy file's schema: which bots exist, which roles they may ask for, and how each role
 * is approved. Parsed once at start; every rule here is checked before anything runs, and a
 * violation names the exact field.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { CONFIGURABLE_ALGORITHMS, RESERVED_CLAIMS, issuerUrlProblem } from '../core/rules/federation.js';
import { isValidDn } from '../core/rules/dn.js';
import { quorumProgress } from '../core/rules/approval-quorum.js';
import type { ApproverGroup } from '../core/model/elevation.js';
import type { TargetRef } from '../core/model/targets.js';
import { requireTicketSchema, ticketPatternProblem } from './require-ticket.js';
import { riskSchemas } from './risk-policy.js';
import { breakGlassPolicyIssues, breakGlassSchema } from './break-glass-policy.js';
import { roleScheduleSchema } from './schedule-policy.js';
import { allowedWindowsSchema } from './time-windows.js';
import { extendProblems, extendSchema } from './extend-policy.js';
import { approvalNudgeFields, approvalNudgeProblems, approvalNudgeRuleOf } from './approval-nudge-policy.js';
import { onCallSchema } from './oncall-policy.js';
import { bundlePolicyIssues, bundleSchema } from './bundle-policy.js';

/** Bot, role and environment ids: safe in URLs, LDAP values, logs and workflow ids. */
export const ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ID_MESSAGE =
  'must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit';

/** Stored form of a secret (API key, admin token): `sha256:` and 64 lowercase hex digits. */
export const SECRET_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Longest window any role may grant (7 days); longer standing access is not "just in time". */
export const MAX_ROLE_DURATION_SECONDS = 7 * 24 * 3600;

const id = z.string().regex(ID_PATTERN, ID_MESSAGE);
const dn = z
  .string()
  .max(1024)
  .refine(isValidDn, { message: 'must be a valid LDAP DN, e.g. cn=name,ou=groups,dc=example,dc=org' });
const secretHash = z.string().regex(SECRET_HASH_PATTERN, {
  message: 'must be "sha256:" and 64 lowercase hex digits (make one with `npx elevate keygen`)',
});
const email = z.email({ message: 'must be an e-mail address' }).transform((s) => s.toLowerCase());

/** A PostgreSQL role or login name: Elevate always quotes it, so only length and NUL matter. */
const pgName = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 63 && !s.includes('\0'), {
    message: 'must be 1-63 bytes without NUL (PostgreSQL truncates longer names)',
  });

/** The IAM role or user a bot acts as, by ARN. */
const awsPrincipal = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/, {
  message: 'must be the ARN of an IAM role or user, e.g. arn:aws:iam::123456789012:role/ci-deployer',
});

/** An IAM policy document, as an object in the policy file (stored as JSON). */
const iamDocument = z
  .object({ Version: z.literal('2012-10-17'), Statement: z.array(z.record(z.string(), z.unknown())).min(1) })
  .passthrough()
  // IAM's limit is 6144 characters; Elevate adds an expiry condition (about 100) to each Allow statement.
  .refine(
    (d) => JSON.stringify(d).length + 120 * d.Statement.filter((st) => st.Effect === 'Allow').length <= 6144,
    {
      message:
        'must be at most 6144 characters as JSON, counting the expiry condition Elevate adds to each Allow statement',
    },
  )
  .transform((d) => JSON.stringify(d));

const targetSchema = z.union([
  z.object({ type: z.literal('ldap'), groupDn: dn }).strict(),
  z
    .object({
      type: z.literal('postgres'),
      /** Id of the server; its URL comes from ELEVATE_POSTGRES_<ID>_URL. */
      server: id,
      role: pgName.refine((r) => !r.startsWith('pg_'), {
        message: 'must not be a predefined pg_ role (those grant server-wide powers)',
      }),
    })
    .strict(),
  z
    .object({ type: z.literal('aws-iam'), mode: z.literal('attach'), policy: iamDocument })
    .strict()
    .transform(({ type, mode, policy }) => ({ type, mode, policyDocument: policy })),
  z
    .object({
      type: z.literal('aws-iam'),
      mode: z.literal('credentials'),
      roleArn: awsPrincipal.refine((a) => a.includes(':role/'), {
        message: 'must be the ARN of an IAM role',
      }),
      sessionPolicy: iamDocument.optional(),
    })
    .strict(),
]);

/** How a bot may authenticate with a workload identity token instead of its API key. */
const botFederationSchema = z
  .object({
    issuer: z.string().min(1),
    audience: z.string().min(1).max(500),
    claims: z
      .record(z.string().min(1).max(100), z.string().min(1).max(1024))
      .refine((c) => Object.keys(c).length > 0, {
        message: 'must name at least one claim (issuer and audience alone do not say which workload calls)',
      })
      .refine((c) => !Object.keys(c).some((k) => RESERVED_CLAIMS.includes(k)), {
        message: `must not name ${RESERVED_CLAIMS.join(', ')} (they are checked anyway)`,
      }),
    recordClaims: z.array(z.string().min(1).max(100)).max(30).optional(),
  })
  .strict();

/** The workload identity issuers bots may present tokens from. */
const federationSchema = z
  .object({
    issuers: z
      .array(
        z
          .object({
            issuer: z.string().min(1),
            jwksUri: z.string().min(1).optional(),
            algorithms: z
              .array(
                z.string().refine((a) => CONFIGURABLE_ALGORITHMS.includes(a), {
                  message: `must be one of ${CONFIGURABLE_ALGORITHMS.join(', ')}`,
                }),
              )
              .min(1)
              .optional(),
            clockToleranceSeconds: z.number().int().min(0).max(300).optional(),
            allowInsecureHttp: z.boolean().optional(),
          })
          .strict()
          .superRefine((i, ctx) => {
            for (const field of ['issuer', 'jwksUri'] as const) {
              const value = i[field];
              const problem = value === undefined ? undefined : issuerUrlProblem(value, i.allowInsecureHttp);
              if (problem) ctx.addIssue({ code: 'custom', path: [field], message: problem });
            }
          }),
      )
      .min(1),
  })
  .strict();

/**
 * Defaults of {@link limitsSchema}: above what a bot in normal use needs (one or two elevations
 * of a role at a time, a few requests a minute), low enough that a leaked key cannot flood
 * approvers, start workflows without end or chain overlapping elevations indefinitely.
 */
export const DEFAULT_BOT_LIMITS = { pendingPerRole: 10, openPerRole: 20, requestsPerHour: 240 } as const;

/**
 * Per-bot quotas: the policy's `limits` apply to every bot, a bot's own `limits` override them
 * field by field. A request over one is refused with 429 `too_many_requests`.
 */
const limitFields = {
  /** Elevations of one role awaiting approval at once (each one notifies approvers). */
  pendingPerRole: z.number().int().min(1).max(1000),
  /** Elevations of one role not yet ended (pending, approved, active or being revoked) at once. */
  openPerRole: z.number().int().min(1).max(1000),
  /** Requests accepted in any 60-minute window (idempotent replays are not counted). */
  requestsPerHour: z.number().int().min(1).max(10_000),
};
const limitsSchema = z
  .object({
    pendingPerRole: limitFields.pendingPerRole.default(DEFAULT_BOT_LIMITS.pendingPerRole),
    openPerRole: limitFields.openPerRole.default(DEFAULT_BOT_LIMITS.openPerRole),
    requestsPerHour: limitFields.requestsPerHour.default(DEFAULT_BOT_LIMITS.requestsPerHour),
  })
  .strict();
const botLimitsSchema = z
  .object({
    pendingPerRole: limitFields.pendingPerRole.optional(),
    openPerRole: limitFields.openPerRole.optional(),
    requestsPerHour: limitFields.requestsPerHour.optional(),
  })
  .strict();

/** An address and prefix length (`10.0.0.0/8`, `2001:db8::/32`); the host bits must be zero. */
const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

function cidrProblem(value: string): string | undefined {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(value);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || family === 0)
    return `must be a network in CIDR notation, e.g. 203.0.113.0/24 (got "${value.slice(0, 60)}")`;
  const max = family === 4 ? 32 : 128;
  if (Number(m[2]) > max) return `prefix length of ${value} must be at most ${max}`;
  return undefined;
}

/**
 * Where a bot runs, declared: the networks its requests come from, the workload identities
 * (subject, `namespace/serviceaccount` or GitHub runner environment) it runs as. Recorded with
 * each request as matched or not; not enforced.
 */
const runsFromSchema = z
  .object({
    networks: z.array(cidr).min(1, { message: 'must list at least one network' }).max(100).optional(),
    runners: z
      .array(z.string().min(1).max(256))
      .min(1, { message: 'must list at least one runner' })
      .max(100)
      .optional(),
  })
  .strict()
  .refine((r) => r.networks !== undefined || r.runners !== undefined, {
    message: 'must declare networks, runners or both',
  });

const botSchema = z
  .object({
    id,
    owner: email,
    team: z.string().min(1).max(100),
    purpose: z.string().min(1).max(500),
    environment: id,
    /** The bot's identity in each kind of target it has roles in. */
    ldapDn: dn.optional(),
    postgresLogin: pgName.optional(),
    awsPrincipal: awsPrincipal.optional(),
    apiKeyHash: secretHash,
    roles: z.array(id).min(1, { message: 'must list at least one role' }),
    disabled: z.boolean().default(false),
    federation: botFederationSchema.optional(),
    /** Overrides of the policy's `limits` for this bot. */
    limits: botLimitsSchema.optional(),
    /** Where the bot runs (recorded with each request, not enforced). */
    runsFrom: runsFromSchema.optional(),
    /** When the bot may hold a role (`time-windows.ts`); left out: any time. */
    allowedWindows: allowedWindowsSchema.optional(),
  })
  .strict();

/**
 * One approver group: its people come from a list here, from an LDAP group, or from an on-call
 * schedule (`oncall-policy.ts`), exactly one of them.
 */
const approverGroupSchema = z
  .object({
    name: id,
    quorum: z.number().int().min(1).max(10).default(1),
    members: z.array(email).min(1, { message: 'must list at least one member' }).optional(),
    ldapGroup: dn.optional(),
    oncall: onCallSchema(email).optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
    if ([g.members, g.ldapGroup, g.oncall].filter((x) => x !== undefined).length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['members'],
        message:
          'give exactly one of members (e-mail addresses), ldapGroup (a group DN) or oncall (an on-call schedule)',
      });
      return;
    }
    if (g.oncall && g.quorum !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['quorum'],
        message: 'must be 1 for an on-call group (one person is on call)',
      });
    }
    if (g.members) {
      if (new Set(g.members).size !== g.members.length) {
        ctx.addIssue({ code: 'custom', path: ['members'], message: 'lists the same person twice' });
      }
      if (g.quorum > new Set(g.members).size) {
        ctx.addIssue({
          code: 'custom',
          path: ['quorum'],
          message: `is ${g.quorum} but only ${new Set(g.members).size} member(s) are listed`,
        });
      }
    }
  })
  .transform((g): ApproverGroup => ({
    name: g.name,
    quorum: g.quorum,
    ...(g.members ? { members: g.members } : {}),
    ...(g.ldapGroup ? { ldapGroupDn: g.ldapGroup } : {}),
    ...(g.oncall ? { oncall: g.oncall } : {}),
  }));

const { detection: detectionSchema, roleRisk: roleRiskSchema } = riskSchemas(approverGroupSchema);

/**
 * Approval by people. Either `groups` (each with its own quorum, all of which must be met, by
 * different people) or the shorthand `approvers` + `quorum`, which is one group named
 * `approvers`.
 */
const approversSchema = z
  .object({
    mode: z.literal('approvers'),
    groups: z
      .array(approverGroupSchema)
      .min(1, { message: 'must list at least one group' })
      .max(10)
      .optional(),
    approvers: z.array(email).min(1, { message: 'must list at least one approver' }).optional(),
    quorum: z.number().int().min(1).max(10).optional(),
    windowSeconds: z.number().int().min(10).max(MAX_ROLE_DURATION_SECONDS).default(900),
    ownerMayApprove: z.boolean().default(false),
    /** Reminders and escalation (`approval-nudge-policy.ts`). */
    ...approvalNudgeFields(approverGroupSchema),
  })
  .strict()
  .superRefine((a, ctx) => {
    for (const [path, message] of approvalNudgeProblems(a)) ctx.addIssue({ code: 'custom', path, message });
    if ((a.groups === undefined) === (a.approvers === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['groups'],
        message: 'give exactly one of groups (approver groups) or approvers (a list of e-mail addresses)',
      });
    }
    if (a.groups && a.quorum !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['quorum'],
        message: 'goes with approvers; with groups, each group has its own quorum',
      });
    }
    if (a.approvers) {
      const distinct = new Set(a.approvers).size;
      if (distinct !== a.approvers.length) {
        ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'lists the same approver twice' });
      }
      if ((a.quorum ?? 1) > distinct) {
        ctx.addIssue({
          code: 'custom',
          path: ['quorum'],
          message: `is ${a.quorum ?? 1} but only ${distinct} approver(s) are listed`,
        });
      }
    }
    const names = new Set<string>();
    a.groups?.forEach((g, i) => {
      if (names.has(g.name)) {
        ctx.addIssue({ code: 'custom', path: ['groups', i, 'name'], message: `duplicate group "${g.name}"` });
      }
      names.add(g.name);
    });
  })
  .transform((a) => ({
    mode: a.mode,
    groups: a.groups ?? [{ name: 'approvers', quorum: a.quorum ?? 1, members: a.approvers ?? [] }],
    windowSeconds: a.windowSeconds,
    ownerMayApprove: a.ownerMayApprove,
    ...approvalNudgeRuleOf(a),
  }));

const approvalSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('auto') }).strict(),
  approversSchema,
]);

/**
 * What reconciliation does about members of the role's target that no elevation explains:
 * `alert` (the default) records and logs them, `revert` also removes them. `standing` lists
 * principals that hold the role permanently by design (a break-glass account, a service that
 * predates Elevate): they are never drift.
 */
const driftSchema = z
  .object({
    action: z.enum(['alert', 'revert']).default('alert'),
    standing: z.array(z.string().min(1).max(1024)).max(1000).default([]),
  })
  .strict();

const roleSchema = z
  .object({
    id,
    description: z.string().max(500).optional(),
    environment: id,
    target: targetSchema,
    maxDurationSeconds: z.number().int().min(1).max(MAX_ROLE_DURATION_SECONDS),
    approval: approvalSchema,
    drift: driftSchema.default({ action: 'alert', standing: [] }),
    /** Whether requests must carry a ticket, and which (`require-ticket.ts`). */
    requireTicket: requireTicketSchema.optional(),
    /** How the risk score routes this role's requests, over the policy's `detection`. */
    risk: roleRiskSchema.optional(),
    /** How far ahead its elevations may be scheduled (`schedule-policy.ts`). */
    schedule: roleScheduleSchema.optional(),
    /** Whether an active elevation may be extended, and how far (`extend-policy.ts`). */
    extend: extendSchema(MAX_ROLE_DURATION_SECONDS).optional(),
    /** The emergency path: listed bots granted at once, reviewed afterwards (`break-glass-policy.ts`). */
    breakGlass: breakGlassSchema.optional(),
  })
  .strict()
  .superRefine((role, ctx) => {
    for (const [path, message] of extendProblems(role)) ctx.addIssue({ code: 'custom', path, message });
    const ticketProblem = ticketPatternProblem(role.id, role.requireTicket);
    if (ticketProblem)
      ctx.addIssue({ code: 'custom', path: ['requireTicket', 'pattern'], message: ticketProblem });
    if (role.target.type === 'aws-iam' && role.target.mode === 'credentials') {
      if (role.drift.action === 'revert' || role.drift.standing.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['drift'],
          message: 'credentials mode leaves nothing standing to reconcile; leave drift out',
        });
      }
    }
    if (role.target.type === 'aws-iam' && role.target.mode === 'attach') {
      role.drift.standing.forEach((p, i) => {
        if (
          !/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/[\w+=,.@/-]{1,512}$/.test(p) &&
          !/^inline:[\w+=,.@-]{1,128}$/.test(p)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['drift', 'standing', i],
            message:
              'must be the ARN of a managed policy (arn:aws:iam::<account>:policy/<name>) or inline:<name>, a policy the bots may keep attached',
          });
        }
      });
    }
    if (role.target.type === 'ldap') {
      role.drift.standing.forEach((p, i) => {
        if (!isValidDn(p)) {
          ctx.addIssue({
            code: 'custom',
            path: ['drift', 'standing', i],
            message: 'must be a valid LDAP DN (the member as the group lists it)',
          });
        }
      });
    }
  });

export const policySchema = z
  .object({
    version: z.literal(1, { message: 'must be 1' }),
    admins: z
      .array(z.object({ id, tokenHash: secretHash }).strict())
      .min(1, { message: 'must list at least one admin (make a token with `npx elevate keygen --admin`)' }),
    bots: z.array(botSchema).min(1),
    federation: federationSchema.optional(),
    limits: limitsSchema.default(DEFAULT_BOT_LIMITS),
    /** Baselines, score thresholds, escalation and alerts (defaults apply when left out). */
    detection: detectionSchema.optional(),
    roles: z.array(roleSchema).min(1),
    /** Roles requested together, granted all or nothing (`bundle-policy.ts`). */
    bundles: z.array(bundleSchema(id, approvalSchema)).optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const roles = new Map<string, (typeof policy.roles)[number]>();
    policy.roles.forEach((role, i) => {
      if (roles.has(role.id)) {
        ctx.addIssue({ code: 'custom', path: ['roles', i, 'id'], message: `duplicate role id "${role.id}"` });
      }
      roles.set(role.id, role);
      if (role.approval.mode === 'approvers' && !canBeMetWithout(role.approval.groups, undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', i, 'approval', 'groups'],
          message:
            'cannot all be met: one person counts for one group only, and the listed members are too few',
        });
      }
    });

    const keyHashes = new Set<string>();
    const adminIds = new Set<string>();
    policy.admins.forEach((admin, i) => {
      if (adminIds.has(admin.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['admins', i, 'id'],
          message: `duplicate admin id "${admin.id}"`,
        });
      }
      adminIds.add(admin.id);
      if (keyHashes.has(admin.tokenHash)) {
        ctx.addIssue({
          code: 'custom',
          path: ['admins', i, 'tokenHash'],
          message: 'is already used by another admin',
        });
      }
      keyHashes.add(admin.tokenHash);
    });

    const issuers = new Set<string>();
    policy.federation?.issuers.forEach((i, k) => {
      if (issuers.has(i.issuer)) {
        ctx.addIssue({
          code: 'custom',
          path: ['federation', 'issuers', k, 'issuer'],
          message: 'is listed twice',
        });
      }
      issuers.add(i.issuer);
    });
    for (const i of breakGlassPolicyIssues(policy)) ctx.addIssue({ code: 'custom', ...i });
    for (const i of bundlePolicyIssues(policy)) ctx.addIssue({ code: 'custom', ...i });
    const botIds = new Set<string>();
    policy.bots.forEach((bot, i) => {
      if (botIds.has(bot.id)) {
        ctx.addIssue({ code: 'custom', path: ['bots', i, 'id'], message: `duplicate bot id "${bot.id}"` });
      }
      botIds.add(bot.id);
      if (bot.federation && !issuers.has(bot.federation.issuer)) {
        ctx.addIssue({
          code: 'custom',
          path: ['bots', i, 'federation', 'issuer'],
          message: `is not listed in federation.issuers`,
        });
      }
      if (keyHashes.has(bot.apiKeyHash)) {
        ctx.addIssue({
          code: 'custom',
          path: ['bots', i, 'apiKeyHash'],
          message: 'is already used by another bot or admin token: every identity needs its own key',
        });
      }
      keyHashes.add(bot.apiKeyHash);
      bot.roles.forEach((roleId, j) => {
        const role = roles.get(roleId);
        if (!role) {
          ctx.addIssue({
            code: 'custom',
            path: ['bots', i, 'roles', j],
            message: `unknown role "${roleId}"`,
          });
          return;
        }
        if (role.environment !== bot.environment) {
          ctx.addIssue({
            code: 'custom',
            path: ['bots', i, 'roles', j],
            message: `role "${roleId}" is in environment "${role.environment}" but the bot is in "${bot.environment}"`,
          });
        }
        if (principalFor(bot, role.target) === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['bots', i, 'roles', j],
            message: `role "${roleId}" is granted in ${role.target.type}, so the bot needs ${PRINCIPAL_FIELD[role.target.type]}`,
          });
        }
        const approval = role.approval;
        if (
          approval.mode === 'approvers' &&
          !approval.ownerMayApprove &&
          // A role that no one can meet is reported once, on the role.
          canBeMetWithout(approval.groups, undefined) &&
          !canBeMetWithout(approval.groups, bot.owner)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['bots', i, 'roles', j],
            message: `role "${roleId}"'s approver groups cannot be met by people other than the bot's owner ${bot.owner}`,
          });
        }
      });
    });
  });

/**
 * Whether the groups listed in the policy can reach their quorums without `owner` (with everyone
 * when `owner` is undefined). LDAP groups
 * are looked up at approval time, so they are assumed able to).
 */
function canBeMetWithout(groups: ApproverGroup[] | undefined, owner: string | undefined): boolean {
  // Unparsed (another issue is already reported for this role): nothing to add.
  if (!Array.isArray(groups)) return true;
  const listed = groups.filter((g) => g.members !== undefined);
  const people = new Map<string, string[]>();
  for (const g of listed) {
    for (const m of g.members ?? []) if (m !== owner) people.set(m, [...(people.get(m) ?? []), g.name]);
  }
  const approvals = [...people].map(([approver, names]) => ({ approver, groups: names }));
  return quorumProgress(listed, approvals).met;
}

/** The bot field that names its identity in each kind of target. */
const PRINCIPAL_FIELD = { ldap: 'ldapDn', postgres: 'postgresLogin', 'aws-iam': 'awsPrincipal' } as const;

/**
 * The bot's identity in the target a role is granted in: its LDAP DN, PostgreSQL login or IAM
 * principal. For AWS credentials mode nothing is attached to the bot, so its id names the session.
 */
export function principalFor(
  bot: {
    id: string;
    ldapDn?: string | undefined;
    postgresLogin?: string | undefined;
    awsPrincipal?: string | undefined;
  },
  target: TargetRef,
): string | undefined {
  switch (target.type) {
    case 'ldap':
      return bot.ldapDn;
    case 'postgres':
      return bot.postgresLogin;
    case 'aws-iam':
      return target.mode === 'credentials' ? (bot.awsPrincipal ?? `bot:${bot.id}`) : bot.awsPrincipal;
  }
}

/** The limits that apply to one bot: the policy's, overridden by the bot's own. */
export function limitsFor(policy: Pick<Policy, 'limits'>, bot: Pick<BotPolicy, 'limits'>): BotLimits {
  const own = bot.limits ?? {};
  return {
    pendingPerRole: own.pendingPerRole ?? policy.limits.pendingPerRole,
    openPerRole: own.openPerRole ?? policy.limits.openPerRole,
    requestsPerHour: own.requestsPerHour ?? policy.limits.requestsPerHour,
  };
}

/** A validated policy. Frozen after load. */
export type Policy = z.output<typeof policySchema>;
export type BotPolicy = Policy['bots'][number];
export type RolePolicy = Policy['roles'][number];
export type AdminPolicy = Policy['admins'][number];
export type BundlePolicy = NonNullable<Policy['bundles']>[number];
/** Per-bot quotas as they apply to one bot ({@link limitsFor}). */
export type BotLimits = Policy['limits'];
