/**
 * How a bot's requests are admitted and how a lockdown finds them (`domain/bot-quotas.ts`), on a
 * real SQLite store: a request is noted before its workflow starts, a start that surely failed
 * takes its note back, one that may have started keeps it, and the lockdown's critical section
 * lists what is noted and not recorded. (Racing a real lockdown: `lockdown-race.test.ts`.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BotQuotas, type QuotaRequest } from '../../domain/bot-quotas.js';
import { ApiError } from '../../domain/errors.js';
import { openStores, type Stores } from '../../store/stores.js';
import { testLogger } from '../support/stack.js';

let dir: string;
let stores: Stores;
let quotas: BotQuotas;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-admission-'));
  stores = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
  quotas = new BotQuotas(stores, testLogger());
});

afterAll(async () => {
  await stores?.database.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The ids in a bot's note, as the admission writes it (single-use namespace `bot-quota`). */
const noteSchema = z.array(z.object({ id: z.string() }).passthrough());

let n = 0;
function requestOf(botId: string): QuotaRequest {
  n += 1;
  return {
    botId,
    roleId: 'auto-role',
    needsApproval: false,
    elevationId: `el_${n.toString(16).padStart(24, '0')}`,
    limits: { pendingPerRole: 10, openPerRole: 20, requestsPerHour: 240 },
    now: new Date(),
  };
}

const listed = (botId: string) =>
  quotas.lockOut(botId, new Date(), () => Promise.resolve()).then((r) => r.unrecorded);

describe('admission', () => {
  it('when a request is admitted, then it is noted before its workflow starts and a lockdown lists it', async () => {
    const req = requestOf('noted-bot');
    let seenAtStart: string[] = [];

    await quotas.admit(req, {
      gate: () => Promise.resolve(),
      start: async () => {
        seenAtStart = (
          (await stores.singleUse.namespace('bot-quota', noteSchema).peek('noted-bot')) ?? []
        ).map((x) => x.id);
      },
    });

    expect(seenAtStart).toEqual([req.elevationId]);
    expect(await listed('noted-bot')).toEqual([req.elevationId]);
  });

  it('when the gate refuses, then nothing is noted and nothing starts', async () => {
    let started = false;

    const refused = quotas.admit(requestOf('gated-bot'), {
      gate: () => Promise.reject(new ApiError('bot_locked', 'locked')),
      start: () => {
        started = true;
        return Promise.resolve();
      },
    });

    await expect(refused).rejects.toMatchObject({ code: 'bot_locked' });
    expect(started).toBe(false);
    expect(await listed('gated-bot')).toEqual([]);
  });

  it('when a start fails and the workflow surely did not start, then its note is taken back', async () => {
    const kept = requestOf('failing-bot');
    await quotas.admit(kept, { gate: () => Promise.resolve(), start: () => Promise.resolve() });

    const failed = quotas.admit(requestOf('failing-bot'), {
      gate: () => Promise.resolve(),
      start: () => Promise.reject(new Error('Temporal is down')),
      mayHaveStarted: () => Promise.resolve(false),
    });

    await expect(failed).rejects.toThrow('Temporal is down');
    expect(await listed('failing-bot')).toEqual([kept.elevationId]);
  });

  it('when the workflow refused a request (request.unverified, no summary), then it no longer counts as open', async () => {
    const one = {
      ...requestOf('refused-bot'),
      limits: { pendingPerRole: 10, openPerRole: 1, requestsPerHour: 240 },
    };
    const start = { gate: () => Promise.resolve(), start: () => Promise.resolve() };
    await quotas.admit(one, start);
    // Its workflow ends it as a refusal, recorded without the elevation's view (as it is for an
    // API whose clock is off): the only trace of it in the store.
    await stores.auditLog.append({
      id: `unverified-${one.elevationId}`,
      elevationId: one.elevationId,
      type: 'request.unverified',
      at: new Date().toISOString(),
      actor: { kind: 'anonymous', id: 'temporal' },
      data: { code: 'stale', message: 'dated in the future', kid: null, claimed: { bot: 'refused-bot' } },
    });

    const next = { ...requestOf('refused-bot'), limits: one.limits };
    await quotas.admit(next, start);
    expect(await listed('refused-bot')).toEqual([next.elevationId]);
    // The one admitted now has no trace yet: it counts, and the limit of one holds.
    await expect(
      quotas.admit({ ...requestOf('refused-bot'), limits: one.limits }, start),
    ).rejects.toMatchObject({
      limit: 'openPerRole',
    });
  });

  it('when a start fails but the workflow may have started, then its note stays for the lockdown', async () => {
    const req = requestOf('unsure-bot');

    const failed = quotas.admit(req, {
      gate: () => Promise.resolve(),
      start: () => Promise.reject(new Error('the answer was lost')),
      mayHaveStarted: () => Promise.resolve(true),
    });

    await expect(failed).rejects.toThrow('the answer was lost');
    expect(await listed('unsure-bot')).toEqual([req.elevationId]);
  });
});

describe('role bundles and the per-role limits', () => {
  const one = { pendingPerRole: 10, openPerRole: 1, requestsPerHour: 240 };
  const start = { gate: () => Promise.resolve(), start: () => Promise.resolve() };
  const bundle = (botId: string): QuotaRequest => ({
    ...requestOf(botId),
    roleId: 'ops-and-reporting',
    roleIds: ['ops', 'reporting'],
    limits: one,
  });
  const role = (botId: string, roleId: string): QuotaRequest => ({
    ...requestOf(botId),
    roleId,
    limits: one,
  });

  it('when a bundle is not recorded yet, then each of its roles is at its limit and another role is not', async () => {
    await quotas.admit(bundle('bundle-noted-bot'), start);
    for (const roleId of ['ops', 'reporting']) {
      const refused = quotas.admit(role('bundle-noted-bot', roleId), start);
      await expect(refused).rejects.toMatchObject({ limit: 'openPerRole' });
      await expect(refused).rejects.toThrow(`of role ${roleId} that have not ended, counting the bundles`);
    }
    await quotas.admit(role('bundle-noted-bot', 'other'), start);
  });

  it('when a bundle waits for approvers, then it counts as pending for each of its roles', async () => {
    const botId = 'bundle-pending-bot';
    const pendingOne = { pendingPerRole: 1, openPerRole: 20, requestsPerHour: 240 };
    await quotas.admit({ ...bundle(botId), needsApproval: true, limits: pendingOne }, start);
    const refused = quotas.admit({ ...role(botId, 'ops'), needsApproval: true, limits: pendingOne }, start);
    await expect(refused).rejects.toMatchObject({ limit: 'pendingPerRole' });
    await expect(refused).rejects.toThrow('of role ops waiting for approval, counting the bundles');
    // Granted at once, the role does not wait: only its open count matters, and it is under it.
    await quotas.admit({ ...role(botId, 'ops'), limits: pendingOne }, start);
  });

  it('when a bundle is recorded active, then its roles count; when a role is open, then a bundle of it is refused naming the role', async () => {
    const botId = 'bundle-recorded-bot';
    const open = bundle(botId);
    await quotas.admit(open, start);
    const at = new Date().toISOString();
    await stores.auditLog.append({
      id: `${open.elevationId}-granted`,
      elevationId: open.elevationId,
      type: 'bundle.granted',
      at,
      actor: { kind: 'system', id: 'elevate' },
      data: { bundle: 'ops-and-reporting', grants: [] },
      elevation: {
        id: open.elevationId,
        workflowId: `elevation-${open.elevationId}`,
        status: 'active',
        botId,
        roleId: 'ops-and-reporting',
        owner: 'ann@example.org',
        environment: 'prod',
        durationSeconds: 60,
        justification: 'test',
        requestedAt: at,
        approval: { mode: 'auto' },
        approvals: [],
        revokeAttempts: 0,
        bundle: {
          id: 'ops-and-reporting',
          grants: [
            { roleId: 'ops', targetType: 'ldap', status: 'granted' },
            { roleId: 'reporting', targetType: 'postgres', status: 'granted' },
          ],
        },
      },
    });
    expect(await listed(botId)).toEqual([]);
    await expect(quotas.admit(role(botId, 'reporting'), start)).rejects.toMatchObject({
      limit: 'openPerRole',
    });

    const other = 'single-then-bundle-bot';
    await quotas.admit(role(other, 'reporting'), start);
    const refused = quotas.admit(bundle(other), start);
    await expect(refused).rejects.toMatchObject({ limit: 'openPerRole' });
    await expect(refused).rejects.toThrow('of role reporting (in bundle ops-and-reporting)');
  });
});
