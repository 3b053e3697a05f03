/**
 * What the admin console reads from its query strings and forms. The console parses with these
 * schemas and nothing else, and the API reference documents these very objects (their
 * descriptions are added in `openapi/request-docs.ts`, the routes name them in
 * `openapi/routes/console.ts`), so the console and its reference cannot drift apart.
 *
 * Browser forms send every field, empty when nothing was filled in: an empty filter is no filter.
 */
import { z } from 'zod';
import { ID_PATTERN } from '../../config/policy.js';
import { ELEVATION_STATUSES } from '../../core/model/elevation.js';
import { RISKS } from '../../core/rules/risk.js';
import { SAFE_TEXT_PATTERN, unsafeTextProblem } from '../safe-text.js';

const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);

const optionalId = (what: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(ID_PATTERN, { message: `is not a ${what} id` })
      .optional(),
  );

/** A day (`2025-06-01`) or a minute (`2025-06-01T12:30`) in UTC, as date and datetime inputs send them. */
const dayOrMinute = () =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/, { message: 'must be a date, YYYY-MM-DD' })
      .refine((s) => !Number.isNaN(Date.parse(`${s.length === 10 ? `${s}T00:00` : s}Z`)), {
        message: 'is not a valid date',
      })
      .optional(),
  );

/** A pager's cursor, as the “Next page” link carries it. */
const cursor = () => z.string().max(512).optional();
/** The key of a fixed notice after an action (a page shows only the notices it knows). */
const notice = () => z.string().max(40).optional();

/** `GET /admin`: the list's filters as the filter form sends them, and the pager's cursor. */
export const consoleListQuerySchema = z
  .object({
    bot: optionalId('bot'),
    owner: z.preprocess(blankToUndefined, z.string().trim().toLowerCase().max(320).optional()),
    team: z.preprocess(blankToUndefined, z.string().trim().max(100).optional()),
    role: optionalId('role'),
    targetType: z.preprocess(blankToUndefined, z.enum(['ldap', 'postgres', 'aws-iam']).optional()),
    environment: optionalId('environment'),
    status: z.preprocess(
      (v) => (v === undefined || v === '' ? undefined : [v].flat()),
      z
        .array(z.enum(ELEVATION_STATUSES, { message: 'is not a status' }))
        .max(8)
        .optional(),
    ),
    risk: z.preprocess(blankToUndefined, z.enum(RISKS).optional()),
    from: dayOrMinute(),
    to: dayOrMinute(),
    cursor: z.preprocess(blankToUndefined, cursor()),
    notice: notice(),
  })
  .strict();

/** `GET /admin/bots/{id}`: the history's pager. */
export const consoleHistoryQuerySchema = z.object({ cursor: cursor(), notice: notice() });

/** `GET /admin/elevations/{id}`: a notice after an action. */
export const consoleNoticeQuerySchema = z.object({ notice: notice() });

/** `GET /admin/login`: where to go after sign-in (checked further before it is followed). */
export const consoleLoginQuerySchema = z.object({ next: z.string().optional() });

/** `GET /admin/charts`: the window, in days. */
export const consoleChartsQuerySchema = z.object({ days: z.enum(['7', '14', '30', '90']).optional() });

/** A form's hidden CSRF field, as the session's token is written there. */
export const consoleCsrfSchema = z.string().regex(/^[A-Za-z0-9_-]{20,100}$/);

/** `POST /admin/logout`. */
export const consoleLogoutFormSchema = z.object({ csrf: consoleCsrfSchema });

/** A confirmation form (revoke, lock, unlock): the reason is required, by the API's rule for text. */
export const consoleReasonFormSchema = z.object({
  csrf: consoleCsrfSchema,
  reason: z
    .string()
    .trim()
    .min(1, { message: 'Give a reason: it is recorded in the audit trail.' })
    .max(1000, { message: 'The reason must be at most 1000 characters.' })
    .check((ctx) => {
      // The API's rule for text people read later (`safe-text.ts`), naming the character refused.
      const problem = unsafeTextProblem(ctx.value);
      if (problem) ctx.issues.push({ code: 'custom', message: `The reason ${problem}.`, input: ctx.value });
    })
    // The same rule as a pattern, for the reference; the check above has said why already.
    .regex(SAFE_TEXT_PATTERN, { message: 'The reason must contain visible text.' }),
});

/** `POST /admin/audit/verify`: an optional anchor (an empty field is none). */
export const consoleVerifyFormSchema = z.object({
  csrf: consoleCsrfSchema,
  anchor: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined),
    z
      .string()
      .trim()
      .regex(/^[1-9][0-9]{0,15}:[0-9a-f]{64}$/, {
        message: 'An anchor is <position>:<hash>, as a verification shows its head.',
      })
      .optional(),
  ),
});
