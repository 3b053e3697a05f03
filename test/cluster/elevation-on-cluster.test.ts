/**
 * Elevate on a real Temporal server on PostgreSQL (dev/temporal-cluster.ts), not the CLI's dev
 * server: one whole elevation, from request to verified revocation, with the workflow's state
 * read back from the cluster's own database. Not part of `npm test` (it needs the server that
 * `scripts/setup` builds only where Go is installed): `npm run test:cluster`.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../core/model/elevation.js';
import { startTemporalCluster, type TemporalCluster } from '../../dev/temporal-cluster.js';
import { botOf, startStack, type Stack } from '../support/stack.js';

let cluster: TemporalCluster;
let stack: Stack;

beforeAll(async () => {
  cluster = await startTemporalCluster();
  stack = await startStack({
    bots: [{ id: 'ci-bot', roles: ['deploy'] }],
    roles: [{ id: 'deploy', maxDurationSeconds: 60 }],
    temporal: { address: cluster.address, namespace: cluster.namespace },
  });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await cluster?.stop();
}, 60_000);

/** The workflow's row in the cluster's `current_executions` table (status 2: completed). */
async function executionRow(workflowId: string): Promise<{ status: number } | undefined> {
  const url = new URL(cluster.postgresUrl);
  url.pathname = '/temporal';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const result = await client.query<{ status: number }>(
      'SELECT status FROM current_executions WHERE workflow_id = $1',
      [workflowId],
    );
    return result.rows[0];
  } finally {
    await client.end();
  }
}

describe('an elevation on a Temporal cluster on PostgreSQL', () => {
  it('when a bot asks for an auto role, then it is granted in LDAP, removed when the window ends, every step is recorded, and the workflow completed in the cluster database', async () => {
    const { elevation } = await stack.services.requests.request(botOf(stack, 'ci-bot'), {
      role: 'deploy',
      durationSeconds: 2,
      justification: 'cluster test',
    });
    expect(elevation.status).toBe('approved');

    const active = await stack.waitFor(elevation.id, (v) => v.status === 'active', 30_000);
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(true);
    expect(Date.parse(active.expiresAt!) - Date.parse(active.grantedAt!)).toBe(2000);

    const revoked = await stack.waitFor(elevation.id, (v) => v.status === 'revoked', 30_000);
    expect(revoked.endReason).toBe('expired');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(false);

    const events = await stack.stores.auditLog.listEvents(elevation.id);
    expect(events.map((e) => e.type)).toEqual([
      'elevation.requested',
      'elevation.approved',
      'grant.confirmed',
      'revoke.started',
      'elevation.revoked',
    ]);
    expect(events.at(-1)!.data.receipt).toMatchObject({ removed: true, stillHeldBy: [] });
    expect((await stack.stores.auditLog.verify()).ok).toBe(true);

    const workflowId = workflowIdFor(elevation.id);
    await stack.env.client.workflow.getHandle(workflowId).result();
    expect(await executionRow(workflowId)).toEqual({ status: 2 });
  });
});
