/**
 * A per-source limit on failed authentication, checked before any credential is looked up.
 *
 * Each source network (an IPv4 /24 or an IPv6 /64, as the audit trail's summaries group them)
 * has a bucket of {@link AuthFailureLimitSettings.burst} tokens that refills at
 * {@link AuthFailureLimitSettings.perMinute} tokens a minute. Only failures take a token — a
 * missing, malformed or unknown credential, a refused sign-in — so a source that authenticates
 * successfully never runs it down. An empty bucket refuses the source's next requests with 429
 * and `Retry-After` before any lookup (no store read, no hash, no audit event of its own: they
 * are counted, see `RefusalAggregator`), until a token has grown back; valid credentials from
 * that network are refused too while it floods, and work again within `60 / perMinute` seconds
 * of the flood's end.
 *
 * The map is bounded ({@link AuthFailureLimitSettings.maxSources}): the least recently failing
 * source is forgotten first, which can only make the limit more lenient, never lock anyone out.
 *
 * A failed request that a browser says another site started (`Sec-Fetch-Site: cross-site` or
 * `same-site`) is not counted ({@link countFailure}): any page an employee opens could otherwise
 * make their browser spend their network's budget and lock its bots out. Such a request cannot
 * carry a credential (browsers send no `Authorization` across sites without a CORS preflight,
 * which Elevate never grants), so it costs no lookup anyway; it is still refused and counted in
 * the metrics and the audit summaries.
 */
import type { Request } from 'express';
import { sourceNetwork } from '../domain/audit/refusal-aggregator.js';
import { crossSiteRefusal } from './cross-site.js';

/** The limit's numbers (`ELEVATE_AUTH_FAILURE_BURST`, `ELEVATE_AUTH_FAILURE_PER_MINUTE`). */
export interface AuthFailureLimitSettings {
  /** Failures a source network may make at once (the bucket's size). 0 turns the limit off. */
  burst: number;
  /** Failures per minute it may sustain (the refill rate). */
  perMinute: number;
  /** Source networks tracked at most (default 10,000). */
  maxSources?: number;
}

/**
 * Count a failed authentication of this request against its network, unless its browser says
 * another site started it (see above). `limit` undefined: no limit configured.
 */
export function countFailure(limit: AuthFailureLimit | undefined, req: Request): void {
  if (limit && !crossSiteRefusal(req)) limit.fail(req.ip);
}

/** Defaults: 20 failures at once, then one every 6 seconds, per network. */
export const DEFAULT_AUTH_FAILURE_LIMIT: AuthFailureLimitSettings = { burst: 20, perMinute: 10 };

interface Bucket {
  tokens: number;
  /** Epoch milliseconds of the last refill. */
  at: number;
}

/** One per process, shared by the API, the approval pages and the admin console. */
export class AuthFailureLimit {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxSources: number;
  private readonly clock: () => number;

  constructor(
    private readonly settings: AuthFailureLimitSettings = DEFAULT_AUTH_FAILURE_LIMIT,
    clock: () => Date = () => new Date(),
  ) {
    this.maxSources = settings.maxSources ?? 10_000;
    this.clock = () => clock().getTime();
  }

  /**
   * Seconds until the source may try again, or 0 when it may now. Takes nothing: only
   * {@link fail} does.
   */
  retryAfter(ip: string | undefined): number {
    if (this.settings.burst <= 0) return 0;
    const bucket = this.refilled(sourceNetwork(ip), false);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / this.settings.perMinute));
  }

  /** Count one failed authentication from the source. */
  fail(ip: string | undefined): void {
    if (this.settings.burst <= 0) return;
    const bucket = this.refilled(sourceNetwork(ip), true)!;
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  /** Source networks tracked right now (for tests). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, create: boolean): Bucket | undefined {
    const now = this.clock();
    let bucket = this.buckets.get(key);
    if (bucket) {
      const grown = ((now - bucket.at) / 60_000) * this.settings.perMinute;
      bucket.tokens = Math.min(this.settings.burst, bucket.tokens + grown);
      bucket.at = now;
      if (!create) return bucket;
      // Most recently failing last: eviction takes the one that failed longest ago.
      this.buckets.delete(key);
    } else {
      if (!create) return undefined;
      bucket = { tokens: this.settings.burst, at: now };
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxSources) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return bucket;
  }
}
