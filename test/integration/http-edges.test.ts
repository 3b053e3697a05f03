/**
 * Edges of the HTTP layer that need no workflow: an audit store that cannot be read answers 503,
 * and the audited caller address honours (only) a configured reverse proxy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElevationService } from '../../domain/elevation-service.js';
import { SqliteStore } from '../../integrations/audit/sqlite-store.js';
import { createApp } from '../../server/app.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { buildPolicy, testDecisionKey, testLogger } from '../support/stack.js';

const dir = mkdtempSync(path.join(tmpdir(), 'elevate-http-'));
const { policy, adminToken } = buildPolicy([{ id: 'edge-bot', roles: ['edge'] }], [{ id: 'edge' }]);
const servers: Server[] = [];
const stores: SqliteStore[] = [];

/** An app over a real SQLite store; Temporal is never reached by these requests. */
async function serve(store: SqliteStore, trustProxy: boolean | string = false): Promise<string> {
  const service = new ElevationService({
    policy,
    temporal: new Client(),
    signer: new DecisionSigner(testDecisionKey()),
    taskQueue: 'unused',
    store,
    timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
    logger: testLogger(),
  });
  const app = createApp({ service, healthChecks: {}, logger: testLogger(), trustProxy });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

function open(name: string): SqliteStore {
  const store = SqliteStore.open(path.join(dir, `${name}.db`));
  stores.push(store);
  return store;
}

afterAll(async () => {
  for (const s of servers) s.close();
  for (const s of stores) await s.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('audit store that cannot be read', () => {
  let base: string;
  beforeAll(async () => {
    const store = open('closed');
    base = await serve(store);
    await store.close();
  });

  it.each([
    ['the elevation list', '/v1/admin/elevations'],
    ['one elevation', `/v1/admin/elevations/el_${'2'.repeat(24)}`],
    ['the chain verification', '/v1/admin/audit/verify'],
  ])('when an admin reads %s, then the answer is 503 service_unavailable, not 500', async (_, route) => {
    const res = await fetch(base + route, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
  });
});

describe('caller address in the audit trail', () => {
  const tryUnknownKey = (base: string) =>
    fetch(`${base}/v1/elevations/el_${'3'.repeat(24)}`, {
      headers: { authorization: 'Bearer elv_bot_never-issued', 'x-forwarded-for': '203.0.113.7' },
    });

  it('when no proxy is trusted, then a forged X-Forwarded-For is ignored and the socket peer is recorded', async () => {
    const store = open('direct');
    expect((await tryUnknownKey(await serve(store))).status).toBe(401);
    const [event] = await store.readEvents(0, 10);
    expect(event).toMatchObject({ type: 'auth.refused' });
    expect(String(event!.data.ip)).toMatch(/127\.0\.0\.1$/);
  });

  it('when the loopback proxy is trusted, then the address it forwards is recorded', async () => {
    const store = open('proxied');
    expect((await tryUnknownKey(await serve(store, 'loopback'))).status).toBe(401);
    const [event] = await store.readEvents(0, 10);
    expect(event?.data.ip).toBe('203.0.113.7');
  });
});
