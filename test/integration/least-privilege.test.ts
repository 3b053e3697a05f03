/**
 * The least-privilege report end to end, on elevations recorded in a real store: the SQL
 * aggregates on SQLite and PostgreSQL (counts per window, grants, quick returns, median and
 * longest held time), then `GET /v1/admin/reports/least-privilege`, the evidence pack's section
 * and `elevate report least-privilege` (JSON and table) against a real API on SQLite. The
 * requests never reach Temporal, so no workflow runs; the elevations are recorded as the worker
 * records them, through the audit log's append, at chosen times (up to 100 days back).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ElevationView, EndReason } from '../../core/model/elevation.js';
import type { EventType } from '../../core/model/events.js';
import type { LeastPrivilegeReport } from '../../core/model/least-privilege.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { createDomainServices } from '../../domain/domain-services.js';
import { createDatabase, startPostgres, type PostgresServer } from '../../dev/postgres-server.js';
import { verifyEvidencePack, type EvidencePack } from '../../integrations/audit/evidence-pack.js';
import { createApp } from '../../server/app.js';
import { openStores, type Stores } from '../../store/stores.js';
import type { RoleUsageRow } from '../../store/least-privilege-query.js';
import { buildPolicy, testDecisionKey, testLogger } from '../support/stack.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const at = (msAgo: number) => new Date(NOW.getTime() - msAgo).toISOString();

interface Spec {
  bot: string;
  role: string;
  /** Requested this many days before NOW. */
  daysAgo: number;
  /** Granted 5 s after the request; undefined: never granted. */
  granted?: { heldMs: number; end: EndReason } | 'still active';
  /** How a request that was never granted ended. */
  end?: EndReason;
}

const SPECS: Spec[] = [
  // etl/read: three grants held 1, 2 and 10 minutes (median 2 min).
  { bot: 'etl', role: 'read', daysAgo: 1, granted: { heldMs: 60_000, end: 'expired' } },
  { bot: 'etl', role: 'read', daysAgo: 10, granted: { heldMs: 120_000, end: 'given_back' } },
  { bot: 'etl', role: 'read', daysAgo: 50, granted: { heldMs: 600_000, end: 'expired' } },
  // etl/write: none in 30 days; three grants given back within 30 s (one exactly at 30 s), one
  // request denied: quick, median 6 s.
  { bot: 'etl', role: 'write', daysAgo: 40, granted: { heldMs: 4000, end: 'given_back' } },
  { bot: 'etl', role: 'write', daysAgo: 45, granted: { heldMs: 6000, end: 'given_back' } },
  { bot: 'etl', role: 'write', daysAgo: 55, granted: { heldMs: 30_000, end: 'given_back' } },
  { bot: 'etl', role: 'write', daysAgo: 70, end: 'denied' },
  // etl/admin: last asked 100 days ago. etl/ops: never.
  { bot: 'etl', role: 'admin', daysAgo: 100, granted: { heldMs: 600_000, end: 'expired' } },
  // ci/deploy: one given back in 3 s, one still active (granted 2 h before NOW): not quick;
  // median of the two is their mean.
  { bot: 'ci', role: 'deploy', daysAgo: 5, granted: { heldMs: 3000, end: 'given_back' } },
  { bot: 'ci', role: 'deploy', daysAgo: (2 * 3600_000 + 5000) / DAY, granted: 'still active' },
];

const elevationId = (i: number) => `el_${i.toString(16).padStart(24, '0')}`;

/** The requested event, then (for a granted one) the grant, then its end, as the worker records them. */
async function seed(store: Stores): Promise<void> {
  for (const [i, s] of SPECS.entries()) {
    const id = elevationId(i + 1);
    const requestedAt = at(s.daysAgo * DAY);
    const base: ElevationView = {
      id,
      workflowId: `elevation-${id}`,
      status: 'approved',
      botId: s.bot,
      roleId: s.role,
      owner: `${s.bot}-owner@example.org`,
      environment: 'test',
      durationSeconds: 3600,
      justification: 'least-privilege test',
      requestedAt,
      approval: { mode: 'auto' },
      approvals: [],
      revokeAttempts: 0,
    };
    const events: { type: EventType; at: string; view: ElevationView }[] = [
      { type: 'elevation.requested', at: requestedAt, view: base },
    ];
    const grantedAt = new Date(Date.parse(requestedAt) + 5000).toISOString();
    if (s.granted !== undefined) {
      const active = { ...base, status: 'active' as const, grantedAt };
      events.push({ type: 'grant.confirmed', at: grantedAt, view: active });
      if (s.granted !== 'still active') {
        const endedAt = new Date(Date.parse(grantedAt) + s.granted.heldMs).toISOString();
        events.push({
          type: 'elevation.revoked',
          at: endedAt,
          view: { ...active, status: 'revoked', endedAt, endReason: s.granted.end },
        });
      }
    } else {
      events.push({
        type: 'elevation.denied',
        at: requestedAt,
        view: { ...base, status: 'denied', endedAt: requestedAt, endReason: s.end ?? 'denied' },
      });
    }
    for (const [n, e] of events.entries()) {
      await store.auditLog.append({
        id: `${id}-${n + 1}`,
        elevationId: id,
        type: e.type,
        at: e.at,
        actor: { kind: 'system', id: 'elevate' },
        data: {},
        elevation: e.view,
      });
    }
  }
}

/** What the index says of each pair, as the store returns it. */
async function usage(store: Stores, botId?: string): Promise<Record<string, RoleUsageRow>> {
  const rows = await store.elevations.roleUsage({
    since: [at(30 * DAY), at(60 * DAY), at(90 * DAY)],
    heldSince: at(90 * DAY),
    now: NOW.toISOString(),
    quickReturnMs: 30_000,
    ...(botId ? { botId } : {}),
  });
  return Object.fromEntries(rows.map((r) => [`${r.botId}/${r.roleId}`, r]));
}

/** The figures both engines must compute from {@link SPECS}. */
async function expectUsage(store: Stores): Promise<void> {
  const all = await usage(store);
  expect(Object.keys(all).sort()).toEqual(['ci/deploy', 'etl/admin', 'etl/read', 'etl/write']);
  expect(all['etl/read']).toMatchObject({
    lastRequestedAt: at(DAY),
    firstRequestedAt: at(50 * DAY),
    requests: [2, 3, 3],
    grants: 3,
    quickReturns: 0,
    medianHeldMs: 120_000,
    maxHeldMs: 600_000,
  });
  expect(all['etl/write']).toMatchObject({
    lastRequestedAt: at(40 * DAY),
    requests: [0, 3, 4],
    grants: 3,
    quickReturns: 3,
    medianHeldMs: 6000,
    maxHeldMs: 30_000,
  });
  expect(all['etl/admin']).toMatchObject({
    lastRequestedAt: at(100 * DAY),
    requests: [0, 0, 0],
    grants: 0,
    quickReturns: 0,
    medianHeldMs: null,
    maxHeldMs: null,
  });
  // The active grant is held until NOW: 2 h; the median of two is their mean.
  expect(all['ci/deploy']).toMatchObject({
    requests: [2, 2, 2],
    grants: 2,
    quickReturns: 1,
    medianHeldMs: Math.round((3000 + 2 * 3600_000) / 2),
    maxHeldMs: 2 * 3600_000,
  });
  // One bot: only its rows.
  expect(Object.keys(await usage(store, 'ci'))).toEqual(['ci/deploy']);
}

describe('role usage in SQL', () => {
  let dir = '';
  let pgServer: PostgresServer | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'elevate-least-privilege-'));
    pgServer = await startPostgres();
  });
  afterAll(async () => {
    await pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when elevations are recorded on SQLite, then counts, quick returns and held times are computed in SQL', async () => {
    const store = await openStores({ sqlitePath: path.join(dir, 'usage.db') });
    try {
      await seed(store);
      await expectUsage(store);
    } finally {
      await store.database.close();
    }
  });

  it('when elevations are recorded on PostgreSQL, then the same statements give the same figures', async () => {
    const store = await openStores({
      databaseUrl: await createDatabase(pgServer!.url, 'least_privilege'),
      sqlitePath: '',
    });
    try {
      await seed(store);
      await expectUsage(store);
    } finally {
      await store.database.close();
    }
  });
});

describe('the report through the API and the CLI', () => {
  const { policy, adminToken } = buildPolicy(
    [
      { id: 'etl', roles: ['read', 'write', 'admin', 'ops'] },
      { id: 'ci', roles: ['deploy'] },
    ],
    [{ id: 'read' }, { id: 'write' }, { id: 'admin' }, { id: 'ops' }, { id: 'deploy' }],
  );
  let dir = '';
  let store: Stores;
  let server: Server;
  let base = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'elevate-least-privilege-api-'));
    store = await openStores({ sqlitePath: path.join(dir, 'api.db') });
    await seed(store);
    const logger = testLogger();
    const services = createDomainServices({
      policy,
      // Nothing here reaches Temporal: the client never connects.
      temporal: new Client(),
      signer: new DecisionSigner(testDecisionKey()),
      taskQueue: 'unused',
      ...store,
      timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
      logger,
      clock: () => NOW,
    });
    const app = createApp({ services, healthChecks: {}, logger });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (pathAndQuery: string, token = adminToken) =>
    fetch(`${base}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });

  it('when an admin asks, then every bot is reported with its unused roles, quick returns and narrower list', async () => {
    const res = await get('/v1/admin/reports/least-privilege');
    expect(res.status).toBe(200);
    const report = (await res.json()) as LeastPrivilegeReport;
    expect(report).toMatchObject({ generatedAt: NOW.toISOString(), quickReturnSeconds: 30 });
    const [etl, ci] = report.bots;
    expect(report.bots.map((b) => b.botId)).toEqual(['etl', 'ci']);
    expect(etl).toMatchObject({
      unused: {
        last30Days: ['write', 'admin', 'ops'],
        last60Days: ['admin', 'ops'],
        last90Days: ['admin', 'ops'],
      },
      quickReturn: ['write'],
      recommendedRoles: ['read', 'write'],
      removable: ['admin', 'ops'],
      firstRequestedAt: at(100 * DAY),
    });
    expect(etl!.roles.find((r) => r.roleId === 'write')).toMatchObject({
      grants: 3,
      quickReturns: 3,
      medianHeldMs: 6000,
      reason: expect.stringContaining('all 3 grants were given back within 30 s') as unknown,
    });
    expect(ci).toMatchObject({ quickReturn: [], recommendedRoles: ['deploy'], removable: [] });
  });

  it('when the threshold is raised or one bot is asked for, then the answer follows', async () => {
    const res = await get('/v1/admin/reports/least-privilege?botId=ci&quickReturnSeconds=3600');
    expect(res.status).toBe(200);
    const report = (await res.json()) as LeastPrivilegeReport;
    expect(report.quickReturnSeconds).toBe(3600);
    // The active grant did not end by being given back: still not a quick return.
    expect(report.bots).toHaveLength(1);
    expect(report.bots[0]).toMatchObject({ botId: 'ci', quickReturn: [] });
    expect(report.bots[0]!.roles[0]).toMatchObject({ grants: 2, quickReturns: 1 });
  });

  it('when the input is wrong or the caller is not an admin, then the answer says which field, or refuses', async () => {
    const unknown = await get('/v1/admin/reports/least-privilege?botId=nobody');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found', field: 'botId' } });
    for (const q of ['quickReturnSeconds=0', 'quickReturnSeconds=3601', 'botId=Not_An_Id', 'since=x']) {
      const res = await get(`/v1/admin/reports/least-privilege?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, q).toBe('invalid_request');
    }
    expect((await get('/v1/admin/reports/least-privilege', 'elv_admin_wrong')).status).toBe(401);
  });

  it('when an evidence pack is exported, then it carries its bot’s report, covered by its digest', async () => {
    const res = await get(`/v1/admin/elevations/${elevationId(4)}/evidence`);
    expect(res.status).toBe(200);
    const pack = (await res.json()) as EvidencePack;
    expect(verifyEvidencePack(pack)).toEqual({ ok: true, problems: [] });
    expect(pack.leastPrivilege?.bots.map((b) => b.botId)).toEqual(['etl']);
    expect(pack.leastPrivilege?.bots[0]?.removable).toEqual(['admin', 'ops']);
    // Edited after export: the digest no longer matches.
    const edited = JSON.parse(JSON.stringify(pack)) as EvidencePack;
    edited.leastPrivilege!.bots[0]!.removable = [];
    expect(verifyEvidencePack(edited).problems).toContain(
      'digest: does not match the pack’s content (edited)',
    );
    // Another bot's report: named as such, besides the digest.
    const other = JSON.parse(JSON.stringify(pack)) as EvidencePack;
    other.leastPrivilege!.bots[0]!.botId = 'ci';
    expect(verifyEvidencePack(other).problems).toContain(
      'leastPrivilege: is not a report of the elevation’s bot',
    );
  });

  it('when the CLI is asked for JSON, then it prints the API’s report; as a table, one row per role and a line per bot', async () => {
    const json = await elevate(['report', 'least-privilege', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const fromApi = (await (await get('/v1/admin/reports/least-privilege')).json()) as unknown;
    expect(JSON.parse(json.stdout)).toEqual(fromApi);

    const one = await elevate([
      'report',
      'least-privilege',
      '--bot',
      'etl',
      '--json',
      '--quick-seconds',
      '5',
    ]);
    expect(one.code, one.stderr).toBe(0);
    const report = JSON.parse(one.stdout) as LeastPrivilegeReport;
    expect(report.bots.map((b) => b.botId)).toEqual(['etl']);
    // At 5 s the 6 s and 30 s give-backs are too slow.
    expect(report.bots[0]!.quickReturn).toEqual([]);

    const text = await elevate(['report', 'least-privilege', '--bot', 'etl']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('BOT'));
    expect(lines[header]).toMatch(
      /^BOT\s+ROLE\s+LAST REQUEST\s+30D\s+60D\s+90D\s+GRANTS\s+MEDIAN HELD\s+QUICK\s+RECOMMEND$/,
    );
    const rows = lines.slice(header + 1, header + 5).map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => [r[1], r.at(-2), r.at(-1)])).toEqual([
      ['read', 'no', 'keep'],
      ['write', 'yes', 'keep'],
      ['admin', 'no', 'remove'],
      ['ops', 'no', 'remove'],
    ]);
    expect(text.stdout).toContain(
      'etl: recommended roles read, write; drop admin, ops; given back within seconds: write',
    );
  });

  it('when the CLI is given an unknown bot or a bad threshold, then it exits 4 or 2 and says why', async () => {
    const unknown = await elevate(['report', 'least-privilege', '--bot', 'nobody']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain(
      'refused by the server (404 not_found, field botId): bot nobody not found',
    );
    const bad = await elevate(['report', 'least-privilege', '--quick-seconds', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--quick-seconds must be a whole number of seconds, 1-3600');
  });

  /** `elevate <args>` as a child process against the test API, with the admin token. */
  function elevate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, ELEVATE_URL: base, ELEVATE_ADMIN_TOKEN: adminToken };
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('bin/elevate.ts'), ...args], {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.end();
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
});
