/**
 * The access-log reader against a real slapd started with `accessLog: true`: the member values
 * that modifies added and deleted (several in one modify included), slapd's times for them, the
 * paging past slapd's default size limit, and who may read the log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client, NoSuchObjectError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botDn, groupDn, personDn, seedLdif } from '../../dev/ldap-seed.js';
import {
  AccessLogFormatError,
  parseCsnTime,
  parseGeneralizedTime,
  parseReqMod,
  readMemberChanges,
  type MemberValueChange,
} from '../../dev/slapd-access-log.js';
import { ACCESS_LOG_SUFFIX, startSlapd, type SlapdServer } from '../../dev/slapd-server.js';

const SUFFIX = 'dc=example,dc=org';
const ROOT_PASSWORD = 'access-log-Root-17';
const READER_PASSWORD = 'access-log-Reader-23';

let dataDir: string;
let server: SlapdServer;
let admin: Client;

const bot = (id: string) => botDn(SUFFIX, id);
const group = (id: string) => groupDn(SUFFIX, id);

function members(operation: 'add' | 'delete', group: string, values: string[]) {
  return admin.modify(
    group,
    new Change({ operation, modification: new Attribute({ type: 'member', values }) }),
  );
}

/** What a change says, without its times. */
const what = (c: MemberValueChange) => [c.kind, c.groupDn, c.memberDn];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'elevate-access-log-'));
  server = await startSlapd({
    dataDir,
    rootPassword: ROOT_PASSWORD,
    suffix: SUFFIX,
    accessLog: true,
    seedLdif: seedLdif(SUFFIX, {
      bots: ['bot-a', 'bot-b', 'bot-c', 'bot-d'],
      groups: ['ops', 'deploy', 'bulk'],
      people: [{ uid: 'reader', mail: 'reader@example.org' }],
    }),
  });
  admin = new Client({ url: server.url, connectTimeout: 2_000, timeout: 10_000 });
  await admin.bind(server.rootDn, ROOT_PASSWORD);
});

afterAll(async () => {
  await admin?.unbind();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('readMemberChanges', () => {
  it('when members are added and deleted, two in one modify, then it reports exactly those, in order, within the wall-clock bounds', async () => {
    // A change before `since`, which must not be reported.
    await members('add', group('ops'), [bot('bot-d')]);
    await new Promise((r) => setTimeout(r, 20));
    const since = Date.now();

    await members('add', group('ops'), [bot('bot-a')]);
    await members('add', group('ops'), [bot('bot-b'), bot('bot-c')]);
    await members('add', group('deploy'), [bot('bot-a')]);
    await members('delete', group('ops'), [bot('bot-b'), bot('bot-c')]);
    // Not member changes: another attribute, and a modify slapd refuses (no such value).
    await admin.modify(
      bot('bot-a'),
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'description', values: ['x'] }),
      }),
    );
    await expect(members('delete', group('deploy'), [bot('bot-c')])).rejects.toThrow();
    await members('delete', group('ops'), [bot('bot-a')]);
    // Date.now() drops the fraction of the millisecond that slapd's times keep.
    const until = Date.now() + 1;

    const changes = await readMemberChanges(admin, { since });

    expect(changes.map(what)).toEqual([
      ['add', group('ops'), bot('bot-a')],
      ['add', group('ops'), bot('bot-b')],
      ['add', group('ops'), bot('bot-c')],
      ['add', group('deploy'), bot('bot-a')],
      ['delete', group('ops'), bot('bot-b')],
      ['delete', group('ops'), bot('bot-c')],
      ['delete', group('ops'), bot('bot-a')],
    ]);
    for (const [i, c] of changes.entries()) {
      expect(c.at).toBeGreaterThanOrEqual(since);
      expect(c.at).toBeLessThanOrEqual(until);
      if (i > 0) expect(c.at).toBeGreaterThanOrEqual(changes[i - 1]!.at);
      // The modify completed in the second of reqEnd, which is not before the CSN's second.
      expect(c.endSecond % 1000).toBe(0);
      expect(c.endSecond).toBeGreaterThanOrEqual(Math.floor(c.at / 1000) * 1000);
      expect(c.endSecond).toBeLessThanOrEqual(until);
    }
    // The pairs written in one modify share it and its time; the other modifies are distinct.
    const [, addB, addC, , delB, delC, delA] = changes;
    expect(addC!.modify).toBe(addB!.modify);
    expect(addC!.at).toBe(addB!.at);
    expect(delC!.modify).toBe(delB!.modify);
    expect(delC!.at).toBe(delB!.at);
    expect(new Set(changes.map((c) => c.modify)).size).toBe(5);
    // Sub-millisecond precision is kept (microsecond CSNs are not all whole milliseconds).
    expect(changes.some((c) => !Number.isInteger(c.at))).toBe(true);
    expect(delA!.at).toBeGreaterThan(delB!.at);

    // Read again through a URL and bind: the same answer.
    const again = await readMemberChanges(
      { url: server.url, bindDn: server.rootDn, bindPassword: ROOT_PASSWORD },
      { since },
    );
    expect(again).toEqual(changes);
    // Nothing after the last change.
    expect(await readMemberChanges(admin, { since: delA!.at + 0.001 })).toEqual([]);
  });

  it('when there are more modifies than one page and than slapd’s default size limit of 500, then every one is read', async () => {
    const since = Date.now();
    const count = 620;
    for (let i = 0; i < count; i++) {
      await members(i % 2 === 0 ? 'add' : 'delete', group('bulk'), [bot('bot-a')]);
    }
    const changes = await readMemberChanges(admin, { since, pageSize: 100 });
    expect(changes).toHaveLength(count);
    expect(changes.filter((c) => c.kind === 'delete')).toHaveLength(count / 2);
    expect(changes.every((c, i) => c.kind === (i % 2 === 0 ? 'add' : 'delete'))).toBe(true);
  });

  it('when another DN reads the log, then slapd shows it nothing, not even a password change it holds', async () => {
    const reader = personDn(SUFFIX, 'reader');
    await admin.modify(
      reader,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userPassword', values: [READER_PASSWORD] }),
      }),
    );
    // The root DN sees the new password in the log: what the log's ACL must keep from others.
    const logged = await admin.search(ACCESS_LOG_SUFFIX, {
      scope: 'one',
      filter: '(reqMod=userPassword:=*)',
    });
    expect(logged.searchEntries.length).toBeGreaterThan(0);

    const other = new Client({ url: server.url, connectTimeout: 2_000, timeout: 5_000 });
    try {
      await other.bind(reader, READER_PASSWORD);
      await expect(readMemberChanges(other, { since: 0 })).rejects.toBeInstanceOf(NoSuchObjectError);
      const anonymous = new Client({ url: server.url });
      await expect(readMemberChanges(anonymous, { since: 0 })).rejects.toBeInstanceOf(NoSuchObjectError);
      await anonymous.unbind();
    } finally {
      await other.unbind();
    }
  });

  it('when slapd runs without the access log, then reading it fails rather than reporting no changes', async () => {
    const plainDir = await mkdtemp(path.join(tmpdir(), 'elevate-access-log-off-'));
    const plain = await startSlapd({ dataDir: plainDir, rootPassword: ROOT_PASSWORD, suffix: SUFFIX });
    try {
      expect(plain.accessLogSuffix).toBeUndefined();
      expect(server.accessLogSuffix).toBe(ACCESS_LOG_SUFFIX);
      await expect(
        readMemberChanges(
          { url: plain.url, bindDn: plain.rootDn, bindPassword: ROOT_PASSWORD },
          { since: 0 },
        ),
      ).rejects.toBeInstanceOf(NoSuchObjectError);
    } finally {
      await plain.stop();
      await rm(plainDir, { recursive: true, force: true });
    }
  });
});

describe('access log values', () => {
  it('when a generalized time has a fraction, then it is kept below the millisecond', () => {
    expect(parseGeneralizedTime('20261207043012.123456Z')).toBeCloseTo(
      Date.UTC(2026, 11, 7, 4, 30, 12) + 123.456,
      6,
    );
    expect(parseGeneralizedTime('20261207043012Z')).toBe(Date.UTC(2026, 11, 7, 4, 30, 12));
    expect(parseCsnTime('20261207034540.753184Z#000000#000#000000')).toBeCloseTo(
      Date.UTC(2026, 11, 7, 3, 45, 40) + 753.184,
      6,
    );
  });

  it('when a time is not UTC generalized time with seconds, or not a real date, then it is refused', () => {
    for (const bad of ['20261207043012.1+0100', '202612070430Z', '20261332000000Z', '20260230000000Z', 'x']) {
      expect(() => parseGeneralizedTime(bad), bad).toThrow(AccessLogFormatError);
    }
    expect(() => parseCsnTime('20261207034540.753184Z')).toThrow(AccessLogFormatError);
  });

  it('when reqMod values are parsed, then operation, attribute and value are split as slapd writes them', () => {
    expect(parseReqMod('member:- uid=a,ou=bots,dc=x')).toEqual({
      attribute: 'member',
      op: '-',
      value: 'uid=a,ou=bots,dc=x',
    });
    expect(parseReqMod('member:+ cn=with: colon')).toEqual({
      attribute: 'member',
      op: '+',
      value: 'cn=with: colon',
    });
    expect(parseReqMod('member:-')).toEqual({ attribute: 'member', op: '-' });
    expect(parseReqMod('modifiersName:= cn=admin')).toEqual({
      attribute: 'modifiersName',
      op: '=',
      value: 'cn=admin',
    });
    expect(parseReqMod('no operation here')).toBeUndefined();
  });
});
