/**
 * The invariants of Elevate under faults, checked from the outside: against what the targets
 * themselves hold (see membership-sources.ts) and what the audit store recorded.
 *
 * - No grant without an open, approved elevation of that bot and role whose window has not
 *   ended more than the revocation-lag bound ago ("leftover grant").
 * - No elevation recorded `active`, with its window still running, whose grant is missing from
 *   the target ("active without grant").
 * - Every granted elevation ends `revoked` ("lost revocation" otherwise).
 * - Every ended elevation's events are complete and in order, each step once (requested,
 *   approved, grant.confirmed, revoke.started, elevation.revoked for a granted one).
 * - The audit hash chain verifies.
 *
 * `sample()` takes one snapshot (run in a loop by `startSampling` while faults are injected);
 * `settle()` and `finalCheck()` look at the end state; `endedReport()` at the events.
 */
import type { AuditEvent } from '../../core/model/audit-record.js';
import { FINAL_STATUSES, type ElevationView } from '../../core/model/elevation.js';
import type { Stores } from '../../store/stores.js';
import type { Membership, MembershipSource } from './membership-sources.js';
import { sleep } from './fault-settings.js';

export type ViolationKind =
  | 'leftover-grant'
  | 'active-without-grant'
  | 'lost-revocation'
  | 'missing-event'
  | 'repeated-event'
  | 'audit-chain';

export interface Violation {
  kind: ViolationKind;
  detail: string;
  elevationId?: string;
  at: string;
}

export interface InvariantOptions {
  stores: Pick<Stores, 'elevations' | 'auditLog'>;
  sources: MembershipSource[];
  /**
   * How long after its window a grant may still be in the target before it counts as left over
   * (a fault that stops revocation, such as a dead worker or a target that is down, needs more).
   */
  lagMs: number;
  /** An active elevation's grant must be present from this long after its grant to this long before its end. */
  activeMarginMs?: number;
}

const isFinal = (v: ElevationView) => FINAL_STATUSES.includes(v.status);
/** Statuses in which the role may be in the target: approved (granting) and later, ended ones included. */
const MAY_HOLD = new Set(['approved', 'active', 'revoking', 'revoked', 'failed']);
const key = (m: Membership) => `${m.botId}|${m.roleId}`;

/** The events each way of ending must have, in this order (others may come between). */
function expectedEvents(v: ElevationView): string[] {
  switch (v.status) {
    case 'revoked':
      // Withdrawn (or revoked by an admin) while pending: nothing was approved or granted.
      if (!v.grantedAt && (v.endReason === 'withdrawn' || v.endReason === 'admin_revoked')) {
        return ['elevation.requested', 'elevation.revoked'];
      }
      return [
        'elevation.requested',
        'elevation.approved',
        ...(v.grantedAt ? ['grant.confirmed'] : []),
        'revoke.started',
        'elevation.revoked',
      ];
    case 'failed':
      return v.endReason === 'grant_failed'
        ? ['elevation.requested', 'elevation.approved', 'grant.failed', 'revoke.started', 'elevation.failed']
        : ['elevation.requested', 'elevation.failed'];
    case 'expired':
      return ['elevation.requested', 'elevation.expired'];
    case 'denied':
      return ['elevation.requested', 'elevation.denied'];
    default:
      return [];
  }
}

/** Steps that happen once per elevation at most. */
const ONCE = [
  'elevation.requested',
  'elevation.approved',
  'grant.confirmed',
  'revoke.started',
  'elevation.revoked',
  'elevation.failed',
  'elevation.expired',
  'elevation.denied',
];

export interface EndedReport {
  missing: number;
  repeated: number;
  /** Window end to confirmed removal, per elevation revoked at the end of its window. */
  delays: { elevationId: string; ms: number }[];
}

export class InvariantChecker {
  readonly violations: Violation[] = [];
  lagMs: number;
  private readonly margin: number;
  /** Keys now in violation, so one episode counts once however many samples see it. */
  private readonly open = new Set<string>();
  samples = 0;
  unreadableSamples = 0;

  constructor(private readonly opts: InvariantOptions) {
    this.lagMs = opts.lagMs;
    this.margin = opts.activeMarginMs ?? 1000;
  }

  count(kind: ViolationKind): number {
    return this.violations.filter((v) => v.kind === kind).length;
  }

  private add(kind: ViolationKind, detail: string, elevationId?: string) {
    this.violations.push({
      kind,
      detail,
      at: new Date().toISOString(),
      ...(elevationId ? { elevationId } : {}),
    });
  }

  /** Every elevation in the store (they are few in a fault run). */
  async views(): Promise<ElevationView[]> {
    const all: ElevationView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.opts.stores.elevations.listElevations({
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  }

  /** Grants in the sources that can be read now (a target that is down cannot), and their roles. */
  private async memberships(): Promise<{ members: Membership[]; roles: Set<string>; unreadable: number }> {
    const results = await Promise.allSettled(this.opts.sources.map((s) => s.read()));
    const members: Membership[] = [];
    const roles = new Set<string>();
    results.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      members.push(...r.value);
      for (const role of this.opts.sources[i]!.roleIds) roles.add(role);
    });
    return { members, roles, unreadable: results.filter((r) => r.status === 'rejected').length };
  }

  /** One snapshot: leftover grants beyond the lag bound, and active elevations without their grant. */
  async sample(): Promise<void> {
    const before = await this.views();
    const readAt = Date.now();
    const { members, roles, unreadable } = await this.memberships();
    const readDone = Date.now();
    if (unreadable > 0) this.unreadableSamples += 1;
    if (roles.size === 0) return;
    this.samples += 1;
    // Read after the targets: an elevation that covered a grant at read time is in this list,
    // ended since or not.
    const after = await this.views();
    const held = new Set(members.map(key));
    const now = new Set<string>();

    for (const m of members) {
      const covered = after.some(
        (v) =>
          v.botId === m.botId &&
          v.roleId === m.roleId &&
          MAY_HOLD.has(v.status) &&
          (!isFinal(v) || (v.endedAt !== undefined && Date.parse(v.endedAt) >= readAt)) &&
          (v.expiresAt === undefined || readAt <= Date.parse(v.expiresAt) + this.lagMs),
      );
      const k = `leftover|${m.roleId}|${m.botId}`;
      if (!covered) {
        now.add(k);
        if (!this.open.has(k))
          this.add('leftover-grant', `${key(m)} held with no open elevation (lag bound ${this.lagMs} ms)`);
      }
    }
    for (const v of before) {
      if (v.status !== 'active' || !v.grantedAt || !v.expiresAt || !roles.has(v.roleId)) continue;
      const from = Date.parse(v.grantedAt) + this.margin;
      const to = Date.parse(v.expiresAt) - this.margin;
      if (readAt < from || readDone > to) continue;
      const k = `active|${v.roleId}|${v.id}`;
      if (!held.has(`${v.botId}|${v.roleId}`)) {
        now.add(k);
        if (!this.open.has(k))
          this.add(
            'active-without-grant',
            `${v.botId}|${v.roleId} active until ${v.expiresAt} but not in the target`,
            v.id,
          );
      }
    }
    // Episodes of roles not read this time stay open: unread is not ended.
    for (const k of [...this.open]) if (roles.has(k.split('|')[1]!)) this.open.delete(k);
    for (const k of now) this.open.add(k);
  }

  /** Sample every `intervalMs` until the returned function is called (it waits for the last sample). */
  startSampling(intervalMs = 300): () => Promise<void> {
    let running = true;
    const loop = (async () => {
      while (running) {
        await this.sample().catch(() => {
          this.unreadableSamples += 1;
        });
        await sleep(intervalMs);
      }
    })();
    return async () => {
      running = false;
      await loop;
    };
  }

  /**
   * Waits until the given elevations (default: all in the store) are stored and have ended, or
   * the time is up; their last views.
   */
  async settle(timeoutMs: number, ids?: string[]): Promise<ElevationView[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = (await this.views()).filter((v) => !ids || ids.includes(v.id));
      const all = !ids || views.length === ids.length;
      if ((all && views.every(isFinal)) || Date.now() > deadline) return views;
      await sleep(250);
    }
  }

  /**
   * The end state, once everything should have ended: a granted elevation not `revoked` is a lost
   * revocation, and a grant left in a target with no elevation still running is left over.
   */
  async finalCheck(views: ElevationView[]): Promise<void> {
    for (const v of views) {
      if (v.grantedAt && v.status !== 'revoked') {
        this.add('lost-revocation', `${v.botId}|${v.roleId} granted and still ${v.status}`, v.id);
      }
    }
    const { members, unreadable } = await this.memberships();
    if (unreadable > 0) throw new Error('a target could not be read for the final check');
    const fresh = await this.views();
    for (const m of members) {
      const running = fresh.some((v) => v.botId === m.botId && v.roleId === m.roleId && !isFinal(v));
      if (!running) this.add('leftover-grant', `${key(m)} still held after every elevation ended`);
    }
  }

  /** Checks the events of ended elevations, and measures their revocation delays. */
  async endedReport(views: ElevationView[]): Promise<EndedReport> {
    const report: EndedReport = { missing: 0, repeated: 0, delays: [] };
    for (const v of views.filter(isFinal)) {
      const events = await this.opts.stores.auditLog.listEvents(v.id);
      const types = events.map((e) => e.type as string);
      let from = 0;
      for (const want of expectedEvents(v)) {
        const at = types.indexOf(want, from);
        if (at < 0) {
          report.missing += 1;
          this.add('missing-event', `${want} missing (${v.status}; has ${types.join(', ')})`, v.id);
        } else from = at + 1;
      }
      for (const once of ONCE) {
        const n = types.filter((t) => t === once).length;
        if (n > 1) {
          report.repeated += n - 1;
          this.add('repeated-event', `${once} recorded ${n} times`, v.id);
        }
      }
      const gaps = seqGaps(events);
      if (gaps > 0) {
        report.missing += gaps;
        this.add('missing-event', `${gaps} gap(s) in the event sequence`, v.id);
      }
      const delay = revocationDelay(v, events);
      if (delay !== undefined) report.delays.push({ elevationId: v.id, ms: delay });
    }
    return report;
  }

  /** The audit chain, verified by the store's own verify. */
  async verifyChain(): Promise<boolean> {
    const result = await this.opts.stores.auditLog.verify();
    if (!result.ok) this.add('audit-chain', JSON.stringify(result));
    return result.ok;
  }
}

/** Numbers missing from the elevation's sequence 1, 2, 3... (a lost event leaves one). */
function seqGaps(events: AuditEvent[]): number {
  return (events.at(-1)?.seq ?? 0) - events.length;
}

/**
 * For an elevation revoked at the end of its window: from the window's end to the target's
 * confirmed removal (the receipt's read-back time, else when the revocation was recorded).
 */
export function revocationDelay(v: ElevationView, events: AuditEvent[]): number | undefined {
  if (v.status !== 'revoked' || v.endReason !== 'expired' || !v.expiresAt) return undefined;
  const revoked = events.find((e) => e.type === 'elevation.revoked');
  if (!revoked) return undefined;
  const receipt = revoked.data.receipt as { verifiedAt?: string } | undefined;
  const at = receipt?.verifiedAt ?? revoked.at;
  return Date.parse(at) - Date.parse(v.expiresAt);
}
