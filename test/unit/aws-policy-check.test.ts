/**
 * The pure half of recognising Elevate's own AWS policy (`integrations/aws/policy-check.ts`):
 * what counts as the document Elevate makes, and which versions an Elevate policy may have.
 */
import { describe, expect, it } from 'vitest';
import { documentProblem, versionProblem } from '../../integrations/aws/policy-check.js';
import { expiryCondition } from '../../integrations/aws/policy-document.js';

const ROLE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: '*',
      Condition: { DateLessThan: { 'AWS:CurrentTime': '2031-01-01T00:00:00Z' } },
    },
    { Sid: 'List', Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' },
    { Sid: 'NoDelete', Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' },
  ],
});
const BOUND = new Date('2030-06-01T12:00:00.200Z');

describe('documentProblem', () => {
  it("when the stored document is the role's with Elevate's expiry, then it passes, whatever the key order, whitespace or URL encoding", () => {
    const ours = expiryCondition(ROLE, BOUND);
    expect(documentProblem(ours, ROLE, BOUND)).toBeUndefined();
    const reordered = JSON.stringify(JSON.parse(ours) as object, null, 2)
      .replace('"Version": "2012-10-17",', '')
      .replace(/^\{/, '{"Version": "2012-10-17",');
    expect(documentProblem(reordered, ROLE, BOUND)).toBeUndefined();
    expect(documentProblem(encodeURIComponent(ours), ROLE, BOUND)).toBeUndefined();
  });

  it('when the stored expiry is earlier than the bound (an earlier attempt), then it passes; later, it is refused', () => {
    const earlier = expiryCondition(ROLE, new Date(BOUND.getTime() - 600_000));
    expect(documentProblem(earlier, ROLE, BOUND)).toBeUndefined();
    const later = expiryCondition(ROLE, new Date(BOUND.getTime() + 2_000));
    expect(documentProblem(later, ROLE, BOUND)).toMatch(/later than the elevation's window allows/);
  });

  it('when a statement is widened, added, dropped or loses its expiry, then it is refused', () => {
    const ours = JSON.parse(expiryCondition(ROLE, BOUND)) as { Statement: Record<string, unknown>[] };
    const variants = [
      { ...ours, Statement: [...ours.Statement, { Effect: 'Allow', Action: '*', Resource: '*' }] },
      { ...ours, Statement: ours.Statement.slice(0, 2) },
      { ...ours, Statement: ours.Statement.map((s, i) => (i === 1 ? { ...s, Action: 's3:*' } : s)) },
      { ...ours, Statement: ours.Statement.map((s) => ({ ...s, Condition: undefined })) },
    ];
    for (const variant of variants) {
      expect(documentProblem(JSON.stringify(variant), ROLE, BOUND)).toMatch(
        /is not the role's document with Elevate's expiry/,
      );
    }
    expect(documentProblem('not json', ROLE, BOUND)).toMatch(/is not JSON/);
    expect(documentProblem('[1]', ROLE, BOUND)).toMatch(/not a JSON object/);
    const undated = expiryCondition(ROLE, BOUND).replace('2030-06-01T12:00:01Z', 'soon');
    expect(documentProblem(undated, ROLE, BOUND)).toMatch(/not a date/);
  });
});

describe('versionProblem', () => {
  it('when v1 is the only version and the default, then it passes; anything else is named', () => {
    expect(versionProblem([{ versionId: 'v1', isDefault: true }], 'v1')).toBeUndefined();
    expect(
      versionProblem(
        [
          { versionId: 'v1', isDefault: true },
          { versionId: 'v2', isDefault: false },
        ],
        'v1',
      ),
    ).toMatch(/versions v1, v2/);
    expect(versionProblem([{ versionId: 'v2', isDefault: true }], 'v2')).toMatch(/default version is v2/);
    expect(versionProblem([], undefined)).toMatch(/default version is \(none\)/);
  });
});
