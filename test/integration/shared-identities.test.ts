/**
 * Target identities used by more than one bot, found by reconciliation on a real stack
 * (Temporal dev server, slapd, SQLite ledger and elevations): an elevation granted under one
 * policy keeps its principal, so when a later policy gives that entry to another bot, the next
 * run records it as `drift.detected` (`shared_identity`) naming both bots; with the policy the
 * elevation was granted under, the same grant is nobody's business.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botIdentitiesOf } from '../../config/identity-uniqueness.js';
import type { ReconcileIdentity, ReconcileResult } from '../../core/model/reconcile.js';
import { normalizeDn } from '../../core/rules/dn.js';
import { botDn } from '../../dev/ldap-seed.js';
import { reconcileWorkflow } from '../../workflows/reconcile-workflow.js';
import { SUFFIX, botOf, startStack, type Stack } from '../support/stack.js';

let s: Stack;

beforeAll(async () => {
  s = await startStack({
    bots: [
      { id: 'bot-before', roles: ['deploy'] },
      { id: 'bot-after', roles: ['deploy'] },
    ],
    roles: [{ id: 'deploy' }],
  });
}, 120_000);

afterAll(async () => {
  await s?.close();
});

/** One reconciliation run, as the schedule starts it, with the bots' identities given. */
const reconcile = (identities: ReconcileIdentity[]): Promise<ReconcileResult> =>
  s.env.client.workflow.execute(reconcileWorkflow, {
    args: [{ roles: [], identities }],
    taskQueue: s.taskQueue,
    workflowId: `reconcile-${randomUUID()}`,
  });

const sharedEvents = async () =>
  (await s.stores.auditLog.readEvents(0, 10_000)).filter(
    (e) => e.type === 'drift.detected' && e.data.reason === 'shared_identity',
  );

describe('a live elevation on an entry a later policy gives another bot', () => {
  it('when reconciliation runs with the policy it was granted under, then nothing is shared; with the later one, both bots are named', async () => {
    const { elevation } = await s.services.requests.request(botOf(s, 'bot-before'), {
      role: 'deploy',
      durationSeconds: 600,
      justification: 'shared identity test',
    });
    await s.waitFor(elevation.id, (v) => v.status === 'active');

    const now = await reconcile(botIdentitiesOf(s.policy));
    expect(now.sharedIdentities).toMatchObject({ shared: [] });
    expect(now.sharedIdentities?.checked).toBeGreaterThanOrEqual(1);
    expect(await sharedEvents()).toEqual([]);

    // The later policy: bot-before moved to a new entry, its old one (spelled otherwise) given to bot-after.
    const entry = botDn(SUFFIX, 'bot-before');
    const later: ReconcileIdentity[] = [
      { botId: 'bot-before', kind: 'ldap', principal: botDn(SUFFIX, 'bot-before-2') },
      { botId: 'bot-after', kind: 'ldap', principal: entry.toUpperCase() },
    ];
    const result = await reconcile(later);

    expect(result.sharedIdentities?.error).toBeUndefined();
    expect(result.sharedIdentities?.shared).toEqual([
      {
        kind: 'ldap',
        identity: normalizeDn(entry),
        principals: [entry.toUpperCase(), entry].sort(),
        bots: [
          { botId: 'bot-after', owner: true, elevations: [] },
          { botId: 'bot-before', owner: false, elevations: [elevation.id] },
        ],
      },
    ]);
    const events = await sharedEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      elevationId: null,
      actor: { kind: 'system', id: 'elevate' },
      data: {
        principal: normalizeDn(entry),
        action: 'alert',
        bot: true,
        roles: ['deploy'],
        reason: 'shared_identity',
      },
    });
    expect(events[0]!.data.problem).toBe(
      `LDAP entry ${normalizeDn(entry)} is used by bot bot-after (the policy's) and bot bot-before (elevation ${elevation.id})`,
    );
    // Nothing is taken away: the grant was approved; which bot keeps the entry is for people.
    expect(await s.isMember('bot-before', 'deploy')).toBe(true);
  });
});
