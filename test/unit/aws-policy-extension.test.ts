/**
 * Extending an AWS attach-mode elevation, the pure parts: which versions of an Elevate policy
 * the tamper check accepts once an extension wrote a new one (`policy-check.ts`), what the moved
 * document may and may not be, how the router reaches a target's `extend`, and the order the
 * `extendGrant` activity keeps (the target first; a refusal moves nothing; the version the
 * target reports is kept for drift detection).
 */
import { describe, expect, it } from 'vitest';
import {
  ELEVATE_POLICY_VERSION,
  documentProblem,
  sameDocument,
  versionProblem,
} from '../../integrations/aws/policy-check.js';
import { expiryCondition } from '../../integrations/aws/policy-document.js';
import { TargetRouter } from '../../integrations/target-router.js';
import { TargetInvalidError, TargetTamperedError } from '../../core/errors/target-errors.js';
import type { ExtendChange, Target } from '../../core/ports/target.js';
import type {
  AwsIamAttachGrantHandle,
  AwsIamAttachTargetRef,
  GrantHandle,
} from '../../core/model/targets.js';
import type { ExtendGrantRequest } from '../../core/ports/activities.js';
import { extendGrantActivity, grantVersionFrom, grantVersionKey } from '../../activities/extend.js';
import { memoryRecords } from '../support/memory-records.js';

const ROLE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: '*',
      Condition: { DateLessThan: { 'aws:CurrentTime': '2030-06-01T13:30:00Z' } },
    },
    { Sid: 'List', Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' },
  ],
});
const OLD_END = new Date('2030-06-01T12:00:00Z');
const NEW_END = new Date('2030-06-01T14:00:00Z');

describe('the tamper check after an extension', () => {
  it('when the version the extension wrote is the only one and the default, then it passes; v1 no longer does', () => {
    const v3 = [{ versionId: 'v3', isDefault: true }];
    expect(versionProblem(v3, 'v3', 'v3')).toBeUndefined();
    expect(versionProblem(v3, 'v3')).toMatch(/default version is v3, not v1/);
    expect(versionProblem([{ versionId: 'v1', isDefault: true }], 'v1', 'v3')).toMatch(
      /default version is v1, not v3/,
    );
    expect(ELEVATE_POLICY_VERSION).toBe('v1');
  });

  it('when someone else adds a version after the extension, made default or not, then it is named', () => {
    const added = [
      { versionId: 'v2', isDefault: true },
      { versionId: 'v3', isDefault: false },
    ];
    expect(versionProblem(added, 'v2', 'v2')).toMatch(/versions v2, v3, where Elevate's policy has only v2/);
    const swapped = [{ versionId: 'v4', isDefault: true }];
    expect(versionProblem(swapped, 'v4', 'v2')).toMatch(/default version is v4, not v2/);
  });

  it("when the expiry moves, then only Elevate's limit moves: the role's own earlier limit stays, and the old bound refuses the new document", () => {
    const before = expiryCondition(ROLE, OLD_END);
    const after = expiryCondition(ROLE, NEW_END);
    const limits = (doc: string) =>
      (
        JSON.parse(doc) as { Statement: { Condition: { DateLessThan: Record<string, string> } }[] }
      ).Statement.map((s) => s.Condition.DateLessThan['aws:CurrentTime']);
    expect(limits(before)).toEqual(['2030-06-01T12:00:00Z', '2030-06-01T12:00:00Z']);
    expect(limits(after)).toEqual(['2030-06-01T13:30:00Z', '2030-06-01T14:00:00Z']);
    expect(documentProblem(before, ROLE, NEW_END)).toBeUndefined();
    expect(documentProblem(after, ROLE, NEW_END)).toBeUndefined();
    expect(documentProblem(after, ROLE, OLD_END)).toMatch(/later than the elevation's window allows/);
  });

  it('when a retried extension compares the default version with what it would write, then only the same document matches', () => {
    const after = expiryCondition(ROLE, NEW_END);
    const spaced = JSON.stringify(JSON.parse(after) as object, null, 2);
    expect(sameDocument(encodeURIComponent(spaced), after)).toBe(true);
    expect(sameDocument(expiryCondition(ROLE, OLD_END), after)).toBe(false);
    expect(sameDocument('not json', after)).toBe(false);
  });
});

const REF: AwsIamAttachTargetRef = { type: 'aws-iam', mode: 'attach', policyDocument: ROLE };
const HANDLE: AwsIamAttachGrantHandle = {
  type: 'aws-iam-attach',
  policyArn: 'arn:aws:iam::123456789012:policy/elevate/elevate-el_1',
  principalArn: 'arn:aws:iam::123456789012:role/bot',
};

/**
 * A target that only records what it is asked to extend; the rest is never called here. Typed
 * `never` so that it fits any slot of the router's target set.
 */
function extendingTarget(answer: () => Promise<ExtendChange>): {
  target: never;
  calls: [unknown, unknown, Date][];
} {
  const calls: [unknown, unknown, Date][] = [];
  const unused = () => {
    throw new Error('not called in this test');
  };
  const target = {
    grant: unused,
    revoke: unused,
    check: unused,
    handleFor: unused,
    listMembers: unused,
    membershipKey: unused,
    ping: unused,
    close: () => Promise.resolve(),
    extend: (ref: unknown, handle: unknown, at: Date) => {
      calls.push([ref, handle, at]);
      return answer();
    },
  } satisfies Partial<Record<keyof Target, unknown>>;
  return { target: target as never, calls };
}

describe("the router's extend", () => {
  it('when the handle is an attach-mode grant, then its target is asked with the role and the new end', async () => {
    const { target, calls } = extendingTarget(() =>
      Promise.resolve({ changed: true, confirmed: true, version: 'v2' }),
    );
    const router = new TargetRouter({ awsIamAttach: target });
    await expect(router.extend(REF, HANDLE, NEW_END)).resolves.toEqual({
      changed: true,
      confirmed: true,
      version: 'v2',
    });
    expect(calls).toEqual([[REF, HANDLE, NEW_END]]);
  });

  it("when the target has no extend (LDAP), then nothing moves; when the role is not the handle's kind, then it is refused", async () => {
    const { target: ldap } = extendingTarget(() => Promise.reject(new Error('never')));
    delete (ldap as { extend?: unknown }).extend;
    const { target: aws, calls } = extendingTarget(() => Promise.resolve({ changed: true }));
    const router = new TargetRouter({ ldap, awsIamAttach: aws });
    const ldapRef = { type: 'ldap', groupDn: 'cn=ops,dc=example,dc=org' } as const;
    const ldapHandle: GrantHandle = {
      type: 'ldap',
      groupDn: ldapRef.groupDn,
      member: 'uid=bot,dc=example,dc=org',
    };
    await expect(router.extend(ldapRef, ldapHandle, NEW_END)).resolves.toEqual({
      changed: false,
    });
    await expect(router.extend(ldapRef, HANDLE, NEW_END)).rejects.toBeInstanceOf(TargetInvalidError);
    expect(calls).toEqual([]);
  });
});

const REQUEST: ExtendGrantRequest = {
  elevationId: 'el_1',
  target: REF,
  principal: HANDLE.principalArn,
  handle: HANDLE,
  durationSeconds: 3600,
  extendable: true,
  previousExpiresAt: OLD_END.toISOString(),
  expiresAt: NEW_END.toISOString(),
};

describe('extendGrant with a target whose grant carries its end', () => {
  it('when the target moves it, then the version it reports and the new end are kept, and drift reads that version', async () => {
    const windows = memoryRecords();
    const asked: ExtendGrantRequest[] = [];
    const extendGrant = extendGrantActivity({
      grants: {
        extend: (req) => {
          asked.push(req);
          return Promise.resolve({ changed: true, confirmed: true, version: 'v2' });
        },
      },
      windows,
      logger: { info: () => undefined },
    });
    await extendGrant(REQUEST);
    expect(asked).toEqual([REQUEST]);
    expect(windows.values.get('el_1')).toBe(REQUEST.expiresAt);
    expect(windows.values.get(grantVersionKey('el_1'))).toBe('v2');
    await expect(grantVersionFrom(windows)('el_1')).resolves.toBe('v2');
    await expect(grantVersionFrom(windows)('el_2')).resolves.toBeUndefined();
  });

  it('when the target refuses, then the activity throws and neither the end nor a version is stored, nor the timer moved', async () => {
    const windows = memoryRecords();
    const moved: string[] = [];
    const extendGrant = extendGrantActivity({
      grants: { extend: () => Promise.reject(new TargetTamperedError('policy_tampered: not ours')) },
      expiry: {
        reschedule: (id) => {
          moved.push(id);
          return true;
        },
      },
      windows,
      logger: { info: () => undefined },
    });
    await expect(extendGrant(REQUEST)).rejects.toBeInstanceOf(TargetTamperedError);
    expect([...windows.values.keys()]).toEqual([]);
    expect(moved).toEqual([]);
  });
});
