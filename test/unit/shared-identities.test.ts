/**
 * Reconciliation's search for target identities used by more than one bot, over stand-ins for
 * the lease store and the elevations: what it records as `drift.detected` (reason
 * `shared_identity`), what it leaves alone, and that it pages the leases and reads each
 * elevation once.
 */
import { describe, expect, it } from 'vitest';
import { sweepSharedIdentities, type SharedIdentityDeps } from '../../activities/shared-identities.js';
import type { ReconcileIdentity } from '../../core/model/reconcile.js';
import type { TargetRef } from '../../core/model/targets.js';
import type { HeldLease } from '../../store/grant-leases.js';

const GROUP: TargetRef = { type: 'ldap', groupDn: 'cn=deploy,ou=groups,dc=example,dc=org' };
const ATTACH: TargetRef = { type: 'aws-iam', mode: 'attach', policyDocument: '{}' };
const CREDS: TargetRef = {
  type: 'aws-iam',
  mode: 'credentials',
  roleArn: 'arn:aws:iam::123456789012:role/reader',
};

interface Lease {
  elevationId: string;
  botId: string;
  roleId?: string;
  target: TargetRef;
  principal: string;
}

/** The deps over these leases; what was appended, read and counted is kept. */
function world(
  leases: Lease[],
  opts: { pageSize?: number; remembered?: SharedIdentityDeps['remembered'] } = {},
) {
  const appended: { type: string; elevationId: string | null; data: Record<string, unknown> }[] = [];
  const reads: string[] = [];
  const counted: Record<string, string>[] = [];
  const pages: (string | undefined)[] = [];
  const held: HeldLease[] = [...leases]
    .sort((a, b) => (a.elevationId < b.elevationId ? -1 : 1))
    .map((l) => ({
      elevationId: l.elevationId,
      key: `k|${l.elevationId}`,
      target: l.target,
      principal: l.principal,
      acquiredAt: '2026-01-01T00:00:00.000Z',
    }));
  const deps: SharedIdentityDeps = {
    append: (e) => {
      appended.push({ type: e.type, elevationId: e.elevationId, data: e.data });
      return Promise.resolve();
    },
    leases: {
      heldLeases: ({ after, limit }) => {
        pages.push(after);
        return Promise.resolve(
          held.filter((l) => after === undefined || l.elevationId > after).slice(0, limit),
        );
      },
    },
    elevations: {
      getElevation: (id) => {
        reads.push(id);
        const l = leases.find((x) => x.elevationId === id);
        return Promise.resolve(
          l
            ? ({ id, botId: l.botId, roleId: l.roleId ?? 'deploy' } as Awaited<
                ReturnType<SharedIdentityDeps['elevations']['getElevation']>
              >)
            : undefined,
        );
      },
    },
    logger: { error: () => undefined },
    metrics: { driftFindings: { inc: (labels: Record<string, string>) => counted.push(labels) } },
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
    ...(opts.remembered ? { remembered: opts.remembered } : {}),
  };
  return { deps, appended, reads, counted, pages };
}

const OWNERS: ReconcileIdentity[] = [
  { botId: 'old-bot', kind: 'ldap', principal: 'uid=old-bot,ou=bots,dc=example,dc=org' },
  { botId: 'new-bot', kind: 'ldap', principal: 'uid=shared,ou=bots,dc=example,dc=org' },
  { botId: 'new-bot', kind: 'aws', principal: 'arn:aws:iam::123456789012:role/new-bot' },
];

describe('shared identities in reconciliation', () => {
  it('when a live elevation of one bot holds the entry the policy now gives another, then it is recorded as drift naming both', async () => {
    const w = world([
      {
        elevationId: 'el_1',
        botId: 'old-bot',
        target: GROUP,
        principal: 'UID=Shared,ou=bots,dc=example,dc=org',
      },
      {
        elevationId: 'el_2',
        botId: 'old-bot',
        target: GROUP,
        principal: 'uid=old-bot,ou=bots,dc=example,dc=org',
      },
    ]);
    const sweep = await sweepSharedIdentities(w.deps, OWNERS);
    expect(sweep.checked).toBe(2);
    expect(sweep.shared.map((s) => s.identity)).toEqual(['uid=shared,ou=bots,dc=example,dc=org']);
    expect(w.appended).toEqual([
      {
        type: 'drift.detected',
        elevationId: null,
        data: {
          principal: 'uid=shared,ou=bots,dc=example,dc=org',
          action: 'alert',
          bot: true,
          target: GROUP,
          roles: ['deploy'],
          reason: 'shared_identity',
          problem:
            "LDAP entry uid=shared,ou=bots,dc=example,dc=org is used by bot new-bot (the policy's) and bot old-bot (elevation el_1)",
        },
      },
    ]);
    expect(w.counted).toEqual([{ target_type: 'ldap', outcome: 'alerted' }]);
  });

  it('when two bots hold one IAM role under two spellings, then it is recorded once with both elevations', async () => {
    const w = world([
      {
        elevationId: 'el_a',
        botId: 'x',
        roleId: 'push',
        target: ATTACH,
        principal: 'arn:aws:iam::123456789012:role/Deploy',
      },
      {
        elevationId: 'el_b',
        botId: 'y',
        roleId: 'pull',
        target: ATTACH,
        principal: 'arn:aws:iam::123456789012:role/ci/deploy',
      },
    ]);
    const sweep = await sweepSharedIdentities(w.deps, []);
    expect(sweep.shared).toHaveLength(1);
    expect(w.appended).toHaveLength(1);
    expect(w.appended[0]!.data).toMatchObject({
      principal: 'arn:aws:iam::123456789012:role/deploy',
      target: ATTACH,
      roles: ['pull', 'push'],
      problem:
        'AWS IAM principal arn:aws:iam::123456789012:role/deploy is used by bot x (elevation el_a) and bot y (elevation el_b)',
    });
  });

  it("when several bots assume one credentials-mode role that is nobody's principal, then nothing is recorded", async () => {
    const w = world([
      { elevationId: 'el_1', botId: 'a', target: CREDS, principal: 'bot:a' },
      { elevationId: 'el_2', botId: 'b', target: CREDS, principal: 'bot:b' },
      { elevationId: 'el_3', botId: 'b', target: GROUP, principal: 'uid=b,ou=bots,dc=example,dc=org' },
    ]);
    const sweep = await sweepSharedIdentities(w.deps, OWNERS);
    expect(sweep).toEqual({ checked: 3, shared: [] });
    expect(w.appended).toEqual([]);
  });

  it("when a credentials-mode role is another bot's principal, then the bot assuming it is recorded as sharing it", async () => {
    const creds: TargetRef = { ...CREDS, roleArn: 'arn:aws:iam::123456789012:role/New-Bot' };
    const w = world([{ elevationId: 'el_1', botId: 'old-bot', target: creds, principal: 'bot:old-bot' }]);
    const sweep = await sweepSharedIdentities(w.deps, OWNERS);
    expect(sweep.shared.map((s) => s.bots.map((b) => [b.botId, b.owner]))).toEqual([
      [
        ['new-bot', true],
        ['old-bot', false],
      ],
    ]);
    expect(w.appended[0]!.data).toMatchObject({ target: creds, reason: 'shared_identity' });
  });

  it('when a lease belongs to no elevation on record, then it is left out (nothing says whose it is)', async () => {
    const w = world([
      {
        elevationId: 'el_1',
        botId: 'old-bot',
        target: GROUP,
        principal: 'uid=shared,ou=bots,dc=example,dc=org',
      },
    ]);
    w.deps.elevations = { getElevation: () => Promise.resolve(undefined) };
    expect(await sweepSharedIdentities(w.deps, OWNERS)).toEqual({ checked: 1, shared: [] });
  });

  it('when there are more leases than a page, then every page is read, and each elevation only once across runs', async () => {
    const leases: Lease[] = Array.from({ length: 5 }, (_, i) => ({
      elevationId: `el_${i}`,
      botId: i === 4 ? 'old-bot' : 'new-bot',
      target: GROUP,
      principal: 'uid=shared,ou=bots,dc=example,dc=org',
    }));
    const remembered = new Map();
    const w = world(leases, { pageSize: 2, remembered });
    const first = await sweepSharedIdentities(w.deps, OWNERS);
    expect(w.pages).toEqual([undefined, 'el_1', 'el_3']);
    expect(first.checked).toBe(5);
    expect(first.shared[0]!.bots).toEqual([
      { botId: 'new-bot', owner: true, elevations: ['el_0', 'el_1', 'el_2', 'el_3'] },
      { botId: 'old-bot', owner: false, elevations: ['el_4'] },
    ]);
    await sweepSharedIdentities(w.deps, OWNERS);
    expect(w.reads).toEqual(['el_0', 'el_1', 'el_2', 'el_3', 'el_4']);
  });
});
