/**
 * The benchmark's admin review: a long history in the audit store (H past elevations over the
 * last 90 days, one `elevation.requested` event each), queried through the admin API as a person
 * would (five filters and paging, 400 requests), the console's charts over 90 days, and the whole
 * chain verified; then the same verification on a PostgreSQL audit store (what `DATABASE_URL`
 * selects) filled with its own chain. Medians of three runs where timed as a whole.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ElevationView } from '../core/model/elevation.js';
import { groupDn } from '../dev/ldap-seed.js';
import { createDatabase } from '../dev/postgres-server.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';
import { activeSlots, chartWindow, statsFromAggregates } from '../server/admin-charts.js';
import { openStores } from '../store/stores.js';

export interface AdminReviewOptions {
  services: Pick<ApiAndWorkerProcess, 'stores'>;
  /** The API's base URL, and the admin token it accepts. */
  api: string;
  adminToken: string;
  /** The bots and roles the past elevations are spread over. */
  bots: readonly string[];
  roles: readonly string[];
  historyElevations: number;
  postgresAuditEvents: number;
  /** A PostgreSQL superuser URL: the audit store gets a database of its own there. */
  postgresUrl: string;
  /** The directory's suffix, for the roles' group DNs. */
  suffix: string;
  say: (line: string) => void;
}

export interface AdminReviewFigures {
  /** Each admin list request's time, ascending. */
  listMs: number[];
  charts: { ms: number; checked: number };
  verifyMedian: { ms: number; checked: number };
  pgVerifyMedian: { ms: number; checked: number };
}

/** Runs `work` three times; the run of median duration, with the count `work` returned. */
async function medianOf3(work: () => Promise<number>): Promise<{ ms: number; checked: number }> {
  const runs: { ms: number; checked: number }[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    const checked = await work();
    runs.push({ ms: performance.now() - t, checked });
  }
  return runs.sort((a, b) => a.ms - b.ms)[1]!;
}

export async function measureAdminReview(o: AdminReviewOptions): Promise<AdminReviewFigures> {
  const {
    services,
    api,
    adminToken,
    bots,
    roles,
    historyElevations: H,
    postgresAuditEvents,
    postgresUrl,
    suffix,
    say,
  } = o;
  say(`adding ${H} past elevations to the audit store (one event each) for the admin queries`);
  const outcomes: ElevationView['status'][] = [
    'revoked',
    'revoked',
    'revoked',
    'expired',
    'denied',
    'failed',
  ];
  const now = Date.now();
  for (let i = 0; i < H; i++) {
    const id = `el_${(0xb000000 + i).toString(16).padStart(24, '0')}`;
    const botId = bots[i % bots.length]!;
    const roleId = roles[i % roles.length]!;
    const requestedAt = new Date(now - 90 * 86_400_000 + Math.floor((i / H) * 90 * 86_400_000)).toISOString();
    const view: ElevationView = {
      id,
      workflowId: `elevation-${id}`,
      status: outcomes[i % outcomes.length]!,
      botId,
      roleId,
      owner: 'bench@example.org',
      environment: 'bench',
      durationSeconds: 600,
      justification: 'past benchmark elevation',
      requestedAt,
      approval: { mode: 'auto' },
      approvals: [],
      revokeAttempts: 0,
    };
    await services.stores.auditLog.append({
      id: `hist-${i}`,
      elevationId: id,
      type: 'elevation.requested',
      at: requestedAt,
      actor: { kind: 'bot', id: botId },
      data: {
        bot: { id: botId, owner: 'bench@example.org', team: 'bench', environment: 'bench' },
        role: {
          id: roleId,
          environment: 'bench',
          target: { type: 'ldap', groupDn: groupDn(suffix, roleId) },
        },
        durationSeconds: 600,
        justification: 'past benchmark elevation',
      },
      elevation: view,
    });
    // The store is synchronous underneath: let the worker (drift detection keeps running) and
    // the API breathe between batches rather than stalling them for the whole fill.
    if (i % 500 === 499) await yieldToEventLoop();
  }
  const day = new Date(now - 30 * 86_400_000);
  const queries = [
    '?limit=50',
    '?limit=50&status=revoked',
    `?limit=50&bot=${bots[7 % bots.length]}`,
    `?limit=50&role=${roles[3 % roles.length]}&status=denied`,
    `?limit=50&from=${encodeURIComponent(day.toISOString())}&to=${encodeURIComponent(new Date(day.getTime() + 86_400_000).toISOString())}`,
  ];
  const listMs: number[] = [];
  const adminGet = async (query: string) => {
    const t = performance.now();
    const res = await fetch(`${api}/v1/admin/elevations${query}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const body = (await res.json()) as { items: unknown[]; nextCursor?: string };
    if (res.status !== 200) throw new Error(`admin list ${query}: HTTP ${res.status}`);
    listMs.push(performance.now() - t);
    return body;
  };
  for (let round = 0; round < 40; round++) {
    for (const q of queries) await adminGet(q);
    // Paging: five pages deep from the newest.
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const body = await adminGet(`?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      cursor = body.nextCursor;
      if (!cursor) break;
    }
  }
  listMs.sort((a, b) => a - b);
  // The console's charts over 90 days (every past elevation): counted in SQL as the page does it,
  // without the HTML (which is the same size whatever the count).
  say(`computing the console's charts over 90 days`);
  const charts = await medianOf3(async () => {
    const window = chartWindow(90, new Date());
    const aggregates = await services.stores.elevations.chartAggregates({
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      intervals: activeSlots(window),
    });
    statsFromAggregates(aggregates, window);
    return aggregates.total;
  });
  say(`verifying the whole audit chain`);
  const verifyMedian = await medianOf3(async () => {
    const v = await services.stores.auditLog.verify();
    if (!v.ok) throw new Error(`the audit chain does not verify: ${JSON.stringify(v.firstBroken)}`);
    return v.checked;
  });

  // The same verification on a PostgreSQL audit store (what DATABASE_URL selects), in its own
  // database on the bench's cluster (filling it goes one append at a time).
  say(`verifying a chain of ${postgresAuditEvents} events in a PostgreSQL audit store`);
  const pgStores = await openStores({
    databaseUrl: await createDatabase(postgresUrl, 'bench_audit'),
    sqlitePath: ':memory:',
  });
  const pgStore = pgStores.auditLog;
  let pgVerifyMedian: { ms: number; checked: number };
  try {
    for (let i = 0; i < postgresAuditEvents; i++) {
      const botId = bots[i % bots.length]!;
      await pgStore.append({
        id: `pg-hist-${i}`,
        elevationId: `el_${(0xc000000 + i).toString(16).padStart(24, '0')}`,
        type: 'elevation.requested',
        at: new Date().toISOString(),
        actor: { kind: 'bot', id: botId },
        data: {
          bot: { id: botId, owner: 'bench@example.org', team: 'bench', environment: 'bench' },
          role: {
            id: roles[i % roles.length]!,
            environment: 'bench',
            target: { type: 'ldap', groupDn: 'cn=x' },
          },
          durationSeconds: 600,
          justification: 'past benchmark elevation',
        },
      });
    }
    pgVerifyMedian = await medianOf3(async () => {
      const v = await pgStore.verify();
      if (!v.ok)
        throw new Error(`the PostgreSQL audit chain does not verify: ${JSON.stringify(v.firstBroken)}`);
      return v.checked;
    });
  } finally {
    await pgStores.database.close();
  }
  return { listMs, charts, verifyMedian, pgVerifyMedian };
}
