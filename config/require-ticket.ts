/**
 * A role's `requireTicket`: requests of the role must carry a change or incident ticket, and
 * with `pattern`, one the whole of which matches it. `true` asks for any ticket, `false` (or
 * leaving it out) for none. The pattern is a JavaScript regular expression in Unicode mode,
 * checked when the policy loads, so a typo stops start-up instead of refusing every request.
 */
import { z } from 'zod';

/** Longest pattern accepted: ticket formats are short, and a long one is more likely a mistake. */
const MAX_PATTERN_LENGTH = 500;

/** The pattern compiled to match a whole ticket; patterns are few, so each is compiled once. */
const compiled = new Map<string, RegExp>();

/**
 * `pattern` as a regular expression matching whole strings only: `^(?:pattern)$`, Unicode mode,
 * so `CHG-[0-9]+` refuses `xCHG-1` and `CHG-1x` without the policy writing the anchors.
 *
 * @throws {SyntaxError} when `pattern` is not a valid regular expression
 */
export function wholeTicketPattern(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`, 'u');
    compiled.set(pattern, re);
  }
  return re;
}

/** The policy's `roles[].requireTicket` (its pattern is checked with the role: {@link ticketPatternProblem}). */
export const requireTicketSchema = z.union([
  z.boolean(),
  z.object({ pattern: z.string().min(1).max(MAX_PATTERN_LENGTH) }).strict(),
]);

/** A role's ticket rule, as the policy gives it. */
export type RequireTicket = z.output<typeof requireTicketSchema>;

/**
 * Why role `roleId`'s ticket pattern is not a usable regular expression, as a message naming the
 * role and the pattern; undefined when it is (or there is none).
 */
export function ticketPatternProblem(roleId: string, rule: RequireTicket | undefined): string | undefined {
  if (rule === undefined || typeof rule === 'boolean') return undefined;
  try {
    wholeTicketPattern(rule.pattern);
    return undefined;
  } catch (err) {
    // V8 says "Invalid regular expression: /<source>/<flags>: <reason>"; the source is ours, wrapped.
    const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `role "${roleId}"'s ticket pattern ${JSON.stringify(rule.pattern)} is not a valid regular expression (${reason})`;
  }
}

/**
 * Why a request of role `roleId` is refused for its ticket, as a message for the bot that names
 * what is expected; undefined when the ticket is acceptable (or the role needs none). A ticket
 * is compared as the API received it after trimming.
 */
export function ticketRefusal(
  roleId: string,
  rule: RequireTicket | undefined,
  ticket: string | undefined,
): string | undefined {
  if (rule === undefined || rule === false) return undefined;
  const pattern = rule === true ? undefined : rule.pattern;
  const expected = pattern === undefined ? '' : ` matching ${pattern} (the whole ticket must match)`;
  if (ticket === undefined || ticket === '') return `role ${roleId} requires a ticket${expected}`;
  if (pattern !== undefined && !wholeTicketPattern(pattern).test(ticket)) {
    return `ticket does not match the pattern role ${roleId} requires: ${pattern} (the whole ticket must match)`;
  }
  return undefined;
}
