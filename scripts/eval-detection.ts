/**
 * `npm run eval:detection [-- --seed N --bots N --days N --verbose]`: how well the inline risk
 * score tells injected anomalies from normal bot behaviour, measured on a generated fleet.
 *
 * 1. Generates a labelled fleet (`detection-fleet.ts`: default 60 bots, 60 days, four rhythms)
 *    and injects incidents of every anomaly kind (`detection-anomalies.ts`), all from the seed.
 * 2. Replays the whole history in time order through the real rules: every request is scored by
 *    `scoreRequest` against its bot's baseline as it stands, then folded into the baseline by
 *    `observe`, as are refusals, decisions and ends (default baseline settings and thresholds),
 *    each request with the level it scored. An alert is a request scored `high` or `critical`.
 *    The score routes: a critical request is denied; a high one is decided by the escalation
 *    group, taken to deny an injected request and approve a normal one; other decisions are as
 *    generated.
 * 3. Prints, per kind and overall:
 *    - recall: incidents with at least one alert among their requests / incidents (an incident
 *      is caught when one of its requests is: the escalation or denial then stops it);
 *    - precision: caught incidents / (caught incidents + false episodes). A false alert is an
 *      alert on a normal request; false alerts of one bot with the same largest behavioural
 *      reason, each within an hour of the one before, make one false episode (as an incident's
 *      alerts count once: both sides are counted as what a person would look into). Per kind, a
 *      false episode counts against the kind its largest behavioural reason points to
 *      (`new_network`, `new_user_agent`, `unusual_hour`, `refusal_burst` → stolen key;
 *      `new_role` → role never used and privilege creep, both; `long_duration` → duration spike;
 *      `rate_spike` → rate spike; `new_workload` → compromised CI), so that a kind cannot look
 *      precise by leaving its false alarms to others;
 *    - false alerts (each one, not episodes) per 1,000 normal requests scored with a baseline.
 *      A bot's normal request alerting during one of its incidents for the bot's traffic (rate,
 *      refusals) alerts because of the incident: it is counted apart, in neither figure;
 *    - the scoring time per request (p50, p99), measured around each `scoreRequest` call.
 *
 * The last line of output is one JSON object with the overall figures and `byKind`.
 */
import { storedBaseline } from '../core/rules/stored-baseline.js';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  DEFAULT_BASELINE_SETTINGS,
  DEFAULT_RISK_THRESHOLDS,
  type BaselineObservation,
  type RiskAssessment,
  type RiskReasonCode,
  type ScoringRequest,
} from '../core/model/risk.js';
import { emptyBaseline, observe, type BotBaseline } from '../core/rules/bot-baseline.js';
import { scoreRequest } from '../core/rules/risk-score.js';
import { ANOMALY_KINDS, injectAnomalies, type AnomalyKind, type Incident } from './detection-anomalies.js';
import { DAY, MINUTE, Rng, generateFleet, normalHistory, type GenRequest } from './detection-fleet.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    bots: { type: 'string', default: '60' },
    days: { type: 'string', default: '60' },
    verbose: { type: 'boolean', default: false },
  },
});
const SEED = Number(values.seed);
const BOTS = Number(values.bots);
const DAYS = Number(values.days);
if (![SEED, BOTS, DAYS].every(Number.isInteger) || BOTS < 8 || DAYS < 30) {
  throw new Error('--seed must be an integer, --bots at least 8, --days at least 30');
}
/** A Monday, so that the weekly rhythm starts at a week's start. */
const START = Date.UTC(2025, 0, 6);
const SETTINGS = DEFAULT_BASELINE_SETTINGS;
const THRESHOLDS = DEFAULT_RISK_THRESHOLDS;

/** Which kind a false alert counts against, by its largest behavioural reason. */
const KINDS_OF_REASON: Partial<Record<RiskReasonCode, AnomalyKind[]>> = {
  new_network: ['stolen_key'],
  new_user_agent: ['stolen_key'],
  unusual_hour: ['stolen_key'],
  refusal_burst: ['stolen_key'],
  new_role: ['role_never_used', 'privilege_creep'],
  long_duration: ['duration_spike'],
  rate_spike: ['rate_spike'],
  new_workload: ['compromised_ci'],
};
const STATIC_REASONS = new Set<RiskReasonCode>(['production_environment', 'role_sensitivity', 'no_baseline']);

interface ReplayEvent {
  at: number;
  seq: number;
  botId: string;
  observation: BaselineObservation;
  request?: ScoringRequest;
  incident?: Incident;
  /** For a decision: the request it decides (its outcome follows the request's score). */
  decides?: ReplayEvent;
}

// 1. The fleet, its normal history and the injected incidents.
const fleet = generateFleet(SEED, BOTS);
const root = new Rng(SEED);
const histories = new Map(fleet.map((bot) => [bot.index, normalHistory(root, bot, START, DAYS)]));
const incidents = injectAnomalies(SEED, fleet, histories, {
  start: START,
  days: DAYS,
  firstDay: 21,
  perKind: Math.round(BOTS * 0.6),
});

const events: ReplayEvent[] = [];
let seq = 0;
const push = (event: Omit<ReplayEvent, 'seq'>): ReplayEvent => {
  const full = { ...event, seq: seq++ };
  events.push(full);
  return full;
};
const followUps = new Rng(SEED).fork('follow-ups');

function addRequest(r: GenRequest, incident?: Incident): void {
  const botId = r.bot.id;
  const approvalChain = `${r.role.id}:approvers-v1`;
  const request: ScoringRequest = {
    botId,
    roleId: r.role.id,
    at: Math.round(r.at),
    durationSeconds: r.durationSeconds,
    ip: r.ip,
    userAgent: r.userAgent,
    authMethod: r.authMethod,
    ...(r.workload ? { workload: r.workload } : {}),
    environment: r.role.environment,
    sensitivity: r.role.sensitivity,
    approvalChain,
    siblingLockedDown: false,
  };
  const { environment: _e, siblingLockedDown: _l, ...observed } = request;
  const elevationId = `e-${seq}`;
  const requested = push({
    at: request.at,
    botId,
    observation: { kind: 'requested', elevationId, ...observed },
    request,
    ...(incident ? { incident } : {}),
  });
  // What follows a request in the audit log: its decision, its end, now and then a refusal.
  const decidedAt = Math.round(request.at + followUps.uniform(1, 20 * 60) * 1000);
  const outcome = followUps.weighted(['approved', 'denied', 'expired'] as const, (o) =>
    o === 'approved' ? 0.97 : o === 'denied' ? 0.02 : 0.01,
  );
  push({
    at: decidedAt,
    botId,
    observation: { kind: 'decided', botId, at: decidedAt, outcome, elevationId },
    decides: requested,
  });
  if (outcome === 'approved') {
    const givenBack = followUps.chance(0.6);
    const held = Math.round(r.durationSeconds * (givenBack ? followUps.uniform(0.1, 0.9) : 1));
    const endedAt = Math.round(decidedAt + held * 1000);
    push({
      at: endedAt,
      botId,
      observation: { kind: 'ended', botId, at: endedAt, roleId: r.role.id, heldSeconds: held, givenBack },
    });
  }
  if (!incident && followUps.chance(0.004)) {
    const at = Math.round(request.at + followUps.uniform(0, 5) * MINUTE);
    push({ at, botId, observation: { kind: 'refused', botId, at, reason: 'duration_too_long' } });
  }
}

for (const bot of fleet) for (const r of histories.get(bot.index) ?? []) addRequest(r);
for (const incident of incidents) {
  for (const at of incident.refusals) {
    const t = Math.round(at);
    push({
      at: t,
      botId: incident.bot.id,
      observation: { kind: 'refused', botId: incident.bot.id, at: t, reason: 'role_not_allowed' },
    });
  }
  for (const r of incident.requests) addRequest(r, incident);
}
events.sort((a, b) => a.at - b.at || a.seq - b.seq);

// 2. The replay through the real scoring and baseline code.
interface Scored {
  event: ReplayEvent;
  assessment: RiskAssessment;
  /** Time `scoreRequest` took, ms. */
  ms: number;
}
const baselines = new Map<string, BotBaseline>();
const scored: Scored[] = [];
const timings: number[] = [];
const observeTimings: number[] = [];
const levels = new Map<ReplayEvent, RiskAssessment['level']>();
for (const event of events) {
  const baseline = baselines.get(event.botId) ?? emptyBaseline(event.botId);
  // The score routes the request: denied above critical; above high the escalation group
  // decides, and is taken to deny an injected request and approve a normal one (the bot's owner
  // is asked); otherwise the generated outcome stands.
  if (event.observation.kind === 'decided' && event.decides) {
    const level = levels.get(event.decides);
    const routed =
      level === 'critical'
        ? 'denied'
        : level === 'high'
          ? event.decides.incident
            ? 'denied'
            : 'approved'
          : undefined;
    if (routed) event.observation = { ...event.observation, outcome: routed };
  }
  let assessment: RiskAssessment | undefined;
  if (event.request) {
    const t0 = performance.now();
    assessment = scoreRequest(baseline, event.request, SETTINGS, THRESHOLDS);
    const ms = performance.now() - t0;
    timings.push(ms);
    scored.push({ event, assessment, ms });
    levels.set(event, assessment.level);
  }
  // The level is recorded with the request, as the worker records its assessment.
  const observation: BaselineObservation =
    event.observation.kind === 'requested' && assessment
      ? { ...event.observation, riskLevel: assessment.level }
      : event.observation;
  const t1 = performance.now();
  baselines.set(event.botId, observe(baseline, observation, SETTINGS));
  observeTimings.push(performance.now() - t1);
}

// Every baseline the replay built must read back as one once stored (JSON) and checked:
// scoring treats a row that does not as damaged and starts the bot again from no history.
const unreadable = [...baselines].flatMap(([botId, b]) => {
  const read = storedBaseline(JSON.parse(JSON.stringify(b)) as unknown, botId);
  return read.baseline ? [] : [`${botId}: ${'damaged' in read ? read.damaged : 'absent'}`];
});
if (unreadable.length > 0) {
  console.error(`baselines that would not read back from the store:\n${unreadable.join('\n')}`);
  process.exit(1);
}

// 3. The figures.
const isAlert = (a: RiskAssessment) => a.level === 'high' || a.level === 'critical';
/**
 * A normal request of a bot during one of its incidents (from its first event to an hour after
 * its last) whose alert is about the bot's recent traffic (rate, refusals) alerts because of the
 * incident: it is neither a false alert nor a caught incident, and is counted apart.
 */
const TRAFFIC_REASONS = new Set<RiskReasonCode>(['rate_spike', 'refusal_burst']);
const incidentSpans = new Map<string, Array<[number, number]>>();
for (const incident of incidents) {
  const times = [...incident.requests.map((r) => r.at), ...incident.refusals];
  const spans = incidentSpans.get(incident.bot.id) ?? [];
  spans.push([Math.min(...times), Math.max(...times) + 60 * MINUTE]);
  incidentSpans.set(incident.bot.id, spans);
}
const topReason = (a: RiskAssessment) => a.reasons.find((r) => !STATIC_REASONS.has(r.code))?.code;
const isCollateral = (s: Scored) => {
  const top = topReason(s.assessment);
  return (
    isAlert(s.assessment) &&
    top !== undefined &&
    TRAFFIC_REASONS.has(top) &&
    (incidentSpans.get(s.event.botId) ?? []).some(([from, to]) => s.event.at >= from && s.event.at <= to)
  );
};
const normal = scored.filter((s) => !s.event.incident);
const collateral = normal.filter(isCollateral);
const normalBaselined = normal.filter((s) => s.assessment.baselined && !isCollateral(s));
const falseAlerts = normal.filter((s) => isAlert(s.assessment) && !isCollateral(s));
const falseByKind = new Map<AnomalyKind, number>(ANOMALY_KINDS.map((k) => [k, 0]));
const falseAlertsByKind = new Map<AnomalyKind, number>(ANOMALY_KINDS.map((k) => [k, 0]));
const falseByReason = new Map<string, number>();
/** The last false alert of each (bot, largest reason), to group false alerts into episodes. */
const lastFalse = new Map<string, number>();
let falseEpisodes = 0;
for (const s of falseAlerts) {
  const top = topReason(s.assessment) ?? 'static';
  falseByReason.set(top, (falseByReason.get(top) ?? 0) + 1);
  for (const kind of KINDS_OF_REASON[top as RiskReasonCode] ?? [])
    falseAlertsByKind.set(kind, (falseAlertsByKind.get(kind) ?? 0) + 1);
  const key = `${s.event.botId} ${top}`;
  const previous = lastFalse.get(key);
  lastFalse.set(key, s.event.at);
  if (previous !== undefined && s.event.at - previous <= 60 * MINUTE) continue;
  falseEpisodes += 1;
  for (const kind of KINDS_OF_REASON[top as RiskReasonCode] ?? [])
    falseByKind.set(kind, (falseByKind.get(kind) ?? 0) + 1);
}
const byIncident = new Map<number, Scored[]>();
for (const s of scored) {
  if (s.event.incident)
    byIncident.set(s.event.incident.id, [...(byIncident.get(s.event.incident.id) ?? []), s]);
}

interface KindFigures {
  incidents: number;
  detected: number;
  precision: number;
  recall: number;
  /** False episodes counted against this kind. */
  falseEpisodes: number;
  /** False alerts (each one) counted against this kind, per 1,000 normal requests. */
  falseAlertsPer1000: number;
  /** Scoring time of this kind's injected requests, p99, ms. */
  scoringP99Ms: number;
  requests: number;
  alertedRequests: number;
  requestRecall: number;
  medianScore: number;
}
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const sortedNumbers = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

const byKind = {} as Record<AnomalyKind, KindFigures>;
const missed: Incident[] = [];
for (const kind of ANOMALY_KINDS) {
  const mine = incidents.filter((i) => i.kind === kind);
  let detected = 0;
  const scores: number[] = [];
  const kindTimings: number[] = [];
  let requests = 0;
  let alerted = 0;
  for (const incident of mine) {
    const results = byIncident.get(incident.id) ?? [];
    requests += results.length;
    alerted += results.filter((s) => isAlert(s.assessment)).length;
    scores.push(Math.max(...results.map((s) => s.assessment.score)));
    for (const s of results) kindTimings.push(s.ms);
    if (results.some((s) => isAlert(s.assessment))) detected += 1;
    else missed.push(incident);
  }
  const fp = falseByKind.get(kind) ?? 0;
  byKind[kind] = {
    incidents: mine.length,
    detected,
    precision: round(ratio(detected, detected + fp)),
    recall: round(ratio(detected, mine.length)),
    falseEpisodes: fp,
    falseAlertsPer1000: round(ratio(falseAlertsByKind.get(kind) ?? 0, normalBaselined.length) * 1000, 2),
    scoringP99Ms: round(pct(sortedNumbers(kindTimings), 99), 4),
    requests,
    alertedRequests: alerted,
    requestRecall: round(ratio(alerted, requests)),
    medianScore: pct(sortedNumbers(scores), 50),
  };
}
const detectedAll = ANOMALY_KINDS.reduce((n, k) => n + byKind[k].detected, 0);
const timingSorted = sortedNumbers(timings);
const observeSorted = sortedNumbers(observeTimings);
const sizes = [...baselines.values()].map((b) => JSON.stringify(b).length);
const normalScores = sortedNumbers(normalBaselined.map((s) => s.assessment.score));
const summary = {
  seed: SEED,
  precision: round(ratio(detectedAll, detectedAll + falseEpisodes)),
  recall: round(ratio(detectedAll, incidents.length)),
  falseAlertsPer1000: round(ratio(falseAlerts.length, normalBaselined.length) * 1000, 2),
  falseAlerts: falseAlerts.length,
  falseEpisodes,
  normalRequests: normalBaselined.length,
  incidents: incidents.length,
  scoringP99Ms: round(pct(timingSorted, 99), 4),
  byKind,
};

const line = (cells: Array<string | number>, widths: number[]) =>
  cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');
const widths = [16, 9, 8, 6, 9, 8, 7, 10, 6, 8];
console.log(
  `eval:detection seed ${SEED}: ${BOTS} bots over ${DAYS} days, ${scored.length} requests ` +
    `(${normal.length} normal, ${normalBaselined.length} of them scored with a baseline), ` +
    `${incidents.length} incidents injected (${scored.length - normal.length} requests)`,
);
console.log(
  line(
    [
      'kind',
      'incidents',
      'detected',
      'recall',
      'precision',
      'false ep.',
      'FA/1000',
      'req.recall',
      'median',
      'p99 ms',
    ],
    widths,
  ),
);
for (const kind of ANOMALY_KINDS) {
  const k = byKind[kind];
  console.log(
    line(
      [
        kind,
        k.incidents,
        k.detected,
        k.recall.toFixed(3),
        k.precision.toFixed(3),
        k.falseEpisodes,
        k.falseAlertsPer1000.toFixed(2),
        k.requestRecall.toFixed(3),
        k.medianScore,
        k.scoringP99Ms.toFixed(3),
      ],
      widths,
    ),
  );
}
console.log(
  line(
    [
      'overall',
      incidents.length,
      detectedAll,
      summary.recall.toFixed(3),
      summary.precision.toFixed(3),
      falseEpisodes,
      summary.falseAlertsPer1000.toFixed(2),
      '',
      '',
      summary.scoringP99Ms.toFixed(3),
    ],
    widths,
  ),
);
console.log(
  `false alerts: ${falseAlerts.length} in ${falseEpisodes} episodes (${summary.falseAlertsPer1000} per 1,000 normal requests); by largest reason: ` +
    ([...falseByReason].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'),
);
console.log(
  `alerts on normal requests during an incident of their bot, for its traffic (not counted): ${collateral.length}`,
);
console.log(
  `normal scores: median ${pct(normalScores, 50)}, p99 ${pct(normalScores, 99)}, p99.9 ${pct(normalScores, 99.9)}, max ${normalScores.at(-1) ?? 0}`,
);
console.log(
  `scoring time per request: p50 ${round(pct(timingSorted, 50), 4)} ms, p99 ${summary.scoringP99Ms} ms, max ${round(timingSorted.at(-1) ?? 0, 3)} ms; ` +
    `observe p99 ${round(pct(observeSorted, 99), 4)} ms`,
);
console.log(
  `baseline size (JSON): max ${(Math.max(...sizes) / 1024).toFixed(1)} KB, mean ${(sizes.reduce((a, b) => a + b, 0) / sizes.length / 1024).toFixed(1)} KB`,
);
if (values.verbose) {
  const when = (at: number) =>
    `day ${Math.floor((at - START) / DAY)} ${new Date(at).toISOString().slice(11, 16)}`;
  for (const s of falseAlerts) {
    const r = s.event.request!;
    console.log(
      `false alert ${r.botId} ${when(r.at)} ${r.roleId} score ${s.assessment.score}: ${s.assessment.reasons.map((x) => `${x.code} ${x.points} (${x.text})`).join('; ')}`,
    );
  }
  for (const incident of missed) {
    console.log(`missed ${incident.kind} (${incident.variant}) ${incident.bot.id}:`);
    for (const s of byIncident.get(incident.id) ?? []) {
      console.log(
        `  ${when(s.event.at)} score ${s.assessment.score}: ${s.assessment.reasons.map((x) => `${x.code} ${x.points} (${x.text})`).join('; ')}`,
      );
    }
  }
}
console.log(JSON.stringify(summary));
