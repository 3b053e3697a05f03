/**
 * A role's `requireTicket` over the HTTP API, on a real SQLite store: a request without a ticket,
 * or with one that does not match the role's pattern, is 400 `invalid_request` naming `ticket`
 * and the pattern, is recorded as `request.refused`, and starts nothing; a matching ticket starts
 * the elevation with it. Refused requests never reach Temporal, so it is a stand-in that counts
 * the workflows started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../config/policy.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { createDomainServices } from '../../domain/domain-services.js';
import { createApp } from '../../server/app.js';
import { openStores, type Stores } from '../../store/stores.js';
import { buildPolicy, testDecisionKey, testLogger } from '../support/stack.js';

const PATTERN = '^(CHG|INC)-[0-9]+$';
const dir = mkdtempSync(path.join(tmpdir(), 'elevate-ticket-'));
const built = buildPolicy(
  [{ id: 'ticket-bot', roles: ['free', 'any-ticket', 'change'] }],
  [{ id: 'free' }, { id: 'any-ticket' }, { id: 'change' }],
);
const policy: Policy = {
  ...built.policy,
  roles: built.policy.roles.map((r) =>
    r.id === 'any-ticket'
      ? { ...r, requireTicket: true }
      : r.id === 'change'
        ? { ...r, requireTicket: { pattern: PATTERN } }
        : r,
  ),
};
const botKey = built.keys['ticket-bot']!;

/** The workflows started, by the input they were started with. */
const started: { ticket?: string; role: { id: string } }[] = [];
/** Temporal as the request path uses it: a start is recorded and succeeds. */
const temporal = {
  workflow: {
    start: (_type: string, options: { args: [(typeof started)[number]] }) => {
      started.push(options.args[0]);
      return Promise.resolve({});
    },
  },
} as unknown as Client;

let store: Stores;
let server: Server;
let base: string;

beforeAll(async () => {
  store = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
  const logger = testLogger();
  const services = createDomainServices({
    policy,
    temporal,
    signer: new DecisionSigner(testDecisionKey()),
    taskQueue: 'unused',
    ...store,
    timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
    logger,
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

type ErrorBody = { error?: { code: string; message: string; field?: string } };

async function request(body: Record<string, unknown>): Promise<{ status: number; body: ErrorBody }> {
  const res = await fetch(`${base}/v1/elevations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${botKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ durationSeconds: 60, justification: 'release', ...body }),
  });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

/** The `request.refused` events recorded so far, newest last. */
async function refusals() {
  return (await store.auditLog.readEvents(0, 1000)).filter((e) => e.type === 'request.refused');
}

describe('requireTicket over the API', () => {
  it.each([
    ['no ticket', 'change', undefined, `role change requires a ticket matching ${PATTERN}`],
    [
      'a ticket in another format',
      'change',
      'OPS-12',
      `ticket does not match the pattern role change requires: ${PATTERN}`,
    ],
    ['a matching ticket with more after it', 'change', 'CHG-12 rollback', 'ticket does not match'],
    ['no ticket where any ticket is required', 'any-ticket', undefined, 'role any-ticket requires a ticket'],
  ])(
    'when a bot sends %s, then it is 400 naming ticket, audited, and nothing starts',
    async (_l, role, ticket, message) => {
      const before = { started: started.length, refused: (await refusals()).length };
      const res = await request({ role, ...(ticket !== undefined ? { ticket } : {}) });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'ticket' });
      expect(res.body.error?.message).toContain(message);
      expect(started.length).toBe(before.started);
      const events = await refusals();
      expect(events).toHaveLength(before.refused + 1);
      expect(events.at(-1)).toMatchObject({
        actor: { kind: 'bot', id: 'ticket-bot' },
        data: {
          code: 'invalid_request',
          field: 'ticket',
          path: '/v1/elevations',
          message: res.body.error?.message,
        },
      });
    },
  );

  it.each([
    ['a matching ticket', 'change', 'INC-42'],
    ['a matching ticket with spaces around it (tickets are trimmed)', 'change', '  CHG-7  '],
    ['any ticket where any is required', 'any-ticket', 'whatever-1'],
    ['no ticket to a role that needs none', 'free', undefined],
  ])('when a bot sends %s, then the elevation starts with it', async (_l, role, ticket) => {
    const before = started.length;
    const res = await request({ role, ...(ticket !== undefined ? { ticket } : {}) });
    expect(res.status).toBe(202);
    expect(started).toHaveLength(before + 1);
    expect(started.at(-1)).toMatchObject({ role: { id: role } });
    expect(started.at(-1)?.ticket).toBe(ticket?.trim());
  });
});
