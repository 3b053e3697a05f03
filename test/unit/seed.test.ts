/**
 * The seed LDIF for tests and benchmarks: people (approvers) and groups of people next to
 * bots and bot groups, and refusal of values that would need escaping in LDIF. Loading it into
 * a real slapd is covered by test/integration/approver-directory.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLACEHOLDER_DN } from '../../core/model/targets.js';
import { personDn, seedLdif } from '../../dev/ldap-seed.js';

const SUFFIX = 'dc=example,dc=org';

interface Entry {
  dn: string;
  attrs: [string, string][];
}

/** Entries of plain LDIF (no continuation lines, no base64), failing on anything else. */
function parseLdif(text: string): Entry[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n').map((line) => {
        const match = /^([A-Za-z][A-Za-z0-9-]*): (\S(?:.*\S)?)$/.exec(line);
        if (!match) throw new Error(`not a plain LDIF line: ${JSON.stringify(line)}`);
        return [match[1]!, match[2]!] as [string, string];
      });
      const [first, ...attrs] = lines;
      expect(first?.[0]).toBe('dn');
      return { dn: first![1], attrs };
    });
}

const values = (entry: Entry | undefined, name: string): string[] =>
  (entry?.attrs ?? []).filter(([k]) => k === name).map(([, v]) => v);

describe('seedLdif with people', () => {
  const ldif = seedLdif(SUFFIX, {
    bots: ['bot-a'],
    groups: ['deploy'],
    people: [
      { uid: 'ann', mail: 'Ann@Example.org' },
      { uid: 'ben.b', mail: 'ben+ops@example.org' },
    ],
    peopleGroups: [
      { id: 'security', members: ['ann', 'ben.b'] },
      { id: 'nobody-yet', members: [] },
    ],
  });
  const entries = parseLdif(ldif);
  const byDn = new Map(entries.map((e) => [e.dn, e]));

  it('when people are given, then each is an inetOrgPerson under ou=people with uid, cn, sn and mail', () => {
    const ann = byDn.get(personDn(SUFFIX, 'ann'));
    expect(ann?.dn).toBe(`uid=ann,ou=people,${SUFFIX}`);
    expect(values(ann, 'objectClass')).toEqual(['inetOrgPerson']);
    expect(values(ann, 'mail')).toEqual(['Ann@Example.org']);
    for (const required of ['uid', 'cn', 'sn']) expect(values(ann, required)).toEqual(['ann']);
    expect(values(byDn.get(personDn(SUFFIX, 'ben.b')), 'mail')).toEqual(['ben+ops@example.org']);
  });

  it('when groups of people are given, then each holds the placeholder and its people’s DNs', () => {
    const security = byDn.get(`cn=security,ou=groups,${SUFFIX}`);
    expect(values(security, 'objectClass')).toEqual(['groupOfNames']);
    expect(values(security, 'member')).toEqual([
      DEFAULT_PLACEHOLDER_DN,
      personDn(SUFFIX, 'ann'),
      personDn(SUFFIX, 'ben.b'),
    ]);
    expect(values(byDn.get(`cn=nobody-yet,ou=groups,${SUFFIX}`), 'member')).toEqual([DEFAULT_PLACEHOLDER_DN]);
    expect(values(byDn.get(`cn=deploy,ou=groups,${SUFFIX}`), 'member')).toEqual([DEFAULT_PLACEHOLDER_DN]);
  });

  it('when loaded in order, then every entry’s parent comes before it and no DN repeats', () => {
    // slapadd needs parents first (without -q it checks them) and refuses duplicate DNs.
    const seen = new Set<string>();
    for (const { dn } of entries) {
      expect(seen.has(dn), dn).toBe(false);
      if (dn !== SUFFIX) expect(seen.has(dn.slice(dn.indexOf(',') + 1)), `parent of ${dn}`).toBe(true);
      seen.add(dn);
    }
    expect([...seen]).toEqual(
      expect.arrayContaining([`ou=people,${SUFFIX}`, `ou=groups,${SUFFIX}`, `uid=bot-a,ou=bots,${SUFFIX}`]),
    );
  });

  it('when no people are given, then there is no ou=people', () => {
    const plain = seedLdif(SUFFIX, { bots: ['bot-a'], groups: ['deploy'] });
    expect(parseLdif(plain).map((e) => e.dn)).not.toContain(`ou=people,${SUFFIX}`);
    // Groups of people alone still get the ou their members live in.
    const groupsOnly = seedLdif(SUFFIX, {
      bots: [],
      groups: [],
      peopleGroups: [{ id: 'g', members: ['x'] }],
    });
    expect(parseLdif(groupsOnly).map((e) => e.dn)).toContain(`ou=people,${SUFFIX}`);
  });

  it.each([
    ['no @', 'ann.example.org'],
    ['nothing after @', 'ann@'],
    ['a space', 'ann smith@example.org'],
    ['a line break that would add an attribute', 'ann@example.org\nobjectClass: organizationalRole'],
    ['a trailing line break', 'ann@example.org\n'],
    ['a filter metacharacter', 'ann*@example.org'],
    ['a non-ASCII letter', 'änn@example.org'],
    ['an empty value', ''],
  ])('when a mail has %s, then it is refused naming the mail', (_, mail) => {
    expect(() => seedLdif(SUFFIX, { bots: [], groups: [], people: [{ uid: 'ann', mail }] })).toThrow(
      `mail ${JSON.stringify(mail)} is not a plain address`,
    );
  });

  it('when a person uid or a group member uid is not a plain id, then it is refused', () => {
    expect(() =>
      seedLdif(SUFFIX, { bots: [], groups: [], people: [{ uid: 'ann,ou=x', mail: 'ann@example.org' }] }),
    ).toThrow(/person id "ann,ou=x"/);
    expect(() =>
      seedLdif(SUFFIX, { bots: [], groups: [], peopleGroups: [{ id: 'g', members: ['ann\nmember: x'] }] }),
    ).toThrow(/person id/);
    expect(() =>
      seedLdif(SUFFIX, { bots: [], groups: [], peopleGroups: [{ id: 'g*', members: [] }] }),
    ).toThrow(/group id "g\*"/);
  });
});
