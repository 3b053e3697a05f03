/**
 * Request schemas of the HTTP API. The server validates with these and nothing else, so the
 * API reference can later be generated from the same objects.
 */
import { z } from 'zod';
import { ID_PATTERN, MAX_ROLE_DURATION_SECONDS } from '../config/policy.js';
import { ELEVATION_ID_PATTERN } from '../domain/ids.js';
import { EXPORT_FORMATS } from '../integrations/audit/export.js';
import { RISKS } from '../core/rules/risk.js';
import { ELEVATION_STATUSES } from '../core/model/elevation.js';
import { MAX_QUICK_RETURN_SECONDS } from '../core/model/least-privilege.js';
import { SAFE_TEXT_PATTERN, unsafeTextProblem } from './safe-text.js';

/**
 * Text people read later (justification, ticket, reason), trimmed: {@link unsafeTextProblem}'s
 * rule, so nothing in it hides or reorders what approvers and auditors see. The `regex` check
 * is the same rule as a pattern, for the API reference; the refinement before it says which
 * character was refused.
 */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, { message: 'must not be empty' })
    .max(max, { message: `must be at most ${max} characters` })
    .check((ctx) => {
      const problem = unsafeTextProblem(ctx.value);
      if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    })
    .regex(SAFE_TEXT_PATTERN, { message: 'must contain visible text' });

export const elevationRequestSchema = z
  .object({
    role: z
      .string()
      .regex(ID_PATTERN, { message: 'must be a role id (lowercase letters, digits, hyphens)' })
      .optional(),
    /** A bundle of roles, granted all or nothing (instead of `role`). */
    bundle: z
      .string()
      .regex(ID_PATTERN, { message: 'must be a bundle id (lowercase letters, digits, hyphens)' })
      .optional(),
    durationSeconds: z
      .number({ message: 'must be a whole number of seconds' })
      .int({ message: 'must be a whole number of seconds' })
      .min(1, { message: 'must be at least 1' })
      .max(MAX_ROLE_DURATION_SECONDS, { message: `must be at most ${MAX_ROLE_DURATION_SECONDS}` }),
    justification: text(1000),
    ticket: text(200).optional(),
    requestId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -' })
      .optional(),
    startsAt: z.iso
      .datetime({
        offset: true,
        message: 'must be an RFC 3339 date-time with a time zone, e.g. 2026-12-08T01:00:00Z',
      })
      .optional(),
    /** Ask for the role's emergency path: granted at once, reviewed afterwards (`docs/api.md`). */
    breakGlass: z.boolean({ message: 'must be true or false' }).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    // Exactly one: a request names a role or a bundle of roles.
    if (r.role !== undefined && r.bundle !== undefined)
      ctx.addIssue({ code: 'custom', path: ['bundle'], message: 'give role or bundle, not both' });
    if (r.role === undefined && r.bundle === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['role'],
        message: 'is required (or bundle, for a bundle of roles)',
      });
  });

export const revokeBodySchema = z.object({ reason: text(1000).optional() }).strict();

/** Extend an active elevation (`POST …/extend`): seconds added to its current end, and why. */
export const extendBodySchema = z
  .object({
    durationSeconds: z
      .number({ message: 'must be a whole number of seconds' })
      .int({ message: 'must be a whole number of seconds' })
      .min(1, { message: 'must be at least 1' })
      .max(MAX_ROLE_DURATION_SECONDS, { message: `must be at most ${MAX_ROLE_DURATION_SECONDS}` }),
    justification: text(1000),
  })
  .strict();

export const elevationIdSchema = z
  .string()
  .regex(ELEVATION_ID_PATTERN, { message: 'is not an elevation id' });

/** One status, as a pattern alternative. */
const STATUS = `(?:${ELEVATION_STATUSES.join('|')})`;

/**
 * A comma-separated list of statuses (`active,revoking`), parsed into an array. The pattern is
 * checked first so the API reference describes the list exactly as the server takes it.
 */
const statusList = () =>
  z
    .string()
    .regex(new RegExp(`^${STATUS}(?:,${STATUS})*$`), {
      message: `must be comma-separated statuses among ${ELEVATION_STATUSES.join(', ')}`,
    })
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(ELEVATION_STATUSES)));

export const waitQuerySchema = z
  .object({
    waitSeconds: z.coerce
      .number({ message: 'must be a number of seconds' })
      .int({ message: 'must be a whole number of seconds' })
      .min(0)
      .max(60, { message: 'must be at most 60' })
      .optional(),
    until: statusList().optional(),
  })
  .strict();

const isoInstant = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

export const listQuerySchema = z
  .object({
    bot: z.string().regex(ID_PATTERN, { message: 'must be a bot id' }).optional(),
    role: z.string().regex(ID_PATTERN, { message: 'must be a role id' }).optional(),
    owner: z.string().trim().toLowerCase().min(1).max(320).optional(),
    team: z.string().min(1).max(100).optional(),
    environment: z.string().regex(ID_PATTERN, { message: 'must be an environment id' }).optional(),
    targetType: z
      .enum(['ldap', 'postgres', 'aws-iam'], { message: 'must be one of ldap, postgres, aws-iam' })
      .optional(),
    risk: z.enum(RISKS, { message: `must be one of ${RISKS.join(', ')}` }).optional(),
    status: statusList().optional(),
    from: isoInstant.optional(),
    to: isoInstant.optional(),
    limit: z.coerce.number().int().min(1).max(200, { message: 'must be at most 200' }).default(50),
    cursor: z.string().max(512).optional(),
  })
  .strict();

export const verifyQuerySchema = z
  .object({
    anchor: z
      .string()
      .regex(/^[1-9][0-9]{0,15}:[0-9a-f]{64}$/, {
        message: 'must be <position>:<hash>, as returned in `head` by an earlier verify',
      })
      .transform((s) => {
        const [position, hash] = s.split(':') as [string, string];
        return { position: Number(position), hash };
      })
      .optional(),
  })
  .strict();

/** Query of `GET /v1/admin/audit/export`: the format, and a window on the events' `at`. */
export const exportQuerySchema = z
  .object({
    format: z
      .enum(EXPORT_FORMATS, { message: `must be one of ${EXPORT_FORMATS.join(', ')}` })
      .default('jsonl'),
    since: isoInstant.optional(),
    until: isoInstant.optional(),
  })
  .strict();

/** Query of `GET /v1/admin/reports/least-privilege`: one bot, and what "within seconds" means. */
export const leastPrivilegeQuerySchema = z
  .object({
    botId: z.string().regex(ID_PATTERN, { message: 'must be a bot id' }).optional(),
    quickReturnSeconds: z.coerce
      .number({ message: 'must be a number of seconds' })
      .int({ message: 'must be a whole number of seconds' })
      .min(1, { message: 'must be at least 1' })
      .max(MAX_QUICK_RETURN_SECONDS, { message: `must be at most ${MAX_QUICK_RETURN_SECONDS}` })
      .optional(),
  })
  .strict();

/** A bot id in a path (`/v1/admin/bots/{id}`): a policy id. */
export const botIdSchema = z.string().regex(ID_PATTERN, { message: 'is not a bot id' });

/** Body of an admin's lock or unlock of a bot: why, required (recorded, and shown to the bot). */
export const botLockBodySchema = z.object({ reason: text(1000) }).strict();

/** Body of an admin's disable, enable or key rotation of a bot: why, optional. */
export const botChangeBodySchema = z.object({ reason: text(1000).optional() }).strict();
