/**
 * Role bundles (`bundles` in the policy) over the HTTP API, on the real Temporal dev server,
 * slapd, PostgreSQL and store: a bundle of an LDAP role and a PostgreSQL role is granted with
 * one request and one decision, read back in both targets, and revoked together at the end of
 * its window; when one of its grants fails (a group that does not exist), the role granted
 * before it is revoked and the elevation ends `failed` naming the role; a bundle's elevation
 * cannot be extended; bad input is a 4xx naming the field, and starts nothing.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../config/policy.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { groupDn } from '../../dev/ldap-seed.js';
import { startPostgres, type PostgresServer } from '../../dev/postgres-server.js';
import { createDomainServices } from '../../domain/domain-services.js';
import { PostgresTarget } from '../../integrations/postgres/postgres-target.js';
import { createApp } from '../../server/app.js';
import { startStack, SUFFIX, testLogger, type Stack } from '../support/stack.js';

let pgServer: PostgresServer;
let admin: pg.Client;
let stack: Stack;
let http: Server;
let base: string;

beforeAll(async () => {
  pgServer = await startPostgres();
  admin = new pg.Client({ connectionString: pgServer.url });
  await admin.connect();
  await admin.query(`CREATE ROLE elevate_admin LOGIN CREATEROLE PASSWORD 'elevate-admin-secret'`);
  await admin.query('CREATE ROLE reporting NOLOGIN');
  await admin.query('CREATE ROLE loading NOLOGIN');
  await admin.query('CREATE ROLE bundle_bot LOGIN');
  const targetUrl = pgServer.url.replace('postgres@', 'elevate_admin:elevate-admin-secret@');
  stack = await startStack({
    bots: [
      {
        id: 'bundle-bot',
        roles: ['ops', 'reporting', 'loading', 'missing', 'other'],
        postgresLogin: 'bundle_bot',
      },
      { id: 'plain-bot', roles: ['ops'] },
    ],
    roles: [
      { id: 'ops', maxDurationSeconds: 3600 },
      {
        id: 'reporting',
        maxDurationSeconds: 60,
        target: { type: 'postgres', server: 'warehouse', role: 'reporting' },
      },
      { id: 'loading', target: { type: 'postgres', server: 'warehouse', role: 'loading' } },
      // A group the directory does not have: its grant fails for good.
      { id: 'missing', target: { type: 'ldap', groupDn: groupDn(SUFFIX, 'no-such-group') } },
      { id: 'other' },
    ],
    targets: { postgres: { warehouse: new PostgresTarget({ url: targetUrl, server: 'warehouse' }) } },
  });
  const policy: Policy = {
    ...stack.policy,
    bundles: [
      { id: 'ops-and-reporting', roles: ['ops', 'reporting'] },
      { id: 'loading-then-missing', roles: ['loading', 'missing'] },
      { id: 'ops-and-other', roles: ['ops', 'other'] },
    ],
  };
  const services = createDomainServices({
    policy,
    temporal: stack.env.client,
    signer: stack.signer,
    taskQueue: stack.taskQueue,
    ...stack.stores,
    timing: stack.timing,
    logger: testLogger(),
    directory: stack.directory,
  });
  const app = createApp({ services, healthChecks: {}, logger: testLogger() });
  http = await new Promise<Server>((resolve) => {
    const h = app.listen(0, '127.0.0.1', () => resolve(h));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await stack?.close();
  await admin?.end();
  await pgServer?.stop();
});

type Json = Record<string, unknown> & { error?: { code: string; message: string; field?: string } };

async function post(botId: string, path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.keys[botId]}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const request = (body: Record<string, unknown>, botId = 'bundle-bot') =>
  post(botId, '/v1/elevations', { justification: 'release train', durationSeconds: 4, ...body });

async function pgMember(role: string): Promise<boolean> {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 AND u.rolname = 'bundle_bot'`,
    [role],
  );
  return rows[0]!.n > 0;
}

async function eventsOf(elevationId: string): Promise<AuditEvent[]> {
  return (await stack.stores.auditLog.readEvents(0, 100_000)).filter((e) => e.elevationId === elevationId);
}

describe('role bundles', () => {
  it('when a bot asks for a bundle of an LDAP and a PostgreSQL role, then both are granted with one request and revoked together', async () => {
    const res = await request({ bundle: 'ops-and-reporting' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      roleId: 'ops-and-reporting',
      bundle: {
        id: 'ops-and-reporting',
        grants: [
          { roleId: 'ops', targetType: 'ldap', status: 'pending' },
          { roleId: 'reporting', targetType: 'postgres', status: 'pending' },
        ],
      },
    });
    const id = String(res.body.id);

    const active = await stack.waitFor(id, (v) => v.status === 'active', 15_000);
    expect(active.bundle?.grants.map((g) => g.status)).toEqual(['granted', 'granted']);
    expect(await stack.isMember('bundle-bot', 'ops')).toBe(true);
    expect(await pgMember('reporting')).toBe(true);
    // Listed under both kinds of target it holds, not only its first role's.
    for (const targetType of ['ldap', 'postgres'] as const) {
      const page = await stack.stores.elevations.listElevations({ targetType, limit: 50 });
      expect(page.items.map((v) => v.id)).toContain(id);
    }

    // Not extendable: the bundle is asked for again.
    const extend = await post('bundle-bot', `/v1/elevations/${id}/extend`, {
      durationSeconds: 10,
      justification: 'longer',
    });
    expect(extend.status).toBe(403);
    expect(extend.body.error).toMatchObject({ code: 'extension_not_allowed', field: 'bundle' });
    expect(extend.body.error?.message).toContain('request the bundle again');

    const ended: ElevationView = await stack.waitFor(id, (v) => v.status === 'revoked', 15_000);
    expect(ended).toMatchObject({ endReason: 'expired' });
    expect(ended.bundle?.grants.map((g) => g.status)).toEqual(['revoked', 'revoked']);
    expect(await stack.isMember('bundle-bot', 'ops')).toBe(false);
    expect(await pgMember('reporting')).toBe(false);

    const events = await eventsOf(id);
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'grant.confirmed')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'grant.confirmed').map((e) => e.data.roleId)).toEqual([
      'ops',
      'reporting',
    ]);
    const granted = events.find((e) => e.type === 'bundle.granted');
    expect(granted?.data).toMatchObject({
      bundle: 'ops-and-reporting',
      grants: [{ roleId: 'ops' }, { roleId: 'reporting' }],
    });
    const revoked = events.find((e) => e.type === 'elevation.revoked');
    expect(revoked?.data).toMatchObject({
      reason: 'expired',
      receipts: [
        { roleId: 'ops', receipt: { removed: true } },
        { roleId: 'reporting', receipt: { removed: true } },
      ],
    });
  }, 30_000);

  it('when one grant of a bundle fails, then the role granted before it is revoked and the elevation fails naming the role', async () => {
    const res = await request({ bundle: 'loading-then-missing' });
    expect(res.status).toBe(202);
    const id = String(res.body.id);

    const failed = await stack.waitFor(id, (v) => v.status === 'failed', 20_000);
    expect(failed.endReason).toBe('grant_failed');
    expect(failed.bundle?.grants).toMatchObject([
      { roleId: 'loading', status: 'revoked' },
      { roleId: 'missing', status: 'failed' },
    ]);
    expect(failed.lastError).toMatch(
      /^bundle loading-then-missing: role missing could not be granted \(TargetNotFoundError: .+\); the roles granted before it are revoked$/,
    );
    expect(await pgMember('loading')).toBe(false);

    const events = await eventsOf(id);
    expect(events.find((e) => e.type === 'grant.failed')?.data).toMatchObject({
      roleId: 'missing',
      error: { type: 'TargetNotFoundError' },
    });
    expect(events.some((e) => e.type === 'bundle.granted')).toBe(false);
    expect(events.find((e) => e.type === 'elevation.failed')?.data).toMatchObject({
      reason: 'grant_failed',
      // The failed role is released too, as a single role's failed grant is: nothing is left behind.
      receipts: [
        { roleId: 'loading', receipt: { removed: true } },
        { roleId: 'missing', receipt: { principal: expect.any(String) as string } },
      ],
    });
  }, 30_000);

  it.each([
    [
      'both a role and a bundle',
      { role: 'ops', bundle: 'ops-and-reporting' },
      400,
      'invalid_request',
      'bundle',
    ],
    ['neither a role nor a bundle', {}, 400, 'invalid_request', 'role'],
    ['an unknown bundle', { bundle: 'ghost' }, 422, 'unknown_role', 'bundle'],
    ['a malformed bundle id', { bundle: 'Not An Id' }, 400, 'invalid_request', 'bundle'],
    [
      'a duration over its smallest role maximum',
      { bundle: 'ops-and-reporting', durationSeconds: 61 },
      422,
      'duration_too_long',
      'durationSeconds',
    ],
    [
      'a start time',
      { bundle: 'ops-and-reporting', startsAt: new Date(Date.now() + 60_000).toISOString() },
      400,
      'invalid_request',
      'startsAt',
    ],
    ['break-glass', { bundle: 'ops-and-reporting', breakGlass: true }, 400, 'invalid_request', 'breakGlass'],
  ])(
    'when a request names %s, then it is refused naming the field, and starts nothing',
    async (_, body, status, code, field) => {
      const res = await request(body);
      expect(res.status).toBe(status);
      expect(res.body.error).toMatchObject({ code, field });
    },
  );

  it('when a bot may not request one of the roles of a bundle, then it is refused naming the bundle and the role', async () => {
    const res = await request({ bundle: 'ops-and-other' }, 'plain-bot');
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'role_not_allowed', field: 'bundle' });
    expect(res.body.error?.message).toContain('may not request its role other');
  });
});
