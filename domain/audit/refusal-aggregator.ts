/**
 * Bounds what refusals *before authentication* write into the audit trail.
 *
 * Anyone can send a request with no credential, a guessed one or a garbage path, and each used
 * to become one verbatim audit event in the serialised hash chain: an attacker chose both how
 * many events were written and how large each was, and every legitimate append waited behind
 * them on the chain's head. So for an anonymous refusal (no elevation, actor `anonymous`):
 *
 * - the first refusal of a *key* — (event type, reason, route pattern, source network,
 *   credential fingerprint) — in a window is recorded as before, its fields cut to a bounded
 *   size ({@link boundRefusalData});
 * - later refusals of the same key in that window are only counted, and when the window ends one
 *   `refusals.summarized` event carries the count;
 * - at most {@link RefusalAggregatorOptions.maxKeys} keys are tracked per window; refusals of
 *   any further key are counted in one overflow bucket, summarised the same way.
 *
 * Memory and events per window are therefore bounded whatever the attacker sends:
 * at most `maxKeys + 1` recorded refusals and as many summaries. A source network is an IPv4
 * /24 or an IPv6 /64, so an attacker who rotates addresses inside one network is still one key.
 */
import { isIP } from 'node:net';
import type { EventType } from '../../core/model/events.js';

/** Default length of an aggregation window. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Default number of distinct keys tracked per window before the overflow bucket takes over. */
export const REFUSAL_MAX_KEYS = 1000;
/** Longest string kept in a pre-authentication refusal's data (an `Origin`, a message). */
export const REFUSAL_MAX_STRING = 200;

/** What a summary says about the refusals of one key in one window. */
export interface RefusalSummary {
  /** The type of the refusals summarised (`auth.refused`, `approval.refused`, …). */
  of: EventType;
  reason: string;
  route: string;
  /** The source network (`203.0.113.0/24`, `2001:db8:1:2::/64`), or `unknown`. */
  network: string;
  credential?: string;
  /** Every refusal of the key in the window, the one recorded in full included. */
  count: number;
  /** When the first and the last of them arrived (ISO 8601). */
  from: string;
  to: string;
  /** True for the bucket that counts the keys beyond the per-window limit (key fields are `*`). */
  overflow?: true;
}

export interface RefusalAggregatorOptions {
  /** Appends one summary to the audit trail; never expected to throw (errors are the caller's to log). */
  summarize: (summary: RefusalSummary) => Promise<void>;
  clock?: () => Date;
  /** Length of a window (default {@link REFUSAL_WINDOW_MS}). */
  windowMs?: number;
  /** Keys tracked per window (default {@link REFUSAL_MAX_KEYS}). */
  maxKeys?: number;
  /**
   * Sweep expired windows on a timer (default true): without it summaries are written only when
   * the same key comes back, on {@link RefusalAggregator.sweep} or on {@link RefusalAggregator.flush}.
   */
  timer?: boolean;
}

interface Entry {
  summary: RefusalSummary;
  startedAt: number;
}

/** The network a refusal came from: an IPv4 /24, an IPv6 /64 (IPv4-mapped IPv6 as IPv4), or `unknown`. */
export function sourceNetwork(ip: unknown): string {
  if (typeof ip !== 'string') return 'unknown';
  const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  if (isIP(v4) === 4) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIP(ip) !== 6) return 'unknown';
  // Expand `::` to get the first four groups.
  const [head = '', tail] = ip.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * A refusal's data with every value bounded: strings cut to {@link REFUSAL_MAX_STRING}
 * characters (marked with `…`), at most 20 fields and 20 array items, nesting 3 deep. What an
 * unauthenticated caller sends must never reach the audit trail at a size of their choosing.
 */
export function boundRefusalData(data: Record<string, unknown>): Record<string, unknown> {
  return bound(data, 0) as Record<string, unknown>;
}

function bound(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length > REFUSAL_MAX_STRING ? `${value.slice(0, REFUSAL_MAX_STRING)}…` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 3) return '[omitted]';
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => bound(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .slice(0, 20)
      .map(([k, v]) => [k.slice(0, 40), bound(v, depth + 1)]),
  );
}

/**
 * Decides, per anonymous refusal, whether it is recorded in full or only counted, and writes the
 * summaries of the windows that ended. One per process (the counts are the process's own).
 */
export class RefusalAggregator {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: () => Date;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RefusalAggregatorOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.windowMs = opts.windowMs ?? REFUSAL_WINDOW_MS;
    this.maxKeys = opts.maxKeys ?? REFUSAL_MAX_KEYS;
  }

  /**
   * Count one anonymous refusal. True when it is the first of its key in the window and should
   * be recorded in full; false when it is only counted (it will be in the window's summary).
   */
  admit(type: EventType, data: Record<string, unknown>): boolean {
    const now = this.clock().getTime();
    this.sweepAt(now);
    const summary: RefusalSummary = {
      of: type,
      reason: label(data.reason ?? data.code),
      route: label(data.route ?? data.path),
      network: sourceNetwork(data.ip),
      ...(typeof data.credential === 'string' ? { credential: data.credential.slice(0, 40) } : {}),
      count: 1,
      from: new Date(now).toISOString(),
      to: new Date(now).toISOString(),
    };
    const key = JSON.stringify([type, summary.reason, summary.route, summary.network, summary.credential]);
    const seen = this.entries.get(key);
    if (seen) {
      seen.summary.count += 1;
      seen.summary.to = summary.to;
      return false;
    }
    if (this.entries.size >= this.maxKeys) {
      const overflow = this.entries.get(OVERFLOW);
      if (overflow) {
        overflow.summary.count += 1;
        overflow.summary.to = summary.to;
      } else {
        const { credential: _credential, ...rest } = summary;
        this.entries.set(OVERFLOW, {
          startedAt: now,
          summary: { ...rest, reason: '*', route: '*', network: '*', overflow: true },
        });
      }
      return false;
    }
    this.entries.set(key, { startedAt: now, summary });
    this.startTimer();
    return true;
  }

  /** Write the summaries of the windows that have ended (the timer calls this). */
  sweep(): Promise<void> {
    this.sweepAt(this.clock().getTime());
    return this.pending;
  }

  /** Write every summary now, ended windows or not (on shutdown), and stop the timer. */
  flush(): Promise<void> {
    this.sweepAt(Number.POSITIVE_INFINITY);
    return this.pending;
  }

  /** Keys tracked right now (the overflow bucket included): for tests and diagnostics. */
  get size(): number {
    return this.entries.size;
  }

  private sweepAt(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.startedAt < this.windowMs) continue;
      this.entries.delete(key);
      // A key refused once needs no summary: its one refusal is recorded in full. The overflow
      // bucket's refusals were never recorded, so it is always summarised.
      if (entry.summary.count > 1 || entry.summary.overflow) {
        const summary = entry.summary;
        this.pending = this.pending.then(() => this.opts.summarize(summary)).catch(() => undefined);
      }
    }
    if (this.entries.size === 0) this.stopTimer();
  }

  private startTimer(): void {
    if (this.timer || this.opts.timer === false) return;
    this.timer = setInterval(() => void this.sweep(), Math.min(this.windowMs, 60_000));
    // Never what keeps a process (or a test) alive.
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

const OVERFLOW = '\u0000overflow';

/** A bounded label for a key field: the value if short and printable, else `other`. */
function label(value: unknown): string {
  return typeof value === 'string' && /^[\x21-\x7e]{1,120}$/.test(value) ? value : 'other';
}
