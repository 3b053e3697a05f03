/**
 * The policy file's schema: which bots exist, which roles they may ask for, and how each role
 * is approved. Parsed once at start; every rule here is checked before anything runs, and a
 * violation names the exact field.
 */
import { z } from 'zod';
import { isValidDn } from '../integrations/ldap/dn.js';
import { quorumProgress } from '../workflows/approval-quorum.js';
import type { ApproverGroup } from '../workflows/definitions.js';

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

const botSchema = z
  .object({
    id,
    owner: email,
    team: z.string().min(1).max(100),
    purpose: z.string().min(1).max(500),
    environment: id,
    ldapDn: dn,
    apiKeyHash: secretHash,
    roles: z.array(id).min(1, { message: 'must list at least one role' }),
    disabled: z.boolean().default(false),
  })
  .strict();

/** One approver group: its people come from a list here or from an LDAP group, not both. */
const approverGroupSchema = z
  .object({
    name: id,
    quorum: z.number().int().min(1).max(10).default(1),
    members: z.array(email).min(1, { message: 'must list at least one member' }).optional(),
    ldapGroup: dn.optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
    if ((g.members === undefined) === (g.ldapGroup === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['members'],
        message: 'give exactly one of members (e-mail addresses) or ldapGroup (a group DN)',
      });
      return;
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
  }));

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
  })
  .strict()
  .superRefine((a, ctx) => {
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
  }));

const approvalSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('auto') }).strict(),
  approversSchema,
]);

const roleSchema = z
  .object({
    id,
    description: z.string().max(500).optional(),
    environment: id,
    target: z.discriminatedUnion('type', [z.object({ type: z.literal('ldap'), groupDn: dn }).strict()]),
    maxDurationSeconds: z.number().int().min(1).max(MAX_ROLE_DURATION_SECONDS),
    approval: approvalSchema,
  })
  .strict();

export const policySchema = z
  .object({
    version: z.literal(1, { message: 'must be 1' }),
    admins: z
      .array(z.object({ id, tokenHash: secretHash }).strict())
      .min(1, { message: 'must list at least one admin (make a token with `npx elevate keygen --admin`)' }),
    bots: z.array(botSchema).min(1),
    roles: z.array(roleSchema).min(1),
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

    const botIds = new Set<string>();
    policy.bots.forEach((bot, i) => {
      if (botIds.has(bot.id)) {
        ctx.addIssue({ code: 'custom', path: ['bots', i, 'id'], message: `duplicate bot id "${bot.id}"` });
      }
      botIds.add(bot.id);
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

/** A validated policy. Frozen after load. */
export type Policy = z.output<typeof policySchema>;
export type BotPolicy = Policy['bots'][number];
export type RolePolicy = Policy['roles'][number];
export type AdminPolicy = Policy['admins'][number];
