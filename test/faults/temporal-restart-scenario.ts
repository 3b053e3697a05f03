/**
 * The steps the Temporal restart faults share (the dev server's, `temporal-restart.test.ts`, and
 * the cluster's, `test/cluster/temporal-restart-on-cluster.test.ts`): windows placed so that half
 * end while Temporal is down and the rest after it is back, the grants requested and seen active,
 * each grant's removal watched in slapd itself, and the delays measured from both.
 */
import { randomUUID } from 'node:crypto';
import type { ElevationView } from '../../core/model/elevation.js';
import { botOf, type Stack } from '../support/stack.js';
import { sleep } from './fault-settings.js';
import { ldapMemberships } from './membership-sources.js';

/**
 * When each of `n` windows ends: the first half spread over the outage (`downAt` to `downAt` +
 * `downMs`, a second inside each edge), the rest from 5 to 15 s after `upAt`.
 */
export function windowEnds(n: number, downAt: number, downMs: number, upAt: number): number[] {
  const k = Math.floor(n / 2);
  return Array.from({ length: n }, (_, i) =>
    i < k
      ? downAt + 1000 + (downMs - 2000) * (k === 1 ? 0.5 : i / (k - 1))
      : upAt + 5000 + 10_000 * (n - k === 1 ? 0 : (i - k) / (n - k - 1)),
  );
}

/** Requests `role` for each of `bots`, its window ending at `ends[i]`; resolves once all are active. */
export async function grantUntil(
  stack: Stack,
  role: string,
  bots: readonly string[],
  ends: readonly number[],
  justification: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, bot] of bots.entries()) {
    const { elevation } = await stack.services.requests.request(botOf(stack, bot), {
      role,
      durationSeconds: Math.max(2, Math.round((ends[i]! - Date.now()) / 1000)),
      justification,
      requestId: randomUUID(),
    });
    ids.push(elevation.id);
  }
  for (const id of ids) await stack.waitFor(id, (v) => v.status === 'active', 60_000);
  return ids;
}

/**
 * Watches slapd from now on, every 100 ms, for when each bot's membership of `role` is gone
 * (for at most `forMs`). `finish` waits up to 5 s more for the last ones, then stops.
 */
export function watchRemovals(
  stack: Stack,
  role: string,
  bots: readonly string[],
  forMs: number,
): { gone: Map<string, number>; finish: () => Promise<void> } {
  const gone = new Map<string, number>();
  const source = ldapMemberships(stack, [role]);
  let watching = true;
  const watcher = (async () => {
    const deadline = Date.now() + forMs;
    while (watching && gone.size < bots.length && Date.now() < deadline) {
      const held = await source.read().catch(() => undefined);
      const at = Date.now();
      for (const bot of bots)
        if (held && !gone.has(bot) && !held.some((m) => m.botId === bot)) gone.set(bot, at);
      await sleep(100);
    }
  })();
  return {
    gone,
    async finish() {
      const lastLook = Date.now() + 5000;
      while (gone.size < bots.length && Date.now() < lastLook) await sleep(100);
      watching = false;
      await watcher;
    },
  };
}

/** One window's delays around the restart at `restartedAt`. */
export interface RestartDelay {
  /** The window ended while Temporal was down. */
  during: boolean;
  /** Removal seen in slapd minus the window's end. */
  late: number;
  /** Removal seen in slapd minus the restart (negative: removed while Temporal was down). */
  afterRestart: number;
  /** When the workflow stored the revocation, minus the later of the end and the restart. */
  recordedLate: number;
}

export function restartDelays(
  views: readonly ElevationView[],
  gone: ReadonlyMap<string, number>,
  restartedAt: number,
): RestartDelay[] {
  return views.map((v) => {
    const end = Date.parse(v.expiresAt!);
    const seen = gone.get(v.botId) ?? Infinity;
    const recorded = v.endedAt ? Date.parse(v.endedAt) : Infinity;
    return {
      during: end < restartedAt,
      late: seen - end,
      afterRestart: seen - restartedAt,
      recordedLate: recorded - Math.max(end, restartedAt),
    };
  });
}

/** The fault table's delay: from the end, or from the restart for a window removed only after it. */
export function maxRevocationDelayMs(delays: readonly RestartDelay[]): number {
  return maxOf(delays.map((d) => (d.during && d.afterRestart >= 0 ? d.afterRestart : d.late)));
}

/** The largest of `xs`, 0 for none. */
export function maxOf(xs: readonly number[]): number {
  return xs.length ? Math.max(...xs) : 0;
}

/** Milliseconds as seconds with one decimal, for the notes. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
