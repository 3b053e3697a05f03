/**
 * A deployment without an LDAP directory: roles on PostgreSQL only, approvers listed by address.
 * `startApiAndWorker` runs without `LDAP_URL`, grants and revokes on the real PostgreSQL server, and
 * its health check does not name LDAP; a policy that does need LDAP is refused at start with an
 * error naming `LDAP_URL` and what needs it. An API process apart from its worker needs no
 * target credentials at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema, type Policy } from '../../config/policy.js';
import { generateSecret, hashSecret } from '../../core/crypto/credentials.js';
import { postgresServerIdEnv } from '../../integrations/postgres/postgres-target.js';
import { findTemporalCli } from '../../dev/temporal-cli.js';
import { startApi } from '../../runtime/api.js';
import { startApiAndWorker } from '../../runtime/api-and-worker.js';
import { startWorker } from '../../runtime/worker.js';
import type { ServiceSettings } from '../../runtime/process.js';
import { installTemporalLogging } from '../../worker/create-worker.js';
import { ldapUses } from '../../runtime/targets.js';
import { startPostgres, type PostgresServer } from '../../dev/postgres-server.js';
import { testDecisionSettings, testLogger } from '../support/stack.js';

const botKey = generateSecret('bot');

/** A policy file's content: one bot, a PostgreSQL role, plus the roles and approvals given. */
function policyWith(extraRoles: unknown[] = [], approval: unknown = { mode: 'auto' }): Policy {
  return policySchema.parse({
    version: 1,
    admins: [{ id: 'admin', tokenHash: hashSecret(generateSecret('admin')) }],
    bots: [
      {
        id: 'etl',
        owner: 'owner@example.org',
        team: 'data',
        purpose: 'nightly load',
        environment: 'test',
        postgresLogin: 'etl_bot',
        // Only used by LDAP roles; a bot may carry it where none is configured.
        ldapDn: 'uid=etl,ou=bots,dc=example,dc=org',
        apiKeyHash: hashSecret(botKey),
        roles: ['warehouse-write', ...extraRoles.map((r) => (r as { id: string }).id)],
      },
    ],
    roles: [
      {
        id: 'warehouse-write',
        environment: 'test',
        target: { type: 'postgres', server: 'wh', role: 'writer' },
        maxDurationSeconds: 600,
        approval,
      },
      ...extraRoles,
    ],
  });
}

let server: PostgresServer;
let env: TestWorkflowEnvironment;
let dir: string;
let targetEnv: NodeJS.ProcessEnv;

function settings(name: string): ServiceSettings {
  return {
    host: '127.0.0.1',
    port: 0,
    audit: { sqlitePath: path.join(dir, `${name}.db`) },
    timing: { grantTimeoutSeconds: 30, revokeRetryMaxSeconds: 2 },
    temporal: { address: env.address, namespace: env.namespace ?? 'default', taskQueue: `no-ldap-${name}` },
    reconcile: { intervalSeconds: 86_400 },
    ...testDecisionSettings(),
  };
}

beforeAll(async () => {
  const cli = findTemporalCli();
  if (!cli) throw new Error('the Temporal CLI is not installed: run scripts/setup');
  // Before the test environment makes Temporal's runtime, which can be set up only once.
  installTemporalLogging(testLogger());
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-no-ldap-'));
  server = await startPostgres();
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    await c.query(`CREATE ROLE elevate_admin LOGIN CREATEROLE PASSWORD 'elevate-admin-secret'`);
    await c.query('CREATE ROLE writer NOLOGIN');
    await c.query('CREATE ROLE etl_bot LOGIN');
  } finally {
    await c.end();
  }
  targetEnv = {
    [postgresServerIdEnv('wh')]: server.url.replace('postgres@', 'elevate_admin:elevate-admin-secret@'),
  };
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      log: { format: 'pretty', level: 'error' },
    },
  });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function isMember(): Promise<boolean> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    const r = await c.query<{ m: boolean }>(`SELECT pg_has_role('etl_bot', 'writer', 'MEMBER') AS m`);
    return r.rows[0]?.m === true;
  } finally {
    await c.end();
  }
}

describe('without an LDAP directory', () => {
  it('when no role, approver group or admin group uses LDAP, then Elevate runs, grants and revokes, and its health does not name LDAP', async () => {
    const services = await startApiAndWorker({
      settings: settings('pg-only'),
      policy: policyWith(),
      logger: testLogger(),
      env: targetEnv,
    });
    try {
      expect(services.target).toBeUndefined();
      const health = await fetch(`${services.url}/healthz`);
      expect(health.status).toBe(200);
      const body = (await health.json()) as { status: string; checks: Record<string, unknown> };
      expect(body.status).toBe('ok');
      expect(Object.keys(body.checks).sort()).toEqual(['auditStore', 'temporal', 'worker']);

      const auth = { authorization: `Bearer ${botKey}`, 'content-type': 'application/json' };
      const created = await fetch(`${services.url}/v1/elevations`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          role: 'warehouse-write',
          durationSeconds: 60,
          justification: 'load without LDAP',
          requestId: 'no-ldap-1',
        }),
      });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      const active = (await (
        await fetch(`${services.url}/v1/elevations/${id}?waitSeconds=20`, { headers: auth })
      ).json()) as { status: string };
      expect(active.status).toBe('active');
      expect(await isMember()).toBe(true);

      const revoked = await fetch(`${services.url}/v1/elevations/${id}/revoke`, {
        method: 'POST',
        headers: auth,
      });
      expect(revoked.status).toBeLessThan(300);
      let status = '';
      for (let i = 0; i < 40 && status !== 'revoked'; i++) {
        const view = (await (
          await fetch(`${services.url}/v1/elevations/${id}?waitSeconds=1`, { headers: auth })
        ).json()) as { status: string };
        status = view.status;
      }
      expect(status).toBe('revoked');
      expect(await isMember()).toBe(false);
    } finally {
      await services.close();
    }
  }, 120_000);

  it('when an approver group lists addresses only, then no directory is needed', () => {
    const policy = policyWith([], { mode: 'approvers', approvers: ['ann@example.org'], quorum: 1 });
    expect(ldapUses(policy, undefined)).toEqual([]);
  });

  it('when a role is an LDAP group, an approver group is in LDAP, or admins are an LDAP group, then start refuses and names LDAP_URL and each use', async () => {
    const policy = policyWith(
      [
        {
          id: 'ops',
          environment: 'test',
          target: { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' },
          maxDurationSeconds: 600,
          approval: { mode: 'auto' },
        },
      ],
      {
        mode: 'approvers',
        groups: [{ name: 'dba', quorum: 1, ldapGroup: 'cn=dba,ou=groups,dc=example,dc=org' }],
      },
    );
    const adminConsole = { ldapGroupDn: 'cn=admins,ou=groups,dc=example,dc=org' };
    expect(ldapUses(policy, adminConsole)).toEqual([
      'roles ops are LDAP groups',
      'roles warehouse-write have approver groups in LDAP',
      'ADMIN_LDAP_GROUP_DN names an LDAP group of admins',
    ]);
    await expect(
      startWorker({
        settings: settings('needs-ldap'),
        policy,
        logger: testLogger(),
        env: targetEnv,
      }),
    ).rejects.toMatchObject({
      field: 'LDAP_URL',
      message: expect.stringMatching(/^LDAP_URL: must be set .*roles ops are LDAP groups/) as unknown,
    });
  });
});

describe('an API process without target credentials', () => {
  it('when the API runs apart from the worker, then it starts with no PostgreSQL URL and no LDAP account, and the worker grants and revokes for it', async () => {
    const policy = policyWith();
    const api = await startApi({
      settings: settings('split'),
      policy,
      logger: testLogger(),
      env: {},
    });
    try {
      expect(api.target).toBeUndefined();
      const worker = await startWorker({
        settings: settings('split'),
        policy,
        logger: testLogger(),
        env: targetEnv,
      });
      try {
        const health = (await (await fetch(`${api.url}/healthz`)).json()) as {
          checks: Record<string, unknown>;
        };
        expect(Object.keys(health.checks).sort()).toEqual(['auditStore', 'temporal', 'worker']);
        const auth = { authorization: `Bearer ${botKey}`, 'content-type': 'application/json' };
        const created = await fetch(`${api.url}/v1/elevations`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({
            role: 'warehouse-write',
            durationSeconds: 60,
            justification: 'split processes',
          }),
        });
        expect(created.status).toBe(202);
        const { id } = (await created.json()) as { id: string };
        const active = (await (
          await fetch(`${api.url}/v1/elevations/${id}?waitSeconds=20&until=active`, { headers: auth })
        ).json()) as { status: string };
        expect(active.status).toBe('active');
        expect(await isMember()).toBe(true);
        const revoked = await fetch(`${api.url}/v1/elevations/${id}/revoke`, {
          method: 'POST',
          headers: auth,
        });
        expect(revoked.status).toBeLessThan(300);
        const ended = (await (
          await fetch(`${api.url}/v1/elevations/${id}?waitSeconds=20&until=revoked`, { headers: auth })
        ).json()) as { status: string };
        expect(ended.status).toBe('revoked');
        expect(await isMember()).toBe(false);
      } finally {
        await worker.close();
      }
    } finally {
      await api.close();
    }
  }, 120_000);

  it('when a role is an LDAP group, then the API alone needs no LDAP, but a worker is refused naming LDAP_URL; a worker without the server URL is refused naming it', async () => {
    const policy = policyWith([
      {
        id: 'ops',
        environment: 'test',
        target: { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' },
        maxDurationSeconds: 600,
        approval: { mode: 'auto' },
      },
    ]);
    expect(ldapUses(policy, undefined, { api: true, worker: false })).toEqual([]);
    const api = await startApi({
      settings: settings('api-ldap-role'),
      policy,
      logger: testLogger(),
      env: {},
    });
    await api.close();
    await expect(
      startWorker({
        settings: settings('worker-ldap-role'),
        policy,
        logger: testLogger(),
        env: targetEnv,
      }),
    ).rejects.toMatchObject({ field: 'LDAP_URL' });
    await expect(
      startWorker({
        settings: settings('worker-no-url'),
        policy: policyWith(),
        logger: testLogger(),
        env: {},
      }),
    ).rejects.toMatchObject({ field: postgresServerIdEnv('wh') });
  }, 120_000);
});
