/**
 * Extending an active elevation, piece by piece: the rule the API and the workflow share
 * (`core/rules/extend.ts`), the policy's `extend` (`config/extend-policy.ts`), the worker's
 * `extendGrant` activity, and the expiry revoker following a moved end, whether the extension
 * was made on this worker (`reschedule`) or on another (`movedEnd`, asked at the old end).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { extensionRefusal, extendedEnd, lifetimeAfter } from '../../core/rules/extend.js';
import type { ElevationView } from '../../core/model/elevation.js';
import type { ExtendRule } from '../../core/model/extend.js';
import { extendProblems, extendRuleFor, extendSchema } from '../../config/extend-policy.js';
import { extendGrantActivity, movedEndFrom } from '../../activities/extend.js';
import { ExpiryRevoker } from '../../domain/expiry-revoker.js';
import type { ReleaseRequest } from '../../core/ports/activities.js';
import { renderExtensionReply } from '../../integrations/slack/extend-messages.js';
import { memoryRecords } from '../support/memory-records.js';
import { releaseRequestOf, removedReceipt } from '../support/revoker-fixtures.js';

const GRANTED = '2026-12-07T04:00:00.000Z';
const RULE: ExtendRule = { maxTotalSeconds: 7200, maxExtensions: 2, approval: 'none' };
const BOT = { kind: 'bot', id: 'etl-bot' } as const;

function active(over: Partial<ElevationView> = {}): ElevationView {
  return {
    id: 'el_0123456789abcdef01234567',
    workflowId: 'elevation-el_0123456789abcdef01234567',
    status: 'active',
    botId: 'etl-bot',
    roleId: 'etl-load',
    owner: 'owner@example.org',
    environment: 'prod',
    durationSeconds: 3600,
    justification: 'nightly load',
    requestedAt: GRANTED,
    approval: { mode: 'auto' },
    approvals: [],
    grantedAt: GRANTED,
    expiresAt: '2026-12-07T05:00:00.000Z',
    revokeAttempts: 0,
    ...over,
  };
}

describe('the extension rule', () => {
  it('when the bot or an admin asks within the caps, then nothing refuses it, and the new end is the old one plus the seconds', () => {
    expect(extensionRefusal(active(), RULE, { by: BOT, durationSeconds: 1800 })).toBeUndefined();
    expect(
      extensionRefusal(active({ extensions: 1, extendedSeconds: 1800 }), RULE, {
        by: { kind: 'admin', id: 'secops' },
        durationSeconds: 1800,
      }),
    ).toBeUndefined();
    expect(extendedEnd(active(), 1800)).toBe('2026-12-07T05:30:00.000Z');
    expect(lifetimeAfter(active({ extendedSeconds: 600 }), 60)).toBe(4260);
  });

  it('when the lifetime would pass maxTotalSeconds, then it is refused naming durationSeconds and saying how much is left', () => {
    const refusal = extensionRefusal(active({ extensions: 1, extendedSeconds: 3000 }), RULE, {
      by: BOT,
      durationSeconds: 601,
    });
    expect(refusal).toMatchObject({ code: 'extension_too_long', field: 'durationSeconds' });
    expect(refusal?.message).toContain('at most 600 more seconds');
  });

  it('when the elevation has had maxExtensions, then the next is refused even if it is short', () => {
    expect(
      extensionRefusal(active({ extensions: 2, extendedSeconds: 2 }), RULE, { by: BOT, durationSeconds: 1 })
        ?.code,
    ).toBe('too_many_extensions');
  });

  it.each([
    ['pending_approval', 'not_active'],
    ['approved', 'not_active'],
    ['revoking', 'not_active'],
    ['revoked', 'already_ended'],
    ['expired', 'already_ended'],
  ] as const)('when the elevation is %s, then it is refused as %s', (status, code) => {
    const view = active({ status, ...(status === 'pending_approval' ? { expiresAt: undefined } : {}) });
    expect(extensionRefusal(view, RULE, { by: BOT, durationSeconds: 60 })?.code).toBe(code);
  });

  it('when the role has no rule, another bot asks, a human asks, or the seconds are not a whole positive number, then it is refused', () => {
    expect(extensionRefusal(active(), undefined, { by: BOT, durationSeconds: 60 })).toMatchObject({
      code: 'extension_not_allowed',
      field: 'role',
    });
    expect(
      extensionRefusal(active(), RULE, { by: { kind: 'bot', id: 'other-bot' }, durationSeconds: 60 })?.code,
    ).toBe('invalid_input');
    expect(
      extensionRefusal(active(), RULE, { by: { kind: 'human', id: 'ann@example.org' }, durationSeconds: 60 })
        ?.code,
    ).toBe('invalid_input');
    for (const durationSeconds of [0, -5, 1.5, Number.NaN]) {
      expect(extensionRefusal(active(), RULE, { by: BOT, durationSeconds })).toMatchObject({
        code: 'invalid_input',
        field: 'durationSeconds',
      });
    }
  });
});

describe("the policy's extend", () => {
  const role = (
    extend: unknown,
    target: { type: string; mode?: string } = { type: 'ldap' },
    approval: 'approvers' | 'auto' = 'approvers',
  ) => ({
    maxDurationSeconds: 3600,
    target,
    approval: { mode: approval },
    extend: extendSchema(604800).parse(extend),
  });

  it('when approval is none and the cap is above the window, then it loads, with maxExtensions 2 by default', () => {
    const r = role({ maxTotalSeconds: 7200, approval: 'none' });
    expect(extendProblems(r)).toEqual([]);
    expect(extendRuleFor(r)).toEqual({ maxTotalSeconds: 7200, maxExtensions: 2, approval: 'none' });
    expect(extendRuleFor({})).toBeUndefined();
  });

  it('when approval is left out or unknown, then the schema refuses it', () => {
    expect(extendSchema(604800).safeParse({ maxTotalSeconds: 7200 }).success).toBe(false);
    expect(extendSchema(604800).safeParse({ maxTotalSeconds: 7200, approval: 'later' }).success).toBe(false);
    expect(extendSchema(604800).safeParse({ maxTotalSeconds: 7200, approval: 'none', x: 1 }).success).toBe(
      false,
    );
  });

  it('when approval is same-as-request on an auto-approved role, the cap is not above the window, or the target is AWS credentials mode, then each problem names its field', () => {
    const again = role({ maxTotalSeconds: 7200, approval: 'same-as-request' });
    expect(extendProblems(again)).toEqual([]);
    expect(extendRuleFor(again)).toEqual({
      maxTotalSeconds: 7200,
      maxExtensions: 2,
      approval: 'same-as-request',
    });
    const auto = extendProblems(
      role({ maxTotalSeconds: 7200, approval: 'same-as-request' }, undefined, 'auto'),
    );
    expect(auto.map(([p]) => p)).toEqual([['extend', 'approval']]);
    expect(auto[0]?.[1]).toContain('approved automatically');
    expect(extendProblems(role({ maxTotalSeconds: 3600, approval: 'none' })).map(([p]) => p)).toEqual([
      ['extend', 'maxTotalSeconds'],
    ]);
    const [problem] = extendProblems(
      role({ maxTotalSeconds: 7200, approval: 'none' }, { type: 'aws-iam', mode: 'credentials' }),
    );
    expect(problem?.[0]).toEqual(['extend']);
    expect(problem?.[1]).toContain('AWS credentials mode cannot be extended');
    // Attach mode's policy expiry moves with the window (AwsIamAttachTarget.extend).
    expect(
      extendProblems(role({ maxTotalSeconds: 7200, approval: 'none' }, { type: 'aws-iam', mode: 'attach' })),
    ).toEqual([]);
  });
});

// ---- the worker's side ------------------------------------------------------------------------

const requestOf = (id: string, extendable = true): ReleaseRequest =>
  releaseRequestOf(id, { durationSeconds: 5, ...(extendable ? { extendable } : {}) });
const receiptOf = (req: ReleaseRequest) => removedReceipt(req);

describe('the expiry revoker and extendGrant', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse(GRANTED), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const tick = async (ms: number) => {
    await vi.advanceTimersByTimeAsync(ms);
    await new Promise((resolve) => setImmediate(resolve));
    await vi.advanceTimersByTimeAsync(0);
  };
  const releasing = () => {
    const released: string[] = [];
    const releaseMany = (reqs: ReleaseRequest[]) => {
      released.push(...reqs.map((r) => r.elevationId));
      return Promise.resolve(reqs.map(receiptOf));
    };
    return { released, releaseMany };
  };

  it('when extendGrant runs on the worker that holds the timer, then the new end is stored and the grant is released at it, not at the old one', async () => {
    const { released, releaseMany } = releasing();
    const windows = memoryRecords();
    const revoker = new ExpiryRevoker({ releaseMany, movedEnd: movedEndFrom(windows) });
    revoker.schedule(requestOf('e1'), Date.now() + 5_000);
    const extendGrant = extendGrantActivity({ expiry: revoker, windows, logger: { info: () => undefined } });

    const to = new Date(Date.now() + 9_000).toISOString();
    const result = await extendGrant({
      ...requestOf('e1'),
      previousExpiresAt: new Date(Date.now() + 5_000).toISOString(),
      expiresAt: to,
    });
    expect(result.rescheduled).toBe(true);
    expect(windows.values.get('e1')).toBe(to);

    await tick(6_000);
    expect(released).toEqual([]);
    await tick(3_000);
    expect(released).toEqual(['e1']);
    await revoker.stop();
  });

  it('when the extension was made on another worker, then the revoker asks at the old end and waits for the new one', async () => {
    const { released, releaseMany } = releasing();
    const windows = memoryRecords();
    const here = new ExpiryRevoker({ releaseMany, movedEnd: movedEndFrom(windows) });
    here.schedule(requestOf('e2'), Date.now() + 5_000);
    // The other worker's activity has no timer for e2: it only stores the new end.
    const elsewhere = extendGrantActivity({ windows, logger: { info: () => undefined } });
    const result = await elsewhere({
      ...requestOf('e2'),
      previousExpiresAt: new Date(Date.now() + 5_000).toISOString(),
      expiresAt: new Date(Date.now() + 8_000).toISOString(),
    });
    expect(result.rescheduled).toBe(false);

    await tick(5_500);
    expect(released).toEqual([]);
    expect(here.pending).toBe(1);
    await tick(3_000);
    expect(released).toEqual(['e2']);
    await here.stop();
  });

  it('when no extension moved the end, or the grant is not extendable, then it is released at the old end', async () => {
    const { released, releaseMany } = releasing();
    const windows = memoryRecords();
    const asked: string[] = [];
    const revoker = new ExpiryRevoker({
      releaseMany,
      movedEnd: (id) => {
        asked.push(id);
        return movedEndFrom(windows)(id);
      },
    });
    revoker.schedule(requestOf('e3'), Date.now() + 5_000);
    revoker.schedule(requestOf('e4', false), Date.now() + 5_000);
    await tick(5_000);
    expect(released.sort()).toEqual(['e3', 'e4']);
    expect(asked).toEqual(['e3']);
    await revoker.stop();
  });

  it('when the lookup of a moved end fails, then the revoker leaves the grant to the workflow instead of removing it early', async () => {
    const { released, releaseMany } = releasing();
    const revoker = new ExpiryRevoker({
      releaseMany,
      movedEnd: () => Promise.reject(new Error('store down')),
    });
    revoker.schedule(requestOf('e5'), Date.now() + 5_000);
    await tick(10_000);
    expect(released).toEqual([]);
    expect(revoker.pending).toBe(0);
    await revoker.stop();
  });
});

describe('the Slack line of an extension', () => {
  const details = (view: ElevationView) => ({
    elevation: view,
    bot: { id: 'etl-bot', owner: 'owner@example.org', team: 'data', purpose: 'loads', environment: 'prod' },
    role: { id: 'etl-load', environment: 'prod', target: 'LDAP group cn=etl' },
    approverGroups: [],
    history: [],
  });

  it('when an extension is told, then it says who, how long, why and the new end, with what the requester wrote escaped', () => {
    const line = renderExtensionReply(
      details(active({ extensions: 1, extendedSeconds: 1800, expiresAt: '2026-12-07T05:30:00.000Z' })),
      { by: BOT, durationSeconds: 1800, justification: 'late <!channel> run\nagain' },
    );
    expect(line).toContain('`etl-load` extended by 30 min by bot `etl-bot`');
    expect(line).toContain('(extension 1');
    expect(line).toContain('2026-12-07T05:30:00Z');
    expect(line).not.toContain('<!channel>');
    expect(line).not.toContain('\n');
  });
});
