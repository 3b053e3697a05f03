/**
 * The inline risk score of one request: 0 to 100, the sum of the points of its reasons (capped),
 * each reason a sentence a person can check against the bot's history.
 *
 * Two kinds of reasons. Static ones come from the role alone (a production environment, the
 * role's sensitivity) and are small: a production role of high sensitivity scores 18 on them, so
 * a role approved automatically today still is under the default `medium` threshold of 30.
 * Behavioural ones compare the request with the bot's own baseline and count only once the
 * baseline does (`minRequests` over `minDays`); before that a small `no_baseline` stands in.
 *
 * The points are set so that each strong sign alone goes above the default `high` threshold
 * (60) for a bot with a baseline: a role more sensitive than any the bot used, a duration about
 * four times its usual, a request rate several times its busiest hours, workload claims it never
 * presented (another repository or workflow, a branch where it only ever ran from one). Weaker
 * signs stay at or below it alone, because normal bots show them now and then (a new network, a
 * new client, an odd hour, a role used once a month), and add up when they come together, as a
 * stolen key used from elsewhere at an odd hour does. A sign is also worth less for a bot that
 * shows it often: a new network means little for a CI job on hosted runners that comes from a new
 * one every time (see `surprise`).
 *
 * Pure and deterministic; it reads the baseline as of the request's own time. Points and their
 * meaning are documented in `docs/detection.md`.
 */
import type {
  BaselineSettings,
  RiskAssessment,
  RiskReason,
  RiskReasonCode,
  RiskThresholds,
  RoleSensitivity,
  ScoringRequest,
} from '../model/risk.js';
import { RISK_REASON_CODES, ROLE_SENSITIVITIES } from '../model/risk.js';
import { networkOf, userAgentKey, workloadValues, type WorkloadField } from './baseline-keys.js';
import {
  DAY_MS,
  HOUR_MS,
  NEW_CLAIM_COUNTER,
  dayOf,
  inWindow,
  type BotBaseline,
  type SeenValue,
} from './bot-baseline.js';
import {
  clamp,
  rareRoleRate,
  durationStats,
  hourProfile,
  hourRatio,
  hourlyRate,
  lastHour,
  noveltyRate,
  surprise,
  total,
  usualHours,
  weekdayOf,
  windowView,
  type WindowView,
} from './baseline-window.js';
import { isProductionEnvironment } from './risk.js';
import { levelOf } from './risk-routing.js';

/** The points of every reason (the most a reason can add; most scale down with the evidence). */
export const RISK_POINTS = {
  production: 10,
  sensitivity: { low: 0, medium: 4, high: 8, critical: 12 } satisfies Record<RoleSensitivity, number>,
  noBaseline: 5,
  newNetwork: 42,
  /** A client the bot never used; a new major version of one it did. */
  newUserAgent: { family: 24, version: 8 },
  /** Per workload field; a request's new fields add up as the largest plus a quarter of the rest. */
  newWorkload: {
    authMethod: 40,
    issuer: 70,
    repository: 70,
    workflow: 70,
    ref: 65,
    runner: 65,
    serviceAccount: 70,
  } satisfies Record<WorkloadField, number>,
  newWorkloadMax: 80,
  unusualHour: 30,
  /** A role more sensitive than any the bot used; any other role it never used. */
  newRole: { stepUp: 65, other: 45 },
  longDuration: 70,
  rateSpike: 70,
  /** By refusals in the last hour: 2, 3, 4, 5 or more. */
  refusalBurst: [15, 25, 35, 45],
  siblingLockedDown: 25,
  approvalChainChanged: 25,
} as const;

/**
 * How much of a novelty's points a value seen only just now still carries: the request after
 * the first from a new network is nearly as telling as the first. By earlier requests with the
 * value, when the first was less than a day ago; after that, or after three, it is known.
 */
const YOUNG = [1, 0.7, 0.4] as const;

/** Score one request against its bot's baseline (see the module comment). */
export function scoreRequest(
  baseline: BotBaseline,
  request: ScoringRequest,
  settings: BaselineSettings,
  thresholds: RiskThresholds,
): RiskAssessment {
  const reasons: RiskReason[] = [];
  const add = (code: RiskReasonCode, points: number, text: string) => {
    const rounded = Math.round(points);
    if (rounded > 0) reasons.push({ code, points: rounded, text });
  };

  if (isProductionEnvironment(request.environment)) {
    add('production_environment', RISK_POINTS.production, `production environment ${request.environment}`);
  }
  add(
    'role_sensitivity',
    RISK_POINTS.sensitivity[request.sensitivity],
    `role ${request.roleId} is of ${request.sensitivity} sensitivity`,
  );
  // Not learnt from the bot's history, so it counts with or without a baseline.
  if (request.siblingLockedDown) {
    add('sibling_locked_down', RISK_POINTS.siblingLockedDown, 'another bot of the same owner is locked down');
  }

  const view = windowView(
    baseline.botId === request.botId ? baseline : { ...baseline, days: [], firstRequestAt: null },
    request.at,
    settings,
  );
  if (!view.baselined) {
    add(
      'no_baseline',
      RISK_POINTS.noBaseline,
      `no baseline yet: ${view.requests} request${view.requests === 1 ? '' : 's'} over ${Math.floor(view.historyDays)} day${Math.floor(view.historyDays) === 1 ? '' : 's'} (${settings.minRequests} over ${settings.minDays} needed)`,
    );
  } else {
    behaviouralReasons(view, request, add);
  }

  reasons.sort(
    (a, b) => b.points - a.points || RISK_REASON_CODES.indexOf(a.code) - RISK_REASON_CODES.indexOf(b.code),
  );
  const score = Math.min(
    100,
    reasons.reduce((sum, r) => sum + r.points, 0),
  );
  return { score, level: levelOf(score, thresholds), reasons, baselined: view.baselined };
}

type Add = (code: RiskReasonCode, points: number, text: string) => void;

function behaviouralReasons(view: WindowView, request: ScoringRequest, add: Add): void {
  const days = `${view.settings.windowDays} day${view.settings.windowDays === 1 ? '' : 's'}`;
  networkReason(view, request, days, add);
  userAgentReason(view, request, days, add);
  workloadReason(view, request, days, add);
  hourReason(view, request, add);
  roleReasons(view, request, days, add);
  rateReason(view, request, add);
  refusalReason(view, request, add);
}

/** How new a value is: 0 when known, else the share of a novelty's points it carries. */
function novelty(values: SeenValue[], key: string, view: WindowView): { weight: number; seen?: SeenValue } {
  const seen = values.find(
    (v) => v.key === key && inWindow(v.last, view.at, view.settings) && v.first <= view.at,
  );
  if (!seen) return { weight: 1 };
  if (view.at - seen.first >= DAY_MS) return { weight: 0, seen };
  return { weight: YOUNG[seen.count] ?? 0, seen };
}

/** Whether any value of this kind was seen in the window (else a first value is no change). */
function anyInWindow(values: Array<{ last: number }>, view: WindowView): boolean {
  return values.some((v) => inWindow(v.last, view.at, view.settings));
}

function networkReason(view: WindowView, request: ScoringRequest, days: string, add: Add): void {
  const network = networkOf(request.ip);
  if (network === null || !anyInWindow(view.baseline.networks, view)) return;
  const { weight, seen } = novelty(view.baseline.networks, network, view);
  if (weight === 0) return;
  const points = RISK_POINTS.newNetwork * weight * surprise(noveltyRate(view, 'newNetwork'));
  add(
    'new_network',
    points,
    seen
      ? `${ordinal(seen.count + 1)} request from ${network}, first seen ${ago(view.at - seen.first)} ago`
      : `first request from ${network} in ${days}`,
  );
}

function userAgentReason(view: WindowView, request: ScoringRequest, days: string, add: Add): void {
  const agent = userAgentKey(request.userAgent);
  if (agent === null || !anyInWindow(view.baseline.userAgents, view)) return;
  const { weight, seen } = novelty(view.baseline.userAgents, agent.key, view);
  if (weight === 0) return;
  const sameFamily = view.baseline.userAgents.find(
    (v) =>
      inWindow(v.last, view.at, view.settings) &&
      v.key !== agent.key &&
      userAgentKey(v.key)?.family === agent.family,
  );
  const base = sameFamily ? RISK_POINTS.newUserAgent.version : RISK_POINTS.newUserAgent.family;
  const shown = (request.userAgent ?? '').trim().slice(0, 100);
  const usual = sameFamily?.example ?? sameFamily?.key;
  add(
    'new_user_agent',
    base * weight * surprise(noveltyRate(view, 'newUserAgent')),
    seen
      ? `${ordinal(seen.count + 1)} request with user agent ${shown}, first seen ${ago(view.at - seen.first)} ago`
      : sameFamily
        ? `user agent ${shown} is a new major version; this bot used ${usual} in ${days}`
        : `first request with user agent ${shown} in ${days}`,
  );
}

const FIELD_LABEL: Record<WorkloadField, string> = {
  authMethod: 'authentication',
  issuer: 'issuer',
  repository: 'repository',
  workflow: 'workflow',
  ref: 'ref',
  runner: 'runner',
  serviceAccount: 'service account',
};

function workloadReason(view: WindowView, request: ScoringRequest, days: string, add: Add): void {
  const fresh: Array<{ field: WorkloadField; value: string; points: number }> = [];
  for (const [field, value] of workloadValues(request.authMethod, request.workload)) {
    const sameField = view.baseline.claims.filter((c) => c.field === field);
    if (!anyInWindow(sameField, view)) continue;
    const { weight } = novelty(sameField, value, view);
    if (weight === 0) continue;
    const points =
      RISK_POINTS.newWorkload[field] * weight * surprise(noveltyRate(view, NEW_CLAIM_COUNTER[field]));
    fresh.push({ field, value, points });
  }
  if (fresh.length === 0) return;
  fresh.sort((a, b) => b.points - a.points);
  const top = fresh[0]?.points ?? 0;
  const rest = fresh.slice(1).reduce((sum, f) => sum + f.points, 0);
  const points = Math.min(RISK_POINTS.newWorkloadMax, top + rest / 4);
  add(
    'new_workload',
    points,
    `workload not seen in ${days}: ${fresh.map((f) => `${FIELD_LABEL[f.field]} ${f.value}`).join(', ')}`,
  );
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function hourReason(view: WindowView, request: ScoringRequest, add: Add): void {
  const profile = hourProfile(view);
  const ratio = hourRatio(profile, request.at);
  // Nothing below half of a flat profile's rate; full points at about 1/23 of it.
  const points = RISK_POINTS.unusualHour * clamp((Math.log2(1 / ratio) - 1.5) / 3, 0, 1);
  if (Math.round(points) <= 0) return;
  const usual = usualHours(profile);
  const date = new Date(request.at);
  const span =
    usual.from === usual.to
      ? 'at any hour'
      : `between ${clock(usual.from)} and ${clock(usual.to)}${usual.weekdays ? ' on weekdays' : ''}`;
  add(
    'unusual_hour',
    points,
    `requested at ${clock(date.getUTCHours(), date.getUTCMinutes())} UTC on a ${WEEKDAYS[weekdayOf(dayOf(request.at))]}; this bot usually asks ${span}`,
  );
}

function roleReasons(view: WindowView, request: ScoringRequest, days: string, add: Add): void {
  const role = view.baseline.roles.find(
    (r) => r.roleId === request.roleId && inWindow(r.last, view.at, view.settings) && r.first <= view.at,
  );
  // A bot that often starts using roles makes a new one less surprising, unless the new one is
  // more sensitive than any it used: a step up is news however often the bot changes roles.
  const used = view.baseline.roles.filter(
    (r) => inWindow(r.last, view.at, view.settings) && r.roleId !== request.roleId,
  );
  const highest = Math.max(
    -1,
    ...used.map((r) => (r.sensitivity ? ROLE_SENSITIVITIES.indexOf(r.sensitivity) : -1)),
  );
  const stepUp = highest >= 0 && ROLE_SENSITIVITIES.indexOf(request.sensitivity) > highest;
  const rolePoints = stepUp
    ? RISK_POINTS.newRole.stepUp
    : RISK_POINTS.newRole.other * surprise(Math.max(noveltyRate(view, 'newRole'), rareRoleRate(view)));
  const stepUpText = stepUp
    ? `; it is of ${request.sensitivity} sensitivity, its other roles at most ${ROLE_SENSITIVITIES[highest]}`
    : '';
  if (!role) {
    if (used.length > 0) {
      add(
        'new_role',
        rolePoints,
        `role ${request.roleId} never requested by this bot in ${days}${stepUpText}`,
      );
    }
    return;
  }
  if (view.at - role.first < DAY_MS) {
    const weight = YOUNG[role.count] ?? 0;
    add(
      'new_role',
      rolePoints * weight,
      `role ${request.roleId} first requested by this bot ${ago(view.at - role.first)} ago${stepUpText}`,
    );
  }
  // An empty chain is one a record did not say (older records): unknown, not changed.
  if (
    role.approvalChain !== '' &&
    request.approvalChain !== '' &&
    role.approvalChain !== request.approvalChain
  ) {
    add(
      'approval_chain_changed',
      RISK_POINTS.approvalChainChanged,
      "the role's approval chain changed since this bot last used it",
    );
  }
  const stats = durationStats(role, view);
  if (!stats || request.durationSeconds <= stats.median) return;
  const asked = request.durationSeconds;
  // Three conditions, all needed; the weakest sets the points. At least twice the median (full
  // at four times); at least 1.5 times the longest usual length (full at 3.1 times), so a role
  // asked for in a short and a long version is measured against the long one; and a robust
  // z-score of the log duration of 1.5 (full at 3), the spread never counted narrower than ±25 %.
  const z = Math.log(asked / stats.median) / Math.max(stats.spread, Math.log(1.25));
  const strength = Math.min(
    Math.log2(asked / stats.median) - 1,
    (Math.log2(asked / stats.upper) - 0.6) / 1.03,
    (z - 1.5) / 1.5,
  );
  const usual =
    stats.upper >= stats.median * 1.3
      ? `${span(stats.median)} (at most ${span(stats.upper)})`
      : span(stats.median);
  add(
    'long_duration',
    RISK_POINTS.longDuration * clamp(strength, 0, 1),
    `${span(asked)} asked; this bot usually asks ${usual} for this role`,
  );
}

/** A rate spike starts at 2.4 times the busiest usual hour and is full at 3.8 times. */
const RATE_START = 2.4;
const RATE_FULL = 3.8;

function rateReason(view: WindowView, request: ScoringRequest, add: Add): void {
  const rate = hourlyRate(view, RATE_FULL);
  if (!rate) return;
  const count = lastHour(view.baseline.recentRequests, request.at) + 1;
  // Against the busiest usual hour, never counted below three, so that a bot that asks once an
  // hour may ask a few times without notice: nothing up to 2.4 times it, full at 3.8 times.
  const ratio = count / Math.max(rate.usualPeak, 3);
  const points = RISK_POINTS.rateSpike * clamp((ratio - RATE_START) / (RATE_FULL - RATE_START), 0, 1);
  const usual =
    rate.typical === rate.usualPeak
      ? `about ${rate.typical}`
      : `about ${rate.typical}, at most ${rate.usualPeak}`;
  add('rate_spike', points, `${count} requests in the last hour; usually ${usual}`);
}

function refusalReason(view: WindowView, request: ScoringRequest, add: Add): void {
  const count = lastHour(view.baseline.recentRefusals, request.at);
  if (count < 2) return;
  const points = RISK_POINTS.refusalBurst[Math.min(count, 5) - 2] ?? 0;
  // A bot that is often refused (a misconfigured one) gets half: its refusals say less.
  const usual = total(view, 'refused') / (view.requests + 1) >= 0.1 ? 0.5 : 1;
  add('refusal_burst', points * usual, `${count} refusals in the last hour`);
}

function clock(hour: number, minute = 0): string {
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** A duration for people: `45 s`, `10 min`, `2 h`, `1 h 30 min`. */
export function span(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

function ago(ms: number): string {
  return ms < HOUR_MS ? span(Math.max(60, ms / 1000)) : span(Math.round(ms / HOUR_MS) * 3600);
}

function ordinal(n: number): string {
  return n === 2 ? 'second' : n === 3 ? 'third' : `${n}th`;
}
