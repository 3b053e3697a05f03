/**
 * Clock skew between the API and the worker: each runs as its own `elevate` process whose wall
 * clock is moved (clock-offset.mjs), while Temporal's server, slapd, the Slack stand-in and the
 * identity provider keep the test runner's clock.
 *
 * - API skewed (just under and just over five minutes, either way): a pending elevation, made
 *   while the API's clock was right, is approved through Slack as an approver would: the
 *   button click (signed with Slack's timestamp), the link it opens, the step-up login at the
 *   identity provider (`auth_time`), the confirmation (a decision signed by the API and checked
 *   by the workflow on the server's clock). A bot also asks for an elevation through the skewed
 *   API. Whatever a layer refuses must be refused clearly (an answer that says so and an audit
 *   event), no approval may be recorded that a layer refused, and every elevation must end.
 * - Worker skewed five minutes either way: windows must end on time by the true clock (no
 *   removal before the window's end, none long after it), and the end the elevation shows
 *   (the workflow's own timer) must be the true one.
 */
import { randomUUID } from 'node:crypto';
import { Client as LdapClient } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDecisionKeyPair, parseSigningKey } from '../../core/crypto/decision-keys.js';
import { FINAL_STATUSES, type ElevationView } from '../../core/model/elevation.js';
import { createBrowser } from '../../dev/browser.js';
import { botDn, groupDn } from '../../dev/ldap-seed.js';
import { freePort } from '../../dev/processes.js';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import { blockActionPayload, interactionBody, signSlackRequest } from '../../dev/slack-signing.js';
import { APPROVE_ACTION } from '../../integrations/slack/messages.js';
import { startStack, SUFFIX, type Stack } from '../support/stack.js';
import { APPROVER, ElevateDeployment, type ProcessKind } from './elevate-processes.js';
import { progress, recordRows, type FaultRow } from './fault-results.js';
import { faultSettings, sleep } from './fault-settings.js';
import { InvariantChecker, revocationDelay } from './invariants.js';
import { ldapMemberships } from './membership-sources.js';

const BOT = 'skew-bot';
const SLACK_USER = 'U0ANN0001';
const SIGNING_SECRET = 'clock-skew-slack-signing-secret';
const MINUTE = 60_000;
/** The API's offsets: just under and just over Slack's five minutes, each way. */
const API_OFFSETS = [
  4 * MINUTE + 50_000,
  5 * MINUTE + 10_000,
  -(4 * MINUTE + 50_000),
  -(5 * MINUTE + 10_000),
];
const WORKER_OFFSETS = [5 * MINUTE, -5 * MINUTE];
/**
 * The approval role's window: long enough that the API's clock, ahead, does not close it before
 * the approver gets there (the API checks it on its own clock); a pending elevation left after a
 * run is withdrawn by the bot once the API's clock is right again.
 */
const APPROVAL_WINDOW_SECONDS = 900;
/** The worker runs' window. */
const WINDOW_MS = 12_000;
/** A removal this long before the true end counts as early (polling and read-back slack). */
const EARLY_MARGIN_MS = 1_000;

let stack: Stack;
let slack: SlackStub;
let deployment: ElevateDeployment;
let checker: InvariantChecker;
let stopSampling: () => Promise<void>;
let ldap: LdapClient;
let workerMetricsUrl: string;

/** One sample of a process's metrics (scraped with the admin token), or undefined. */
async function metricValue(url: string, series: string): Promise<number | undefined> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  const keys = newDecisionKeyPair();
  stack = await startStack({
    bots: [{ id: BOT, roles: ['ops', 'gated'] }],
    roles: [
      { id: 'ops', maxDurationSeconds: 600 },
      {
        id: 'gated',
        maxDurationSeconds: 600,
        approval: { mode: 'approvers', approvers: [APPROVER.email], windowSeconds: APPROVAL_WINDOW_SECONDS },
      },
    ],
    signingKey: parseSigningKey(keys.privatePem),
    worker: false,
  });
  slack = await startSlackApiStub({
    token: 'xoxb-clock-skew',
    users: [{ id: SLACK_USER, email: APPROVER.email }],
  });
  workerMetricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
  deployment = await ElevateDeployment.start(stack, keys, {
    worker: { HOST: '127.0.0.1', ELEVATE_METRICS_PORT: new URL(workerMetricsUrl).port },
    api: {
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url.replace(/\/$/, ''),
    },
  });
  checker = new InvariantChecker({
    stores: stack.stores,
    sources: [ldapMemberships(stack, ['ops', 'gated'])],
    lagMs: 60_000,
  });
  ldap = new LdapClient({ url: stack.slapd.url, timeout: 3000, connectTimeout: 2000 });
  stopSampling = checker.startSampling();
}, 240_000);

afterAll(async () => {
  await stopSampling?.();
  await ldap?.unbind().catch(() => undefined);
  await deployment?.close();
  await stack?.close();
  await slack?.stop();
});

const minutes = (ms: number) =>
  `${ms < 0 ? '−' : '+'}${Math.floor(Math.abs(ms) / MINUTE)} min${Math.abs(ms) % MINUTE ? ` ${(Math.abs(ms) % MINUTE) / 1000} s` : ''}`;
const stored = (id: string) => stack.stores.elevations.getElevation(id);
const eventsOf = (id: string) => stack.stores.auditLog.listEvents(id);

async function ended(id: string, timeoutMs = 120_000): Promise<ElevationView | undefined> {
  const [v] = await checker.settle(timeoutMs, [id]);
  return v;
}

/** Restart `kind` with its wall clock `offsetMs` off the true one. */
async function skew(kind: ProcessKind, offsetMs: number): Promise<void> {
  await deployment.kill(kind);
  deployment.setClockOffset(kind, offsetMs);
  await deployment.restart(kind);
}

/** Events recorded with no elevation (pre-authentication refusals) since position `after`. */
async function globalEventsAfter(after: number): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const events = await stack.stores.auditLog.readEvents(after, 10_000);
  return events.filter((e) => !e.elevationId).map((e) => ({ type: e.type, data: e.data }));
}

async function lastPosition(): Promise<number> {
  let position = 0;
  for (;;) {
    const page = await stack.stores.auditLog.readEvents(position, 1_000);
    if (page.length === 0) return position;
    position = (page.at(-1) as unknown as { position: number }).position;
  }
}

/** What a refusal page says, without its heading and advice. */
function refusalText(html: string): string {
  return pageText(html)
    .replace(/^.*?Elevate\s+Not approved\s+/, '')
    .replace(/\s*(Start again|Reason code).*$/, '')
    .slice(0, 120);
}

/** A line of the page's visible text near its heading, for the table. */
function pageText(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 240);
}

/** The elevation as the bot sees it through the API, once it has ended (or after `timeoutMs`). */
async function botSees(id: string, timeoutMs: number): Promise<ElevationView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${deployment.apiUrl}/v1/elevations/${id}`, {
      headers: { authorization: `Bearer ${stack.keys[BOT]!}` },
    });
    const v = (await res.json()) as ElevationView;
    if (FINAL_STATUSES.includes(v.status) || Date.now() > deadline) return v;
    await sleep(250);
  }
}

interface ApiRun {
  offsetMs: number;
  /** The bot's request through the skewed API: how it ended. */
  request: string;
  /** The Slack click: its HTTP status, and the refusal recorded for it. */
  slack: string;
  /** The steps in a few words, for the table. */
  short: { slack: string; login: string; confirm: string; request: string };
  /** What the approver saw after the login and after confirming. */
  approver: string;
  /** How the pending elevation ended, and whether an approval was recorded. */
  outcome: string;
  approved: boolean;
  /** Refusals recorded for this elevation or, before authentication, by the API. */
  refusals: string[];
  problems: string[];
  elevations: string[];
}

/** One API run: see the file comment. */
async function apiRun(offsetMs: number): Promise<ApiRun> {
  const problems: string[] = [];
  // The pending elevation is made while the API's clock is right.
  await skew('api', 0);
  const pending = await deployment.request(BOT, {
    role: 'gated',
    durationSeconds: 5,
    requestId: randomUUID(),
  });
  await until(`${pending.id} pending`, async () =>
    (await stored(pending.id))?.status === 'pending_approval' ? true : undefined,
  );
  await skew('api', offsetMs);
  const before = await lastPosition();

  // The approver clicks Approve in Slack; Slack signs the request with its own (true) clock.
  const triggerId = `trig-${randomUUID()}`;
  const body = interactionBody(
    blockActionPayload({
      userId: SLACK_USER,
      teamId: slack.teamId,
      actionId: APPROVE_ACTION,
      value: pending.id,
      triggerId,
    }),
  );
  const click = await fetch(`${deployment.apiUrl}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...signSlackRequest(SIGNING_SECRET, body),
    },
    body,
  });
  const clickText = await click.text();
  let slackOutcome = `HTTP ${click.status}`;
  let approver = 'nothing (no link)';
  /** The same, short, for the table. */
  const short = { slack: String(click.status), login: '–', confirm: '–', request: '' };
  if (click.status === 200) {
    const view = await until('the approval modal', () =>
      Promise.resolve(slack.calls.find((c) => c.method === 'views.open' && c.args.trigger_id === triggerId)),
    );
    const link = /(http:\/\/127\.0\.0\.1:\d+\/approvals\/start\?ticket=[A-Za-z0-9_-]+)/.exec(
      JSON.stringify(view.args.view),
    )?.[1];
    if (!link) {
      approver = `a modal without a link: ${JSON.stringify(view.args.view).slice(0, 200)}`;
    } else {
      const browser = createBrowser(deployment.apiUrl);
      const page = await browser.login(link, APPROVER);
      const html = await page.text();
      approver = `login: ${page.status} “${pageText(html).slice(0, 160)}”`;
      short.login = page.status === 200 ? 'accepted' : `${page.status} “${refusalText(html)}”`;
      if (page.status === 200 && html.includes('name="confirmation"')) {
        const confirmed = await browser.confirm(html);
        const text = await confirmed.text();
        approver += `; confirm: ${confirmed.status} “${pageText(text).slice(0, 160)}”`;
        short.confirm = confirmed.status === 200 ? 'approved' : `${confirmed.status} “${refusalText(text)}”`;
      }
    }
  } else {
    const reason =
      /more than five minutes (old|ahead)/.exec(clickText)?.[1] === 'old'
        ? 'slack_timestamp_too_old'
        : 'slack_timestamp_in_future';
    const counted = await metricValue(
      `${deployment.apiUrl}/metrics`,
      `elevate_preauth_refusals_total{reason="${reason}"}`,
    );
    // The warning is written after the answer went out, and reaches this process through a pipe:
    // looked for over a few seconds rather than at once.
    const logged = await until(
      `the ${reason} warning in the API's output`,
      () => Promise.resolve(deployment.api!.output().includes(reason) ? true : undefined),
      5_000,
    ).catch(() => false);
    slackOutcome += ` ${clickText.slice(0, 160)}; elevate_preauth_refusals_total{reason="${reason}"} ${counted}; logged: ${logged ? 'yes' : 'no'}`;
    short.slack = `${click.status} ${reason}${counted ? ', counted' : ''}${logged ? ', logged' : ''}`;
    if (!counted || !logged) problems.push(`the refused Slack click was not counted and logged (${reason})`);
  }

  // A bot's request through the skewed API, and what the bot then sees when it asks.
  let request: string;
  let requestId: string | undefined;
  try {
    const v = await deployment.requestOnce(BOT, { role: 'ops', durationSeconds: 3, requestId: randomUUID() });
    requestId = v.id;
    const seen = await botSees(v.id, 30_000);
    const refused = (await eventsOf(v.id)).find((e) => e.type === 'request.unverified');
    request =
      `answered ${v.status}; the bot then sees ${seen.status}${seen.lastError ? ` (“${seen.lastError.slice(0, 150)}”)` : ''}` +
      (refused ? `; recorded ${refused.type} ${String(refused.data.code)}` : '');
    short.request = refused
      ? `refused by its workflow (request.unverified ${String(refused.data.code)}), the bot sees ${seen.status}`
      : `the bot sees ${seen.status}`;
    if (!FINAL_STATUSES.includes(seen.status))
      problems.push(`request ${v.id} has not ended (${seen.status})`);
    if (seen.status === 'failed' && !refused)
      problems.push(`request ${v.id} failed without a recorded refusal`);
  } catch (err) {
    request = `refused: ${String(err).slice(0, 160)}`;
  }

  // Back to the true clock; still pending, the elevation is withdrawn by the bot (it must end).
  await skew('api', 0);
  const left = await stored(pending.id);
  if (left && !FINAL_STATUSES.includes(left.status)) {
    const res = await fetch(`${deployment.apiUrl}/v1/elevations/${pending.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.keys[BOT]!}` },
    });
    if (res.status >= 300) problems.push(`withdrawing ${pending.id}: ${res.status} ${await res.text()}`);
  }
  const end = await ended(pending.id, 60_000);
  const events = await eventsOf(pending.id);
  const approved = events.some((e) => e.type === 'elevation.approved');
  const refusals = [
    ...events
      .filter((e) => e.type.endsWith('.refused') || e.type === 'decision.refused')
      .map((e) => `${e.type} ${JSON.stringify(e.data.code ?? e.data.reason ?? '')}`),
    ...(await globalEventsAfter(before))
      .filter((e) => e.type.endsWith('.refused') || e.type === 'refusals.summarized')
      .map((e) => `${e.type} ${JSON.stringify(e.data.reason ?? e.data.code ?? '')}`),
  ];
  if (!end || !FINAL_STATUSES.includes(end.status))
    problems.push(`${pending.id} has not ended (${end?.status})`);
  if (approved && !approver.includes('confirm: 200')) {
    problems.push(`${pending.id}: an approval was recorded though the approver was refused (${approver})`);
  }
  if (!approved && approver.includes('confirm: 200') && !/refus|cannot|not /i.test(approver)) {
    problems.push(`${pending.id}: the approver was told it was approved, but no approval was recorded`);
  }
  // A refused click or confirmation must leave a trace in the audit trail.
  if (click.status !== 200 && refusals.length === 0)
    problems.push('the refused Slack click was not recorded');
  if (!approved && click.status === 200 && approver.includes('login:') && refusals.length === 0) {
    problems.push(`${pending.id}: the refused approval was not recorded`);
  }
  return {
    offsetMs,
    request,
    slack: slackOutcome,
    short,
    approver,
    outcome: `${end?.status ?? 'not stored'}${approved ? ' (approved)' : ''}`,
    approved,
    refusals,
    problems,
    elevations: [pending.id, ...(requestId ? [requestId] : [])],
  };
}

interface WorkerRun {
  offsetMs: number;
  id: string;
  /** True removal minus the true end (negative: early). */
  removedAfterEndMs: number;
  /** The removal's delay as the audit trail has it, minus the one seen in slapd. */
  recordedOffMs: number;
  /** The end the elevation shows (the workflow's timer) minus the true end. */
  shownEndOffMs: number;
  removedBy: string;
  status: string;
  /** `elevate_worker_clock_offset_seconds` after the grant. */
  gaugeSeconds: number | undefined;
  /** Whether the worker logged a warning about its clock. */
  warned: boolean;
  problems: string[];
}

async function holds(role: string): Promise<boolean> {
  return ldap.compare(groupDn(SUFFIX, role), 'member', botDn(SUFFIX, BOT)).catch(() => false);
}

/** One worker run: a window of WINDOW_MS, watched in slapd with the true clock. */
async function workerRun(offsetMs: number): Promise<WorkerRun> {
  const problems: string[] = [];
  await skew('worker', offsetMs);
  const v = await deployment.request(BOT, {
    role: 'ops',
    durationSeconds: WINDOW_MS / 1000,
    requestId: randomUUID(),
  });
  const grantedAt = await until(
    'the grant',
    async () => ((await holds('ops')) ? Date.now() : undefined),
    60_000,
  );
  const removedAt = await until(
    'the removal',
    async () => ((await holds('ops')) ? undefined : Date.now()),
    WINDOW_MS + 6 * MINUTE,
  );
  const gauge = await metricValue(workerMetricsUrl, 'elevate_worker_clock_offset_seconds');
  const warned = deployment.worker!.output().includes('clockOffsetSeconds');
  const end = await ended(v.id);
  const trueEnd = grantedAt + WINDOW_MS;
  const events = await eventsOf(v.id);
  const revoked = events.find((e) => e.type === 'elevation.revoked');
  // The removal as the audit trail dates it (the read-back in the receipt, against the end shown).
  const recorded = end ? revocationDelay(end, events) : undefined;
  const receipt = revoked?.data.receipt as { removedBy?: string } | undefined;
  if (!end || end.status !== 'revoked') problems.push(`${v.id} ended ${end?.status}`);
  if (gauge === undefined || Math.abs(gauge * 1000 - offsetMs) > 2_000 || !warned) {
    problems.push(
      `worker ${minutes(offsetMs)}: elevate_worker_clock_offset_seconds ${gauge}, warned: ${warned}`,
    );
  }
  return {
    offsetMs,
    id: v.id,
    removedAfterEndMs: removedAt - trueEnd,
    recordedOffMs: recorded === undefined ? Number.NaN : recorded - (removedAt - trueEnd),
    shownEndOffMs: end?.expiresAt ? Date.parse(end.expiresAt) - trueEnd : Number.NaN,
    removedBy: receipt?.removedBy ?? '?',
    status: end?.status ?? 'not stored',
    gaugeSeconds: gauge,
    warned,
    problems,
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('clock skew between the API and the worker', () => {
  it(
    'when the API or the worker is five minutes off, then refusals are clear and recorded, nothing is approved wrongly, nothing hangs, and windows end on time',
    async () => {
      const apiRuns: ApiRun[] = [];
      const workerRuns: WorkerRun[] = [];
      const startedAt = Date.now();
      try {
        for (let r = 0; r < faultSettings.runs; r += 1) {
          for (const offset of API_OFFSETS) {
            const run = await apiRun(offset);
            apiRuns.push(run);
            progress(`clock skew: API ${minutes(offset)}: ${JSON.stringify(run)}`);
          }
        }
        await skew('api', 0);
        for (let r = 0; r < faultSettings.runs; r += 1) {
          for (const offset of WORKER_OFFSETS) {
            const run = await workerRun(offset);
            workerRuns.push(run);
            progress(`clock skew: worker ${minutes(offset)}: ${JSON.stringify(run)}`);
          }
        }
        await skew('worker', 0);
      } finally {
        const views = (await checker.settle(180_000)).filter(
          (v) => Date.parse(v.requestedAt) >= startedAt - 1_000,
        );
        await stopSampling();
        await checker.finalCheck(views);
        const report = await checker.endedReport(views);
        const chainOk = await checker.verifyChain();
        if (apiRuns.length + workerRuns.length)
          recordRows('clock-skew', rowsOf(apiRuns, workerRuns, report, chainOk));
        console.log(JSON.stringify({ apiRuns, workerRuns, violations: checker.violations }, null, 2));
      }
      const problems = [...apiRuns, ...workerRuns].flatMap((r) => r.problems);
      for (const run of workerRuns) {
        if (run.removedAfterEndMs < -EARLY_MARGIN_MS) {
          problems.push(
            `worker ${minutes(run.offsetMs)}: ${run.id} removed ${-run.removedAfterEndMs} ms before its end`,
          );
        }
        if (!(Math.abs(run.recordedOffMs) <= 2_000)) {
          problems.push(
            `worker ${minutes(run.offsetMs)}: ${run.id}'s recorded removal is ${run.recordedOffMs} ms off the one seen`,
          );
        }
        if (Math.abs(run.shownEndOffMs) > 2_000) {
          problems.push(
            `worker ${minutes(run.offsetMs)}: ${run.id} shows an end ${run.shownEndOffMs} ms off the true one`,
          );
        }
      }
      expect(problems).toEqual([]);
      expect(checker.violations).toEqual([]);
    },
    faultSettings.runs * (API_OFFSETS.length * 150_000 + WORKER_OFFSETS.length * 420_000) + 300_000,
  );
});

/** A range of millisecond differences, readable (`-26 ms to 19 ms`, `-11.0 s`). */
function span(ms: number[]): string {
  const one = (v: number) => (Math.abs(v) < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`);
  const lo = Math.min(...ms);
  const hi = Math.max(...ms);
  return lo === hi ? one(lo) : `${one(lo)} to ${one(hi)}`;
}

/** One row per process and offset. */
function rowsOf(
  apiRuns: ApiRun[],
  workerRuns: WorkerRun[],
  report: { delays: { elevationId: string; ms: number }[] },
  chainOk: boolean,
): FaultRow[] {
  const rows: FaultRow[] = [];
  const count = (ids: Set<string>, kind: string) =>
    checker.violations.filter((v) => v.kind === kind && v.elevationId && ids.has(v.elevationId)).length;
  const base = (ids: Set<string>) => ({
    lostRevocations: count(ids, 'lost-revocation'),
    leftoverGrants: count(ids, 'leftover-grant'),
    activeWithoutGrant: count(ids, 'active-without-grant'),
    missingEvents: count(ids, 'missing-event'),
    repeatedEvents: count(ids, 'repeated-event'),
    chainVerified: chainOk,
  });
  for (const [i, offset] of API_OFFSETS.entries()) {
    const mine = apiRuns.filter((r) => r.offsetMs === offset);
    if (mine.length === 0) continue;
    const ids = new Set(mine.flatMap((r) => r.elevations));
    const delays = report.delays.filter((d) => ids.has(d.elevationId)).map((d) => d.ms);
    const last = mine.at(-1)!;
    rows.push({
      order: 80 + i,
      fault: `API clock ${minutes(offset)} (Slack, IdP, Temporal on the true clock)`,
      runs: mine.length,
      ...base(ids),
      ...(delays.length ? { maxRevocationDelayMs: Math.max(...delays) } : {}),
      earlyRemovals: 0,
      note:
        `Slack click: ${last.short.slack}; login: ${last.short.login}; confirmation: ${last.short.confirm}; ` +
        `approvals recorded ${mine.filter((r) => r.approved).length}/${mine.length}; ` +
        `refusals recorded: ${[...new Set(mine.flatMap((r) => r.refusals))].join(', ') || 'none'}; ` +
        `a bot's request: ${last.short.request}`,
    });
  }
  for (const [i, offset] of WORKER_OFFSETS.entries()) {
    const mine = workerRuns.filter((r) => r.offsetMs === offset);
    if (mine.length === 0) continue;
    const ids = new Set(mine.map((r) => r.id));
    const after = mine.map((r) => r.removedAfterEndMs);
    const shown = mine.map((r) => r.shownEndOffMs);
    rows.push({
      order: 90 + i,
      fault: `worker clock ${minutes(offset)} (windows of ${WINDOW_MS / 1000} s)`,
      runs: mine.length,
      ...base(ids),
      maxRevocationDelayMs: Math.max(0, ...after),
      earlyRemovals: mine.filter((r) => r.removedAfterEndMs < -EARLY_MARGIN_MS).length,
      note:
        `removed ${span(after)} after the true end (seen in slapd), by ${[...new Set(mine.map((r) => r.removedBy))].join('/')}; ` +
        `the end the elevation shows: ${span(shown)} off the true one, the removal the audit trail dates: ` +
        `${span(mine.map((r) => r.recordedOffMs))} off the one seen; ` +
        `elevate_worker_clock_offset_seconds ${mine.map((r) => r.gaugeSeconds ?? '–').join(', ')}, warning logged ${mine.filter((r) => r.warned).length}/${mine.length}`,
    });
  }
  return rows;
}
