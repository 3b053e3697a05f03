/**
 * The arithmetic of the benchmark's load phases (`bench-ramp.ts`, `bench-hold.ts`), apart from
 * their I/O: percentiles, the completion rate a ramp step achieved, when a step counts as
 * saturated, and when each held window ends.
 */

/** The `p`th percentile of ascending `sorted` (nearest rank); NaN when empty. */
export const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** One decimal. */
export const round = (n: number): number => Math.round(n * 10) / 10;

/** p50, p99 and maximum of `values` (any order), rounded. */
export function spread(values: readonly number[]): { p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50Ms: round(pct(sorted, 50)), p99Ms: round(pct(sorted, 99)), maxMs: round(sorted.at(-1) ?? NaN) };
}

/** One lifecycle of a ramp step, as recorded (epoch milliseconds). */
export interface LifecycleTimes {
  /** When the client sent the request. */
  sentAt: number;
  /** The revocation receipt's `verifiedAt`: the grant read back gone. */
  revokedAt: number;
}

/**
 * Lifecycles completed a second: those whose revocation was read back within a span as long as
 * the step, divided by its length. The span starts `windowSeconds` after the step (the first
 * windows end then) plus the median of each lifecycle's own overhead (request → active plus the
 * revocation lag), so a stack that keeps up completes every lifecycle of the step inside it and
 * scores the offered rate; one that falls behind completes only what it can in that time, and
 * scores its throughput. A few slow lifecycles cost only themselves, not the rate.
 */
export function completedPerSecond(
  lifecycles: readonly LifecycleTimes[],
  stepStart: number,
  stepSeconds: number,
  windowSeconds: number,
): number {
  if (lifecycles.length === 0) return 0;
  const windowMs = windowSeconds * 1000;
  const overheads = lifecycles.map((l) => l.revokedAt - l.sentAt - windowMs).sort((a, b) => a - b);
  const from = stepStart + windowMs + Math.max(0, pct(overheads, 50));
  const to = from + stepSeconds * 1000;
  const inside = lifecycles.filter((l) => l.revokedAt >= from && l.revokedAt < to).length;
  return round(inside / stepSeconds);
}

/** What decides whether a ramp step saturated the stack. */
export interface StepOutcome {
  offeredPerSec: number;
  completedPerSec: number;
  requestToActiveP99Ms: number;
  revocationLagP99Ms: number;
}

/** A completed rate more than this fraction short of the offered one saturates. */
export const SHORTFALL = 0.1;
/** A p99 (request → active or revocation lag) above this saturates. */
export const P99_LIMIT_MS = 1000;

/** Why a step counts as saturated, or undefined when it kept up. */
export function saturation(step: StepOutcome): string | undefined {
  if (step.completedPerSec < step.offeredPerSec * (1 - SHORTFALL))
    return `completed ${step.completedPerSec}/s of ${step.offeredPerSec}/s offered`;
  // NaN (nothing measured) is not taken for a fast answer.
  if (!(step.requestToActiveP99Ms <= P99_LIMIT_MS))
    return `request→active p99 ${step.requestToActiveP99Ms} ms > ${P99_LIMIT_MS} ms`;
  if (!(step.revocationLagP99Ms <= P99_LIMIT_MS))
    return `revocation lag p99 ${step.revocationLagP99Ms} ms > ${P99_LIMIT_MS} ms`;
  return undefined;
}

/**
 * Where a ramp's steps saturated: the first step with a reason, and the highest offered rate
 * completed before it (null when even the first step saturated).
 */
export function rampSummary<S extends { offeredPerSec: number; saturated: string | null }>(
  steps: readonly S[],
): { highestKeptUpPerSec: number | null; firstSaturated: S | undefined } {
  const first = steps.findIndex((s) => s.saturated);
  const kept = first < 0 ? steps : steps.slice(0, first);
  return {
    highestKeptUpPerSec: kept.length > 0 ? Math.max(...kept.map((s) => s.offeredPerSec)) : null,
    firstSaturated: first < 0 ? undefined : steps[first],
  };
}

/**
 * When the `i`th of `count` held windows should end: all requests go out at `ratePerSec` from
 * `start`, the first window ends `leadSeconds` after the last request is due, and the ends are
 * spread evenly over `spreadSeconds` from there, in the order of the requests.
 */
export function holdEnd(
  i: number,
  plan: { start: number; count: number; ratePerSec: number; leadSeconds: number; spreadSeconds: number },
): number {
  const firstEnd = plan.start + (plan.count / plan.ratePerSec + plan.leadSeconds) * 1000;
  const share = plan.count > 1 ? i / (plan.count - 1) : 0;
  return firstEnd + share * plan.spreadSeconds * 1000;
}

/** Where the hold's grants go: bots, LDAP groups and each grant's pair of them. */
export interface HoldLayout {
  bots: number;
  groups: number;
  /** The `j`th grant's bot and group (indexes). */
  grantOf(j: number): { bot: number; group: number };
  /** The groups bot `i` needs a role for. */
  groupsOf(i: number): number[];
}

/**
 * Lays `count` grants over at most `maxBots` bots and groups of at most `groupSize` members, so
 * that no two grants share a (bot, group) pair: a bot holds one grant in each of several groups
 * when there are more grants than bots. Grants go round the bots in order (the `j`th to bot
 * `j mod bots`), so a bot's grants are `bots` requests apart.
 */
export function holdLayout(count: number, maxBots: number, groupSize: number): HoldLayout {
  const bots = Math.min(count, maxBots);
  const perBot = bots > 0 ? Math.ceil(count / bots) : 0;
  const blocks = Math.ceil(bots / groupSize);
  const groupOf = (slot: number, bot: number) => slot * blocks + Math.floor(bot / groupSize);
  return {
    bots,
    groups: perBot * blocks,
    grantOf: (j) => ({ bot: j % bots, group: groupOf(Math.floor(j / bots), j % bots) }),
    groupsOf: (i) =>
      Array.from({ length: perBot }, (_, slot) => slot)
        .filter((slot) => slot * bots + i < count)
        .map((slot) => groupOf(slot, i)),
  };
}

/** Parses `--ramp 20,40,60`: positive rates, in order. */
export function parseRates(text: string): number[] {
  const rates = text.split(',').map((s) => Number(s.trim()));
  if (rates.length === 0 || rates.some((r) => !Number.isFinite(r) || r <= 0))
    throw new Error(`--ramp takes rates a second separated by commas, e.g. 20,40,60 (got "${text}")`);
  return rates;
}
