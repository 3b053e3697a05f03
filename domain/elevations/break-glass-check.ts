/**
 * A bot's break-glass request, as the request service checks and shapes it: refused (403
 * `break_glass_not_allowed`, 422 `duration_too_long`, naming the field) unless the role's
 * `breakGlass` lists the bot and the duration fits its cap; accepted, the start input carries the
 * rule with the review's deadline, and the role's approval is `auto` in its snapshot: the grant
 * waits for no one (the review comes after it).
 */
import { breakGlassRuleOf } from '../../config/break-glass-policy.js';
import type { RolePolicy } from '../../config/policy.js';
import type { ElevationInput } from '../../core/model/elevation.js';
import { breakGlassRefusal, breakGlassRequestOf, type RoleBreakGlass } from '../../core/rules/break-glass.js';
import { ApiError } from '../errors.js';

/**
 * The role's break-glass rule when the request asks for it (undefined when it does not); throws
 * the refusal when the bot may not use it.
 */
export function breakGlassRuleFor(
  role: RolePolicy,
  botId: string,
  req: { breakGlass?: boolean | undefined; durationSeconds: number; startsAt?: string | undefined },
): RoleBreakGlass | undefined {
  if (req.breakGlass !== true) return undefined;
  if (req.startsAt !== undefined) {
    // An emergency is now: a scheduled break-glass would be an approval skipped for convenience.
    throw new ApiError(
      'invalid_request',
      'a break-glass elevation starts at once; leave startsAt out',
      'startsAt',
    );
  }
  const rule = breakGlassRuleOf(role);
  const refusal = breakGlassRefusal(role.id, rule, botId, req.durationSeconds);
  if (refusal) throw new ApiError(refusal.code, refusal.message, refusal.field);
  return rule;
}

/** The start input of a break-glass request (unchanged without a rule). */
export function withBreakGlass(
  rule: RoleBreakGlass | undefined,
  now: Date,
  input: ElevationInput,
): ElevationInput {
  if (!rule) return input;
  // The cap is the break-glass rule's: the role's extensions do not apply.
  const { extend: _extend, ...role } = input.role;
  return {
    ...input,
    role: { ...role, approval: { mode: 'auto' } },
    breakGlass: breakGlassRequestOf(rule, now),
  };
}
