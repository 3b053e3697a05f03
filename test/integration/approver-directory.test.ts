/**
 * LdapApproverDirectory against a real OpenLDAP started for this file (no mocks): who is a
 * member by e-mail address, listing members' addresses, hostile addresses, missing groups, and
 * that a removal from the group counts on the very next question.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmbiguousIdentityError } from '../../core/ports/approver-directory.js';
import { LdapApproverDirectory, suffixOf } from '../../integrations/ldap/approver-directory.js';
import { botDn, groupDn, personDn, seedLdif } from '../../dev/ldap-seed.js';
import { startSlapd, type SlapdServer } from '../../dev/slapd-server.js';

const SUFFIX = 'dc=example,dc=org';
const ROOT_PASSWORD = 'root-Secret-0815';

const PEOPLE = [
  { uid: 'ann', mail: 'Ann@Example.org' },
  { uid: 'ben', mail: 'ben@example.org' },
  { uid: 'cat', mail: 'cat@example.org' },
  { uid: 'dan', mail: 'dan@example.org' },
  { uid: 'leaver', mail: 'leaver@example.org' },
  { uid: 'deputy', mail: 'deputy@example.org' },
  { uid: 'twin-a', mail: 'twin@example.org' },
  { uid: 'twin-b', mail: 'twin@example.org' },
];
const PEOPLE_GROUPS = [
  { id: 'security', members: ['ann', 'ben', 'leaver'] },
  { id: 'sre', members: ['deputy', 'twin-a', 'ann'] },
  { id: 'ops', members: ['cat'] },
  { id: 'hostile', members: ['ann'] },
];

const person = (uid: string): string => personDn(SUFFIX, uid);
const group = (id: string): string => groupDn(SUFFIX, id);

let server: SlapdServer;
let dataDir: string;
let directory: LdapApproverDirectory;

/** A root-bound client for changing the directory behind the directory's back. */
async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: server.url, connectTimeout: 2_000, timeout: 5_000 });
  try {
    await client.bind(server.rootDn, ROOT_PASSWORD);
    return await fn(client);
  } finally {
    await client.unbind();
  }
}

const memberChange = (operation: 'add' | 'delete', dn: string): Change =>
  new Change({ operation, modification: new Attribute({ type: 'member', values: [dn] }) });

/** Resolves to the error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'elevate-approver-directory-'));
  server = await startSlapd({
    dataDir,
    rootPassword: ROOT_PASSWORD,
    suffix: SUFFIX,
    seedLdif: seedLdif(SUFFIX, {
      bots: ['bot-a'],
      groups: ['empty'],
      people: PEOPLE,
      peopleGroups: PEOPLE_GROUPS,
    }),
  });
  directory = new LdapApproverDirectory({
    url: server.url,
    bindDn: server.rootDn,
    bindPassword: ROOT_PASSWORD,
    timeoutMs: 2_000,
  });

  // People whose addresses are full of filter metacharacters (legal in an IA5String `mail`),
  // one of them in the group, to check that an address is only ever matched as itself.
  await withAdmin(async (client) => {
    for (const [uid, mail] of [
      ['star', 'star*@example.org'],
      ['parens', 'p(a)r\\ens@example.org'],
    ] as const) {
      await client.add(person(uid), {
        objectClass: 'inetOrgPerson',
        uid,
        cn: uid,
        sn: uid,
        mail,
      });
    }
    await client.modify(group('hostile'), memberChange('add', person('star')));
  });
});

afterAll(async () => {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('LdapApproverDirectory.isMember', () => {
  it('when a member asks with their address in any case, then they are a member', async () => {
    expect(await directory.isMember(group('security'), 'ann@example.org')).toBe(true);
    expect(await directory.isMember(group('security'), 'ANN@EXAMPLE.ORG')).toBe(true);
    expect(await directory.isMember(group('security'), '  Ben@Example.org ')).toBe(true);
  });

  it('when the group DN is spelled with other case and spacing, then members are still found', async () => {
    expect(await directory.isMember('CN=Security, OU=Groups, DC=Example, DC=Org', 'ann@example.org')).toBe(
      true,
    );
  });

  it('when a person is not in the group, or nobody has the address, then they are not a member', async () => {
    expect(await directory.isMember(group('security'), 'cat@example.org')).toBe(false);
    expect(await directory.isMember(group('ops'), 'ann@example.org')).toBe(false);
    expect(await directory.isMember(group('security'), 'nobody@example.org')).toBe(false);
    expect(await directory.isMember(group('empty'), 'ann@example.org')).toBe(false);
  });

  it('when the group does not exist, then the call fails naming the group', async () => {
    const ghost = group('ghost');
    const err = await failure(directory.isMember(ghost, 'ann@example.org'));
    expect(err.message).toContain(ghost);
    expect(err.message).toContain('does not exist');
    const nowhere = 'cn=ops,ou=nowhere,dc=example,dc=org';
    expect((await failure(directory.isMember(nowhere, 'ann@example.org'))).message).toContain(nowhere);
  });

  it('when the address holds filter metacharacters, then it matches only a person with exactly that address', async () => {
    const security = group('security');
    for (const hostile of [
      '*',
      '*@example.org',
      'ann*',
      'a*n@example.org',
      'ann@example.org)(mail=*',
      '*)(|(mail=*',
      '\\2a',
      'ann@example.org\\29',
      // OpenLDAP stops comparing at a NUL: these must not pass for ann.
      'ann@example.org\u0000',
      'ann@example.org\u0000.evil.example',
    ]) {
      expect(await directory.isMember(security, hostile), hostile).toBe(false);
    }
    // `hostile` holds ann and the person whose address really is `star*@example.org`.
    expect(await directory.isMember(group('hostile'), 'star*@example.org')).toBe(true);
    expect(await directory.isMember(group('hostile'), 'star@example.org')).toBe(false);
    expect(await directory.isMember(group('hostile'), 'star*')).toBe(false);
    // parens is in no group, so even their own exact address is not a member.
    expect(await directory.isMember(group('hostile'), 'p(a)r\\ens@example.org')).toBe(false);
    await withAdmin((c) => c.modify(group('hostile'), memberChange('add', person('parens'))));
    try {
      expect(await directory.isMember(group('hostile'), 'p(a)r\\ens@example.org')).toBe(true);
      expect(await directory.isMember(group('hostile'), 'p(a)r*')).toBe(false);
    } finally {
      await withAdmin((c) => c.modify(group('hostile'), memberChange('delete', person('parens'))));
    }
  });

  it('when people are searched under a base that does not hold them, then nobody is a member', async () => {
    const elsewhere = new LdapApproverDirectory({
      url: server.url,
      bindDn: server.rootDn,
      bindPassword: ROOT_PASSWORD,
      peopleBaseDn: `ou=bots,${SUFFIX}`,
    });
    expect(await elsewhere.isMember(group('security'), 'ann@example.org')).toBe(false);
    const under = new LdapApproverDirectory({
      url: server.url,
      bindDn: server.rootDn,
      bindPassword: ROOT_PASSWORD,
      peopleBaseDn: `ou=people,${SUFFIX}`,
    });
    expect(await under.isMember(group('security'), 'ann@example.org')).toBe(true);
  });

  it('when a person is removed from the group, then the next call says they are no longer a member', async () => {
    const security = group('security');
    expect(await directory.isMember(security, 'leaver@example.org')).toBe(true);
    expect(await directory.memberEmails(security)).toContain('leaver@example.org');

    await withAdmin((c) => c.modify(security, memberChange('delete', person('leaver'))));

    expect(await directory.isMember(security, 'leaver@example.org')).toBe(false);
    expect(await directory.memberEmails(security)).not.toContain('leaver@example.org');
    // Others are unaffected.
    expect(await directory.isMember(security, 'ann@example.org')).toBe(true);
  });
});

describe('LdapApproverDirectory: one address, one person (M1)', () => {
  const sre = group('sre');
  const mailChange = (operation: 'add' | 'delete', mail: string): Change =>
    new Change({ operation, modification: new Attribute({ type: 'mail', values: [mail] }) });

  it('when a member adds a second mail value to their own entry, then neither address counts: the entry is ambiguous', async () => {
    expect(await directory.isMember(sre, 'deputy@example.org')).toBe(true);
    // The attack: with self-write on `mail`, deputy lends membership to an outsider's address.
    await withAdmin((c) => c.modify(person('deputy'), mailChange('add', 'mallory@example.org')));
    try {
      for (const address of ['mallory@example.org', 'deputy@example.org']) {
        const err = await failure(directory.isMember(sre, address));
        expect(err, address).toBeInstanceOf(AmbiguousIdentityError);
        expect(err.message).toMatch(/2 mail values/);
      }
      // Nor is the ambiguous entry sent an approval request.
      expect(await directory.memberEmails(sre)).not.toContain('mallory@example.org');
    } finally {
      await withAdmin((c) => c.modify(person('deputy'), mailChange('delete', 'mallory@example.org')));
    }
    expect(await directory.isMember(sre, 'deputy@example.org')).toBe(true);
  });

  it('when two entries hold the same address, then the address is refused, even though one of them is a member', async () => {
    const err = await failure(directory.isMember(sre, 'twin@example.org'));
    expect(err).toBeInstanceOf(AmbiguousIdentityError);
    expect(err.message).toMatch(/several directory entries/);
  });

  it('when a member is found, then memberEntry names their entry by its normalised DN', async () => {
    expect(await directory.memberEntry(sre, { email: 'ANN@example.org' })).toBe(person('ann'));
    expect(await directory.memberEntry(sre, { email: 'ben@example.org' })).toBeUndefined();
  });

  it('when the address is a non-ASCII look-alike of a member, then it matches nobody', async () => {
    // KELVIN SIGN and a Cyrillic a: neither is ann, whatever lower-casing makes of them.
    for (const lookAlike of ['\u0430nn@example.org', 'ann@ex\u0430mple.org', '\u212Aate@example.org']) {
      expect(await directory.isMember(sre, lookAlike), lookAlike).toBe(false);
    }
  });

  describe('joined by uid (LDAP_APPROVER_JOIN_ATTRIBUTE=uid)', () => {
    let byUid: LdapApproverDirectory;
    beforeAll(() => {
      byUid = new LdapApproverDirectory({
        url: server.url,
        bindDn: server.rootDn,
        bindPassword: ROOT_PASSWORD,
        joinAttribute: 'uid',
      });
    });

    it('when the identity provider asserts a uid, then the entry with that uid decides, whatever mail it holds', async () => {
      await withAdmin((c) => c.modify(person('deputy'), mailChange('add', 'mallory@example.org')));
      try {
        // The uid, not the writable mail, says who this is.
        expect(await byUid.memberEntry(sre, { email: 'mallory@example.org', joinValue: 'deputy' })).toBe(
          person('deputy'),
        );
        // Mallory's own login asserts her own uid, which is in no group.
        expect(await byUid.memberEntry(sre, { email: 'mallory@example.org', joinValue: 'mallory' })).toBe(
          undefined,
        );
      } finally {
        await withAdmin((c) => c.modify(person('deputy'), mailChange('delete', 'mallory@example.org')));
      }
    });

    it('when the uid is held twice by one entry, or holds a control character, then it is refused or matches nobody', async () => {
      const uidChange = (operation: 'add' | 'delete') =>
        new Change({ operation, modification: new Attribute({ type: 'uid', values: ['ann-alias'] }) });
      await withAdmin((c) => c.modify(person('ann'), uidChange('add')));
      try {
        expect(
          await failure(byUid.memberEntry(sre, { email: 'x@example.org', joinValue: 'ann' })),
        ).toBeInstanceOf(AmbiguousIdentityError);
      } finally {
        await withAdmin((c) => c.modify(person('ann'), uidChange('delete')));
      }
      expect(
        await byUid.memberEntry(sre, { email: 'x@example.org', joinValue: 'ann\u0000x' }),
      ).toBeUndefined();
      expect(await byUid.memberEntry(sre, { email: 'x@example.org', joinValue: 'ann' })).toBe(person('ann'));
    });

    it('when the attribute name is not an attribute name, then the directory refuses to start', () => {
      expect(
        () =>
          new LdapApproverDirectory({
            url: server.url,
            bindDn: server.rootDn,
            bindPassword: ROOT_PASSWORD,
            joinAttribute: 'uid)(mail=*',
          }),
      ).toThrow(/attribute name/);
    });
  });
});

describe('LdapApproverDirectory.memberEmails', () => {
  it('when a group has people, then it lists their lower-cased addresses and skips the placeholder and entries without mail', async () => {
    const ops = group('ops');
    expect(await directory.memberEmails(ops)).toEqual(['cat@example.org']);

    // A bot (an entry without mail) and a member DN that has no entry at all.
    await withAdmin(async (c) => {
      await c.modify(ops, memberChange('add', botDn(SUFFIX, 'bot-a')));
      await c.modify(ops, memberChange('add', person('gone')));
      await c.modify(ops, memberChange('add', person('ann')));
    });
    expect((await directory.memberEmails(ops)).sort()).toEqual(['ann@example.org', 'cat@example.org']);
  });

  it('when a group holds only the placeholder, then the list is empty', async () => {
    expect(await directory.memberEmails(group('empty'))).toEqual([]);
  });

  it('when the group does not exist, then the call fails naming the group', async () => {
    const ghost = group('ghost');
    expect((await failure(directory.memberEmails(ghost))).message).toContain(ghost);
  });
});

describe('suffixOf', () => {
  it.each([
    ['cn=ops,ou=groups,dc=example,dc=org', 'dc=example,dc=org'],
    ['CN=Ops, OU=Groups, DC=Example, DC=Org', 'dc=example,dc=org'],
    ['cn=ops,ou=groups,dc=org', 'dc=org'],
    ['cn=ops,dc=example,ou=groups,dc=org', 'dc=org'],
    // No dc= suffix: the DN's parent.
    ['cn=ops,ou=groups,o=acme', 'ou=groups,o=acme'],
    // An escaped comma is part of a value, not a separator between RDNs.
    ['cn=a\\,b,ou=groups,o=acme', 'ou=groups,o=acme'],
    ['cn=x,ou=a\\,dc=evil,dc=org', 'dc=org'],
  ])('when the DN is %s, then the suffix is %s', (dn, suffix) => {
    expect(suffixOf(dn)).toBe(suffix);
  });

  it('when the text is not a DN, then it throws', () => {
    expect(() => suffixOf('cn=a,,dc=org')).toThrow(/not a valid DN/);
  });
});
