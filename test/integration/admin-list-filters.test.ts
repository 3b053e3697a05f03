/**
 * The console's list filters of the elevation index on both engines, on real databases: owner,
 * team, environment, target type (a role bundle's under each kind its roles are granted in) and
 * risk, alone, combined and paged; and the adoption of a database an earlier Elevate wrote without
 * their columns, which fills them in from what was recorded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ElevationQuery } from '../../store/elevation-index.js';
import type { NewAuditEvent } from '../../core/model/audit-record.js';
import { Kysely, SqliteDialect } from 'kysely';
import { openStores, type Stores } from '../../store/stores.js';
import { elevationListQuery } from '../../store/elevation-index.js';
import type { StoreSchema } from '../../store/schema.js';
import type { ElevationView } from '../../core/model/elevation.js';
import type { TargetRef } from '../../core/model/targets.js';
import { createDatabase, startPostgres, type PostgresServer } from '../../dev/postgres-server.js';
import { FORGET_MIGRATIONS, SQLITE_UNDO_CHECKPOINTS } from '../support/raw-db.js';

const LDAP: TargetRef = { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' };
const PG: TargetRef = { type: 'postgres', server: 'wh', role: 'writer' };
const AWS: TargetRef = { type: 'aws-iam', mode: 'attach', policyDocument: '{}' };

interface Spec {
  id: string;
  bot: string;
  owner: string;
  team: string;
  env: string;
  target: TargetRef;
  approvers: boolean;
  status: ElevationView['status'];
  minute: number;
  /** A bundle's roles' kinds of target (`target` is then its first role's). */
  bundle?: TargetRef['type'][];
}

const SPECS: Spec[] = [
  {
    id: 'e1',
    bot: 'etl',
    owner: 'ann@example.org',
    team: 'data',
    env: 'prod',
    target: LDAP,
    approvers: true,
    status: 'revoked',
    minute: 1,
  },
  {
    id: 'e2',
    bot: 'etl',
    owner: 'ann@example.org',
    team: 'data',
    env: 'prod',
    target: PG,
    approvers: false,
    status: 'active',
    minute: 2,
  },
  {
    id: 'e3',
    bot: 'ci',
    owner: 'bob@example.org',
    team: 'platform',
    env: 'staging',
    target: AWS,
    approvers: true,
    status: 'active',
    minute: 3,
  },
  {
    id: 'e4',
    bot: 'ci',
    owner: 'bob@example.org',
    team: 'platform',
    env: 'prod-eu',
    target: LDAP,
    approvers: true,
    status: 'denied',
    minute: 4,
  },
  {
    id: 'e5',
    bot: 'etl',
    owner: 'ann@example.org',
    team: 'data',
    env: 'production',
    target: PG,
    approvers: true,
    status: 'active',
    minute: 5,
  },
  {
    id: 'e6',
    bot: 'rpa',
    owner: 'cy@example.org',
    team: 'finance',
    env: 'products',
    target: AWS,
    approvers: true,
    status: 'revoked',
    minute: 6,
  },
  {
    id: 'e7',
    bot: 'sync',
    owner: 'dee@example.org',
    team: 'ops',
    env: 'staging',
    target: LDAP,
    approvers: true,
    status: 'active',
    minute: 7,
    bundle: ['ldap', 'postgres'],
  },
];

function viewOf(s: Spec, status: ElevationView['status']): ElevationView {
  return {
    id: s.id,
    workflowId: `elevation-${s.id}`,
    status,
    botId: s.bot,
    roleId: `role-${s.target.type}`,
    owner: s.owner,
    environment: s.env,
    durationSeconds: 60,
    justification: 'test',
    requestedAt: new Date(Date.UTC(2026, 5, 1, 10, s.minute)).toISOString(),
    approval: s.approvers
      ? { mode: 'approvers', quorum: 1, deadline: '2026-06-01T11:00:00.000Z', groups: [] }
      : { mode: 'auto' },
    approvals: [],
    revokeAttempts: 0,
    ...(s.bundle
      ? {
          bundle: {
            id: 'bundle-sync',
            grants: s.bundle.map((type) => ({
              roleId: `role-${type}`,
              targetType: type,
              status: 'granted' as const,
            })),
          },
        }
      : {}),
  };
}

/** The requested event (with bot and role), then a later event that only carries the view. */
async function seed(store: Stores): Promise<void> {
  let n = 0;
  for (const s of SPECS) {
    const first = viewOf(s, s.approvers ? 'pending_approval' : 'approved');
    const events: NewAuditEvent[] = [
      {
        id: `${s.id}-1`,
        elevationId: s.id,
        type: 'elevation.requested',
        at: first.requestedAt,
        actor: { kind: 'bot', id: s.bot },
        data: {
          bot: { id: s.bot, owner: s.owner, team: s.team, purpose: 'p', environment: s.env, principal: 'x' },
          role: { id: first.roleId, environment: s.env, target: s.target, maxDurationSeconds: 60 },
        },
        elevation: first,
      },
      {
        id: `${s.id}-2`,
        elevationId: s.id,
        type: 'elevation.approved',
        at: first.requestedAt,
        actor: { kind: 'system', id: 'elevate' },
        data: {},
        elevation: viewOf(s, s.status),
      },
    ];
    for (const e of events) {
      n += 1;
      await store.auditLog.append(e);
    }
  }
  expect(n).toBe(SPECS.length * 2);
}

const ids = async (store: Stores, query: Partial<ElevationQuery>) =>
  (await store.elevations.listElevations({ limit: 100, ...query })).items.map((e) => e.id);

/** The assertions every engine must pass, before and after the backfill. */
async function expectFilters(store: Stores): Promise<void> {
  expect(await ids(store, { owner: 'ann@example.org' })).toEqual(['e5', 'e2', 'e1']);
  expect(await ids(store, { team: 'platform' })).toEqual(['e4', 'e3']);
  expect(await ids(store, { environment: 'prod' })).toEqual(['e2', 'e1']);
  expect(await ids(store, { targetType: 'aws-iam' })).toEqual(['e6', 'e3']);
  // A bundle of an LDAP group and a PostgreSQL role shows under both kinds.
  expect(await ids(store, { targetType: 'postgres' })).toEqual(['e7', 'e5', 'e2']);
  expect(await ids(store, { targetType: 'ldap' })).toEqual(['e7', 'e4', 'e1']);
  expect(await ids(store, { targetType: 'postgres', status: ['active'], team: 'ops' })).toEqual(['e7']);
  // prod, production and prod-… are production; `products` is not.
  expect(await ids(store, { risk: 'high' })).toEqual(['e5', 'e4', 'e1']);
  expect(await ids(store, { risk: 'medium' })).toEqual(['e7', 'e6', 'e3']);
  expect(await ids(store, { risk: 'low' })).toEqual(['e2']);
  expect(await ids(store, { owner: 'ann@example.org', risk: 'high', status: ['active'] })).toEqual(['e5']);
  expect(await ids(store, { team: 'data', targetType: 'postgres', botId: 'etl' })).toEqual(['e5', 'e2']);
  expect(await ids(store, { team: 'nobody' })).toEqual([]);
  // Paged with a filter: the cursor carries on within the filter.
  const first = await store.elevations.listElevations({ limit: 2, risk: 'high' });
  expect(first.items.map((e) => e.id)).toEqual(['e5', 'e4']);
  const second = await store.elevations.listElevations({ limit: 2, risk: 'high', cursor: first.nextCursor! });
  expect(second.items.map((e) => e.id)).toEqual(['e1']);
  expect(second.nextCursor).toBeUndefined();
}

describe('list filters, SQLite', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'elevate-filters-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('when elevations are recorded, then every filter and their combinations select the right ones', async () => {
    const store = await openStores({ sqlitePath: join(dir, 'a.db') });
    try {
      await seed(store);
      await expectFilters(store);
    } finally {
      await store.database.close();
    }
  });

  it('when a database from before the filter columns is opened, then they are filled in from what was recorded', async () => {
    const path = join(dir, 'b.db');
    const store = await openStores({ sqlitePath: path });
    await seed(store);
    await store.database.close();
    // Back to a database an earlier Elevate wrote: without the columns and their indexes.
    const db = new Database(path);
    for (const c of ['owner', 'team', 'environment', 'target_type', 'risk']) {
      db.exec(`DROP INDEX elevations_${c}; ALTER TABLE elevations DROP COLUMN ${c};`);
    }
    db.exec('DROP TABLE elevation_target_types');
    db.exec(SQLITE_UNDO_CHECKPOINTS);
    db.exec(FORGET_MIGRATIONS);
    expect(() => db.prepare('SELECT team FROM elevations').all()).toThrow(/team/);
    db.close();

    const upgraded = await openStores({ sqlitePath: path });
    try {
      await expectFilters(upgraded);
      // The plan uses the new indexes for a filtered page, read in index order (no sort).
      expect(planOf(path, { limit: 50, team: 'data' })).toMatch(
        /USING INDEX elevations_team(?!.*TEMP B-TREE)/,
      );
    } finally {
      await upgraded.database.close();
    }
  });

  it('when status is combined with a bot or a role, then a page is read from their combined index in order', async () => {
    const path = join(dir, 'c.db');
    const store = await openStores({ sqlitePath: path });
    await seed(store);
    await store.database.close();
    expect(planOf(path, { limit: 50, roleId: 'deploy', status: ['denied'] })).toMatch(
      /USING INDEX elevations_role_status(?!.*TEMP B-TREE)/,
    );
    expect(planOf(path, { limit: 50, botId: 'etl', status: ['revoked'] })).toMatch(
      /USING INDEX elevations_bot_status(?!.*TEMP B-TREE)/,
    );
  });
});

/** SQLite's plan for the store's own list query of `query`, on the database at `path`. */
function planOf(path: string, query: ElevationQuery): string {
  const db = new Database(path, { readonly: true });
  try {
    const { sql, parameters } = elevationListQuery(
      new Kysely<StoreSchema>({ dialect: new SqliteDialect({ database: db }) }),
      query,
    ).compile();
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[];
    return rows.map((r) => r.detail).join(' ');
  } finally {
    db.close();
  }
}

describe('list filters, PostgreSQL', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => server?.stop());

  it('when elevations are recorded, then every filter and their combinations select the right ones', async () => {
    const store = await openStores({
      databaseUrl: await createDatabase(server.url, 'filters_a'),
      sqlitePath: '',
    });
    try {
      await seed(store);
      await expectFilters(store);
    } finally {
      await store.database.close();
    }
  });

  it('when a database from before the filter columns is opened, then they are filled in from what was recorded', async () => {
    const url = await createDatabase(server.url, 'filters_b');
    const store = await openStores({ databaseUrl: url, sqlitePath: '' });
    await seed(store);
    await store.database.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const c of ['owner', 'team', 'environment', 'target_type', 'risk']) {
        await client.query(`DROP INDEX elevations_${c}`);
        await client.query(`ALTER TABLE elevations DROP COLUMN ${c}`);
      }
      await client.query('DROP TABLE elevation_target_types');
      await client.query(FORGET_MIGRATIONS);
    } finally {
      await client.end();
    }
    const upgraded = await openStores({ databaseUrl: url, sqlitePath: '' });
    try {
      await expectFilters(upgraded);
    } finally {
      await upgraded.database.close();
    }
  });
});
