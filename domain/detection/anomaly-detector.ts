/**
 * One run of continuous detection (the `detectAnomalies` activity, every few minutes from the
 * schedule `elevate-detection`): brings the baselines up to date with the audit log, reads what
 * the rules of `core/rules/anomalies.ts` need (baselines, each bot's latest elevations, the last
 * hour's credential refusals, bot states, the directory), runs them, and for each anomaly found
 * records an `anomaly.detected` event, alerts and counts it.
 *
 * Deduplicated across runs and workers: the first run to find an anomaly (a kind about a bot or
 * a fleet) claims it in the single-use store (namespace `anomaly-alerted`) for
 * `detection.realertHours`; later runs within that time leave it alone. The claim names the event
 * (its id is fixed when claimed), so a run that stopped between the claim and the alert (a crash,
 * Slack down) is finished by the next run that finds the anomaly: the append is idempotent by id
 * and the notifier posts once per event.
 */
import { storedBaseline } from '../../core/rules/stored-baseline.js';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Policy } from '../../config/policy.js';
import { anomalySettingsOf, baselineSettingsOf } from '../../config/risk-policy.js';
import type { AnomalyFinding, AnomalyKind, DetectionRunResult } from '../../core/model/anomaly.js';
import type { TypedAuditAppender } from '../../core/model/audit-record.js';
import { eventDataOf } from '../../core/model/event-data.js';
import type { PeopleDirectory } from '../../core/ports/approver-directory.js';
import type { DetectionMetrics } from '../../core/ports/metrics.js';
import type { ApprovalNotifier } from '../../core/ports/notifier.js';
import type { SingleUseNamespaces, SingleUseRecords } from '../../core/ports/single-use.js';
import {
  anomalySubject,
  credentialRefusalBursts,
  dormantBot,
  fleetRateSpike,
  fleetsOf,
  grantsRunToExpiry,
  orphanedBot,
  type CredentialRefusal,
  type GrantEnd,
} from '../../core/rules/anomalies.js';
import { DAY_MS, HOUR_MS, type BotBaseline } from '../../core/rules/bot-baseline.js';
import type { AuditEventsByType } from '../../store/audit-by-type.js';
import type { BotActivityIndex, BotElevationRow } from '../../store/bot-activity.js';
import type { BotBaselines } from '../../store/bot-baselines.js';
import type { BotStates } from '../../store/bot-state.js';
import type { RiskScorer } from './risk-scorer.js';

/** Who anomalies are recorded as. */
const DETECTION_ACTOR = { kind: 'system', id: 'elevate' } as const;

/** Pages of audit events (a thousand each) folded into the baselines before a run looks. */
const KEEP_UP_PAGES = 50;
/** A bot's latest elevations read: its last request, and how its latest grants ended. */
const LATEST_ELEVATIONS = 50;
/** Credential refusals read from the last hour at most (a flood is an anomaly long before). */
const MAX_REFUSALS = 5_000;
/** How long "first seen by detection" is remembered (a bot that never requested counts from it). */
const WATCHED_TTL_MS = 10 * 365 * DAY_MS;

/** The claim on one anomaly, until it may be recorded and alerted again. */
const ClaimSchema = z.object({
  eventId: z.string(),
  at: z.string(),
  /** Epoch ms the claim ends (kept when it is marked alerted). */
  until: z.number(),
  alerted: z.boolean(),
});
type Claim = z.infer<typeof ClaimSchema>;

export interface AnomalyDetectorDeps {
  scorer: Pick<RiskScorer, 'keepUp'>;
  baselines: Pick<BotBaselines, 'get'>;
  botStates: Pick<BotStates, 'listBotStates'>;
  botActivity: Pick<BotActivityIndex, 'latestElevations'>;
  eventsByType: Pick<AuditEventsByType, 'since'>;
  policy: Pick<Policy, 'bots' | 'detection'>;
  /** Where owners are looked up; absent (no LDAP directory): orphaned bots are not looked for. */
  directory?: PeopleDirectory;
  /** The claims (`anomaly-alerted`) and first sightings (`detection-watched`). */
  singleUse: SingleUseNamespaces;
  store: TypedAuditAppender;
  notifier: Pick<ApprovalNotifier, 'alertAnomaly'>;
  metrics?: DetectionMetrics;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** The policy's `detection.alertChannel`. */
  alertChannel?: string;
  clock?: () => Date;
}

/** What became of one finding. */
type Outcome = 'recorded' | 'finished' | 'suppressed';

export class AnomalyDetector {
  private readonly claims: SingleUseRecords<Claim>;
  private readonly watched: SingleUseRecords<number>;
  private readonly clock: () => Date;

  constructor(private readonly deps: AnomalyDetectorDeps) {
    this.claims = deps.singleUse.namespace('anomaly-alerted', ClaimSchema);
    this.watched = deps.singleUse.namespace('detection-watched', z.number());
    this.clock = deps.clock ?? (() => new Date());
  }

  /** One run: keep up, look, record what is new. */
  async run(): Promise<DetectionRunResult> {
    const folded = await this.deps.scorer.keepUp(KEEP_UP_PAGES);
    const now = this.clock();
    const skipped: string[] = [];
    const findings = [
      ...(await this.fleetSpikes(now.getTime())),
      ...(await this.credentialRefusals(now.getTime())),
      ...(await this.perBot(now.getTime())),
      ...(await this.orphans(skipped)),
    ];
    const result: DetectionRunResult = {
      at: now.toISOString(),
      folded,
      bots: this.deps.policy.bots.length,
      found: findings.length,
      recorded: 0,
      suppressed: 0,
      byKind: {},
      skipped,
      alertFailures: 0,
    };
    for (const finding of findings) {
      const { outcome, alerted } = await this.record(finding, now);
      if (outcome === 'recorded') {
        result.recorded += 1;
        result.byKind[finding.kind] = (result.byKind[finding.kind] ?? 0) + 1;
      }
      if (outcome === 'suppressed') result.suppressed += 1;
      if (!alerted) result.alertFailures += 1;
    }
    return result;
  }

  /** (a) Rate spikes across the bots of a team or an owner. */
  private async fleetSpikes(at: number): Promise<AnomalyFinding[]> {
    const { policy } = this.deps;
    const baselines = new Map<string, BotBaseline>();
    for (const bot of policy.bots) {
      // A damaged row is left out here; scoring reports it and writes a fresh one over it.
      const stored = storedBaseline(await this.deps.baselines.get(bot.id), bot.id).baseline;
      if (stored) baselines.set(bot.id, stored);
    }
    const settings = anomalySettingsOf(policy.detection);
    const window = baselineSettingsOf(policy.detection);
    return fleetsOf(policy.bots).flatMap(
      (fleet) => fleetRateSpike(fleet, baselines, at, settings, window) ?? [],
    );
  }

  /** (b) Repeated credential fetch refusals in the last hour. */
  private async credentialRefusals(at: number): Promise<AnomalyFinding[]> {
    const since = new Date(at - HOUR_MS).toISOString();
    const events = await this.deps.eventsByType.since('credentials.refused', since, MAX_REFUSALS);
    const refusals: CredentialRefusal[] = events
      .filter((e) => e.actor.kind === 'bot')
      .map((e) => ({
        botId: e.actor.id,
        at: Date.parse(e.at),
        reason: eventDataOf(e, 'credentials.refused')?.reason ?? 'unknown',
        elevationId: e.elevationId,
      }));
    return credentialRefusalBursts(refusals, at, anomalySettingsOf(this.deps.policy.detection));
  }

  /** (c) Grants run to expiry by a bot that gave them back early, and (d) dormant bots. */
  private async perBot(at: number): Promise<AnomalyFinding[]> {
    const { policy } = this.deps;
    const settings = anomalySettingsOf(policy.detection);
    const window = baselineSettingsOf(policy.detection);
    const states = new Map((await this.deps.botStates.listBotStates()).map((s) => [s.botId, s]));
    const found: AnomalyFinding[] = [];
    for (const bot of policy.bots) {
      const rows = await this.deps.botActivity.latestElevations(bot.id, LATEST_ELEVATIONS);
      const expiry = grantsRunToExpiry(bot.id, grantEnds(rows, at - window.windowDays * DAY_MS), settings);
      if (expiry) found.push(expiry);
      const lastRequestAt = rows[0] ? Date.parse(rows[0].requestedAt) : null;
      const dormant = dormantBot(
        {
          botId: bot.id,
          roles: bot.roles,
          enabled: !(states.get(bot.id)?.disabled?.value ?? bot.disabled),
          lastRequestAt,
          watchedSince: lastRequestAt === null ? await this.watchedSince(bot.id, at) : null,
        },
        at,
        settings,
      );
      if (dormant) found.push(dormant);
    }
    return found;
  }

  /** (e) Bots whose owner left the directory; without a directory, noted as skipped. */
  private async orphans(skipped: string[]): Promise<AnomalyFinding[]> {
    const { directory, policy } = this.deps;
    if (!directory) {
      skipped.push('orphaned bots: no directory is configured (LDAP_URL), so owners cannot be looked up');
      return [];
    }
    const present = new Map<string, boolean>();
    const found: AnomalyFinding[] = [];
    for (const bot of policy.bots) {
      const owner = bot.owner.toLowerCase();
      if (!present.has(owner)) {
        try {
          present.set(owner, await directory.hasPerson(bot.owner));
        } catch (err) {
          const message = (err as Error).message;
          this.deps.logger.warn(
            { err: message },
            'detection: the directory did not answer; orphaned bots are looked for next run',
          );
          skipped.push(`orphaned bots: the directory did not answer (${message})`);
          return found;
        }
      }
      const orphan = orphanedBot({ botId: bot.id, owner: bot.owner, roles: bot.roles }, present.get(owner)!);
      if (orphan) found.push(orphan);
    }
    return found;
  }

  /** When detection first saw a bot that never requested (now, the first time). */
  private async watchedSince(botId: string, at: number): Promise<number> {
    const seen = await this.watched.peek(botId);
    if (seen !== undefined) return seen;
    await this.watched.put(botId, at, new Date(at + WATCHED_TTL_MS));
    return (await this.watched.peek(botId)) ?? at;
  }

  /**
   * Records, alerts and counts one finding, unless it was recorded within the re-alert time.
   * `alerted` is false only when the alert failed (the next run that finds it tries again).
   */
  private async record(finding: AnomalyFinding, now: Date): Promise<{ outcome: Outcome; alerted: boolean }> {
    const settings = anomalySettingsOf(this.deps.policy.detection);
    const key = claimKey(finding.kind, anomalySubject(finding));
    let claim = await this.claims.peek(key);
    if (claim?.alerted) return { outcome: 'suppressed', alerted: true };
    let outcome: Outcome = 'finished';
    if (!claim) {
      const fresh: Claim = {
        eventId: `anomaly-${key.replace(':', '-')}-${now.getTime()}`,
        at: now.toISOString(),
        until: now.getTime() + settings.realertHours * HOUR_MS,
        alerted: false,
      };
      // Atomic across workers: another run that claimed it first has it.
      if (!(await this.claims.put(key, fresh, new Date(fresh.until))))
        return { outcome: 'suppressed', alerted: true };
      claim = fresh;
      outcome = 'recorded';
    }
    const stored = await this.deps.store.append({
      id: claim.eventId,
      elevationId: null,
      type: 'anomaly.detected',
      at: claim.at,
      actor: DETECTION_ACTOR,
      data: finding,
    });
    // What was recorded first, if a run that did not finish recorded it.
    const recorded = eventDataOf(stored, 'anomaly.detected') ?? finding;
    if (outcome === 'recorded') {
      this.deps.metrics?.anomalies.inc({ kind: recorded.kind });
      this.deps.logger.info(
        { eventId: claim.eventId, kind: recorded.kind, botId: recorded.botId, severity: recorded.severity },
        `anomaly detected: ${recorded.text}`,
      );
    }
    const bot = this.deps.policy.bots.find((b) => b.id === recorded.botId);
    try {
      await this.deps.notifier.alertAnomaly?.({
        eventId: claim.eventId,
        at: claim.at,
        finding: recorded,
        ...(bot ? { owner: bot.owner, team: bot.team } : {}),
        ...(this.deps.alertChannel ? { channel: this.deps.alertChannel } : {}),
      });
    } catch (err) {
      this.deps.logger.error(
        { eventId: claim.eventId, kind: recorded.kind, err: (err as Error).message },
        'could not alert an anomaly (it is in the audit trail); the next run that finds it tries again',
      );
      return { outcome, alerted: false };
    }
    await this.claims.replace(key, { ...claim, alerted: true }, new Date(claim.until));
    return { outcome, alerted: true };
  }
}

/** The claim's key: the kind and a hash of the subject (a fleet's name or an address may be long). */
function claimKey(kind: AnomalyKind, subject: string): string {
  return `${kind}:${createHash('sha256').update(subject).digest('hex').slice(0, 32)}`;
}

/**
 * A bot's grants that were given back or ran to expiry, requested since `since`, oldest end
 * first. Other ends (an admin's revocation, a lockdown, a failed grant) say nothing of its habit.
 */
export function grantEnds(rows: readonly BotElevationRow[], since: number): GrantEnd[] {
  return rows
    .filter(
      (r) =>
        r.grantedAt !== null &&
        r.endedAt !== null &&
        (r.endReason === 'given_back' || r.endReason === 'expired') &&
        Date.parse(r.requestedAt) >= since,
    )
    .map((r) => ({ at: Date.parse(r.endedAt!), givenBack: r.endReason === 'given_back' }))
    .sort((a, b) => a.at - b.at);
}
