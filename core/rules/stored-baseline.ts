/**
 * A baseline as read back from the store, checked before it is used. Baselines are written by
 * Elevate alone, but a row damaged by hand, by a failed migration or by another version must not
 * stop scoring: the scoring activity would fail on every retry and hold each of the bot's requests
 * at its first step. A row that does not have the shape is treated as no history (the bot starts
 * again from an empty baseline, which the next fold writes back) and reported by the caller.
 */
import { z } from 'zod';
import { ROLE_SENSITIVITIES } from '../model/risk.js';
import type { Agrees, Assert } from '../model/type-agreement.js';
import { WORKLOAD_FIELDS } from './baseline-keys.js';
import { DAY_COUNTERS, type BotBaseline } from './bot-baseline.js';

const count = z.number().int().nonnegative();
const instant = z.number().finite();
const seenValue = z.object({
  key: z.string(),
  first: instant,
  last: instant,
  count,
  example: z.string().optional(),
});

const botBaselineSchema = z.object({
  version: z.literal(1),
  botId: z.string(),
  firstRequestAt: instant.nullable(),
  lastAt: instant.nullable(),
  days: z.array(
    z.object({
      day: z.number().int(),
      counts: z.partialRecord(z.enum(DAY_COUNTERS), count),
      hours: z.record(z.string(), count),
    }),
  ),
  networks: z.array(seenValue),
  userAgents: z.array(seenValue),
  claims: z.array(seenValue.extend({ field: z.enum(WORKLOAD_FIELDS) })),
  roles: z.array(
    z.object({
      roleId: z.string(),
      first: instant,
      last: instant,
      count,
      approvalChain: z.string(),
      sensitivity: z.enum(ROLE_SENSITIVITIES).optional(),
      durations: z.array(z.tuple([instant, z.number()])),
    }),
  ),
  recentRequests: z.array(z.tuple([z.number(), count])),
  recentRefusals: z.array(z.tuple([z.number(), count])),
  pending: z.array(
    z.object({ elevationId: z.string(), at: instant, counters: z.array(z.enum(DAY_COUNTERS)) }),
  ),
});
export type _BotBaselineAgrees = Assert<Agrees<z.infer<typeof botBaselineSchema>, BotBaseline>>;

/** What a stored row holds: its baseline, none, or why it cannot be used. */
export type StoredBaseline = { baseline: BotBaseline } | { baseline: undefined; damaged?: string };

/** `stored` (parsed JSON, or undefined when the bot has no row) checked as `botId`'s baseline. */
export function storedBaseline(stored: unknown, botId: string): StoredBaseline {
  if (stored === undefined) return { baseline: undefined };
  const parsed = botBaselineSchema.safeParse(stored);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      baseline: undefined,
      damaged: `${issue?.path.join('.') || 'baseline'}: ${issue?.message ?? 'not a baseline'}`,
    };
  }
  if (parsed.data.botId !== botId) {
    return {
      baseline: undefined,
      damaged: `botId: the row holds ${JSON.stringify(parsed.data.botId)}'s baseline`,
    };
  }
  return { baseline: parsed.data };
}
