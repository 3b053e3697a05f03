/**
 * LdapTarget against a real OpenLDAP started for this file (no mocks): memberships,
 * idempotency, the error mapping users see, and behaviour while slapd is down, frozen or
 * restarted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Attribute,
  BusyError,
  Change,
  Client,
  InsufficientAccessError,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  InvalidSyntaxError,
  NoSuchObjectError,
  ObjectClassViolationError,
  StrongAuthRequiredError,
  UnavailableError,
  UnknownStatusCodeError,
  UnwillingToPerformError,
} from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapTarget, mapLdapError, type LdapErrorContext } from '../../integrations/ldap/ldap-target.js';
import { botDn, groupDn, seedLdif } from '../../dev/ldap-seed.js';
import { startSlapd, type SlapdServer } from '../../dev/slapd-server.js';
import type { TargetError } from '../../core/errors/target-errors.js';
import {
  TargetAccessDeniedError,
  TargetInvalidError,
  TargetNotFoundError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import type { LdapTargetRef } from '../../core/model/targets.js';

const SUFFIX = 'dc=example,dc=org';
const ROOT_PASSWORD = 'root-Secret-4711';
const GROUPS = ['ops', 'idem', 'spelling', 'concurrent', 'sole', 'restart', 'frozen', 'after-restart'];

const group = (id: string): LdapTargetRef => ({ type: 'ldap', groupDn: groupDn(SUFFIX, id) });
const bot = (id: string): string => botDn(SUFFIX, id);

/** Resolves to the error `promise` rejects with, and how long that took. */
async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

let server: SlapdServer;
let dataDir: string;
let target: LdapTarget;

/** A root-bound client for arranging directory state the target must not be able to create. */
async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: server.url, connectTimeout: 2_000, timeout: 5_000 });
  try {
    await client.bind(server.rootDn, ROOT_PASSWORD);
    return await fn(client);
  } finally {
    await client.unbind();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'elevate-ldap-target-'));
  server = await startSlapd({
    dataDir,
    rootPassword: ROOT_PASSWORD,
    suffix: SUFFIX,
    seedLdif: seedLdif(SUFFIX, { bots: ['bot-a', 'bot-b'], groups: GROUPS }),
  });
  target = new LdapTarget({
    url: server.url,
    bindDn: server.rootDn,
    bindPassword: ROOT_PASSWORD,
    connectTimeoutMs: 1_000,
    timeoutMs: 2_000,
  });
});

afterAll(async () => {
  await target?.close();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('LdapTarget memberships', () => {
  it('when a bot is granted and then revoked, then check and listMembers follow each step', async () => {
    const ref = group('ops');
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(false);
    expect(await target.listMembers(ref)).toEqual([]);

    expect(await target.grant(ref, bot('bot-a'))).toEqual({
      changed: true,
      handle: target.handleFor(ref, bot('bot-a')),
    });
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(true);
    expect(await target.listMembers(ref)).toEqual([bot('bot-a')]);

    expect(await target.revoke(target.handleFor(ref, bot('bot-a')))).toEqual({ changed: true });
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(false);
    expect(await target.listMembers(ref)).toEqual([]);
  });

  it('when a grant is revoked through its handle read back from JSON, then the member is gone; a handle of another target is refused', async () => {
    const ref = group('ops');
    const { handle } = await target.grant(ref, bot('bot-c'));
    // The group and the member value as written: what the revocation removes.
    expect(handle).toEqual({ type: 'ldap', groupDn: ref.groupDn, member: bot('bot-c') });
    const stored = JSON.parse(JSON.stringify(handle)) as typeof handle;
    expect(await target.check(stored)).toBe(true);
    expect(await target.revoke(stored)).toEqual({ changed: true });
    expect(await target.check(stored)).toBe(false);
    expect(await target.listMembers(ref)).toEqual([]);

    const { error } = await failure(
      target.revoke({ type: 'postgres', server: 's', role: 'r', login: 'l' } as never),
    );
    expect(error).toBeInstanceOf(TargetInvalidError);
    expect((error as Error).message).toContain('not a grant handle of the LDAP target');
    expect(
      (await failure(target.check({ type: 'ldap', groupDn: ref.groupDn } as never))).error,
    ).toBeInstanceOf(TargetInvalidError);
  });

  it('when granting or revoking twice, then the second call succeeds with changed false', async () => {
    const ref = group('idem');
    expect(await target.grant(ref, bot('bot-a'))).toEqual({
      changed: true,
      handle: target.handleFor(ref, bot('bot-a')),
    });
    expect(await target.grant(ref, bot('bot-a'))).toEqual({
      changed: false,
      handle: target.handleFor(ref, bot('bot-a')),
    });
    expect(await target.revoke(target.handleFor(ref, bot('bot-a')))).toEqual({ changed: true });
    expect(await target.revoke(target.handleFor(ref, bot('bot-a')))).toEqual({ changed: false });
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(false);
  });

  it('when the principal is spelled with other case and spacing, then the server treats it as the same member', async () => {
    const ref = group('spelling');
    await target.grant(ref, bot('bot-b'));
    const respelled = `UID = Bot-B , OU=Bots, ${SUFFIX.toUpperCase()}`;
    expect(await target.check(target.handleFor(ref, respelled))).toBe(true);
    expect(await target.grant(ref, respelled)).toEqual({
      changed: false,
      handle: target.handleFor(ref, respelled),
    });
    expect(await target.revoke(target.handleFor(ref, respelled))).toEqual({ changed: true });
    expect(await target.check(target.handleFor(ref, bot('bot-b')))).toBe(false);
  });

  it('when the group does not exist, then revoke succeeds unchanged, check is false and listMembers is empty', async () => {
    const missing = group('no-such-group');
    expect(await target.revoke(target.handleFor(missing, bot('bot-a')))).toEqual({ changed: false });
    expect(await target.check(target.handleFor(missing, bot('bot-a')))).toBe(false);
    expect(await target.listMembers(missing)).toEqual([]);
  });

  it('when granting into a group that does not exist, then TargetNotFoundError names the group', async () => {
    const missing = group('no-such-group');
    const { error } = await failure(target.grant(missing, bot('bot-a')));
    expect(error).toBeInstanceOf(TargetNotFoundError);
    expect((error as TargetError).retryable).toBe(false);
    expect((error as Error).message).toContain(missing.groupDn);
  });

  it('when 50 different bots are granted into one group at once, then all of them land', async () => {
    const ref = group('concurrent');
    const principals = Array.from({ length: 50 }, (_, i) => bot(`many-${i}`));
    const results = await Promise.all(principals.map((p) => target.grant(ref, p)));
    expect(results.every((r) => r.changed)).toBe(true);
    expect((await target.listMembers(ref)).sort()).toEqual([...principals].sort());
    const checks = await Promise.all(principals.map((p) => target.check(target.handleFor(ref, p))));
    expect(checks.every(Boolean)).toBe(true);
  });

  it('when pinged with valid credentials, then ping resolves', async () => {
    await expect(target.ping()).resolves.toBeUndefined();
  });
});

describe('LdapTarget errors from the server', () => {
  it('when the bind password is wrong, then every operation fails with TargetAccessDeniedError that does not contain the password', async () => {
    const wrongPassword = 'wrong-Password-zq81';
    const bad = new LdapTarget({ url: server.url, bindDn: server.rootDn, bindPassword: wrongPassword });
    try {
      for (const call of [
        bad.grant(group('ops'), bot('bot-a')),
        bad.check(bad.handleFor(group('ops'), bot('bot-a'))),
        bad.ping(),
      ]) {
        const { error } = await failure(call);
        expect(error).toBeInstanceOf(TargetAccessDeniedError);
        expect((error as TargetError).retryable).toBe(false);
        expect((error as Error).message).toMatch(/invalid credentials/i);
        expect((error as Error).message).toContain(server.rootDn);
        expect(`${(error as Error).message} ${(error as Error).stack ?? ''}`).not.toContain(wrongPassword);
      }
    } finally {
      await bad.close();
    }
  });

  it('when the bind account may read but not write, then grant fails with TargetAccessDeniedError and check still works', async () => {
    const readerDn = `uid=reader,ou=bots,${SUFFIX}`;
    await withAdmin((admin) =>
      admin.add(readerDn, {
        objectClass: ['account', 'simpleSecurityObject'],
        uid: 'reader',
        userPassword: 'reader-pw-1',
      }),
    );
    const reader = new LdapTarget({ url: server.url, bindDn: readerDn, bindPassword: 'reader-pw-1' });
    try {
      const { error } = await failure(reader.grant(group('ops'), bot('bot-a')));
      expect(error).toBeInstanceOf(TargetAccessDeniedError);
      expect((error as Error).message).toContain(readerDn);
      expect((error as Error).message).toContain('result code 50');
      expect(await reader.check(reader.handleFor(group('ops'), bot('bot-a')))).toBe(false);
    } finally {
      await reader.close();
    }
  });

  it.each([
    ['a filter-injection string', '*)(uid=*'],
    ['plain text', 'not a dn'],
    ['a DN with a trailing comma', `${bot('bot-a')},`],
    ['an empty string', ''],
  ])(
    'when the principal is %s, then grant, revoke and check fail with TargetInvalidError',
    async (_label, principal) => {
      for (const call of [
        target.grant(group('ops'), principal),
        target.revoke(target.handleFor(group('ops'), principal)),
        target.check(target.handleFor(group('ops'), principal)),
      ]) {
        const { error } = await failure(call);
        expect(error).toBeInstanceOf(TargetInvalidError);
        expect((error as Error).message).toContain('principal');
      }
    },
  );

  it('when the principal is well-formed but uses an attribute type the server does not know, then the server refusal is TargetInvalidError', async () => {
    const { error } = await failure(target.grant(group('ops'), `nosuchattr=x,${SUFFIX}`));
    expect(error).toBeInstanceOf(TargetInvalidError);
    expect((error as Error).message).toContain('result code 21');
  });

  it('when the group DN is malformed, then every operation fails with TargetInvalidError before reaching the server', async () => {
    const ref: LdapTargetRef = { type: 'ldap', groupDn: 'cn=ops,,dc=example' };
    for (const call of [
      target.grant(ref, bot('bot-a')),
      target.revoke(target.handleFor(ref, bot('bot-a'))),
      target.listMembers(ref),
    ]) {
      const { error } = await failure(call);
      expect(error).toBeInstanceOf(TargetInvalidError);
      expect((error as Error).message).toContain('group DN');
    }
  });

  it('when the group DN uses an attribute type the server does not know, then grant fails with TargetInvalidError (result code 34)', async () => {
    const { error } = await failure(
      target.grant({ type: 'ldap', groupDn: `nosuchattr=x,${SUFFIX}` }, bot('bot-a')),
    );
    expect(error).toBeInstanceOf(TargetInvalidError);
    expect((error as Error).message).toContain('result code 34');
  });

  it('when asked to grant or revoke the placeholder member, then it refuses with TargetInvalidError', async () => {
    for (const call of [
      target.grant(group('ops'), 'cn=placeholder'),
      target.revoke(target.handleFor(group('ops'), 'CN = Placeholder')),
    ]) {
      const { error } = await failure(call);
      expect(error).toBeInstanceOf(TargetInvalidError);
      expect((error as Error).message).toMatch(/placeholder/);
    }
    expect(await target.check(target.handleFor(group('ops'), 'cn=placeholder'))).toBe(true);
  });

  it('when revoking the only member of a group without a placeholder, then TargetInvalidError explains the placeholder', async () => {
    const ref = group('sole');
    await withAdmin((admin) =>
      admin.modify(
        ref.groupDn,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'member', values: [bot('bot-a')] }),
        }),
      ),
    );
    const { error } = await failure(target.revoke(target.handleFor(ref, bot('bot-a'))));
    expect(error).toBeInstanceOf(TargetInvalidError);
    expect((error as Error).message).toContain('result code 65');
    expect((error as Error).message).toMatch(/without members.*placeholder/);
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(true);
  });
});

/** Resolves once every thread of `pid` is in the stopped state (Linux /proc). */
async function stopped(pid: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const states = readdirSync(`/proc/${pid}/task`).map(
      (tid) => /\) (\S)/.exec(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))?.[1],
    );
    if (states.every((st) => st === 'T' || st === 't')) return;
    if (Date.now() > deadline)
      throw new Error(`process ${pid} did not stop: thread states ${states.join('')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LdapTarget when slapd goes away', () => {
  it('when slapd is stopped, then every operation fails promptly with TargetUnreachableError; after restart the same instance works and the data is still there', async () => {
    const ref = group('restart');
    await target.grant(ref, bot('bot-a'));

    await server.stop();
    for (const call of [
      target.grant(ref, bot('bot-b')),
      target.revoke(target.handleFor(ref, bot('bot-a'))),
      target.check(target.handleFor(ref, bot('bot-a'))),
      target.listMembers(ref),
      target.ping(),
    ]) {
      const { error, ms } = await failure(call);
      expect(error).toBeInstanceOf(TargetUnreachableError);
      expect((error as TargetError).retryable).toBe(true);
      expect(ms).toBeLessThan(3_000);
    }

    await server.restart();
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(true);
    expect(await target.grant(ref, bot('bot-b'))).toEqual({
      changed: true,
      handle: target.handleFor(ref, bot('bot-b')),
    });
    expect((await target.listMembers(ref)).sort()).toEqual([bot('bot-a'), bot('bot-b')].sort());
  });

  it('when many operations start at once right after a restart, then they share one bind and all complete', async () => {
    // ldapts alone opens one socket per concurrent call on a disconnected client, and one of
    // them can hang forever; LdapTarget binds once for all of them.
    await server.restart();
    const ref = group('after-restart');
    const principals = Array.from({ length: 20 }, (_, i) => bot(`burst-${i}`));
    const results = await Promise.all([
      ...principals.map((p) => target.grant(ref, p)),
      ...principals.map(() => target.check(target.handleFor(ref, bot('bot-a')))),
      target.ping(),
    ]);
    expect(results).toHaveLength(41);
    expect((await target.listMembers(ref)).length).toBe(20);
  });

  it('when slapd is frozen (SIGSTOP), then an operation fails with TargetUnreachableError after the timeout instead of hanging, and works again once it resumes', async () => {
    const ref = group('frozen');
    await target.ping(); // bound connection in place, so the request itself is what waits
    process.kill(server.pid, 'SIGSTOP');
    try {
      // The signal is delivered asynchronously: wait until every thread of slapd is stopped, or a
      // thread still running on the other core can answer the request.
      await stopped(server.pid);
      const { error, ms } = await failure(target.grant(ref, bot('bot-a')));
      expect(error).toBeInstanceOf(TargetUnreachableError);
      expect((error as Error).message).toMatch(/timed out/i);
      expect(ms).toBeGreaterThanOrEqual(1_500);
      expect(ms).toBeLessThan(5_000);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    // The timed-out modify may still be applied once slapd resumes (it was already in its
    // socket buffer): the reason grants are idempotent and verified by reading back.
    const retried = await target.grant(ref, bot('bot-a'));
    expect(typeof retried.changed).toBe('boolean');
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(true);
  });

  it('when slapd is killed (SIGKILL) and restarted, then the target recovers without being recreated', async () => {
    const ref = group('restart');
    server.kill();
    await server.stop(); // waits for the killed process to be gone
    const { error } = await failure(target.check(target.handleFor(ref, bot('bot-a'))));
    expect(error).toBeInstanceOf(TargetUnreachableError);
    await server.restart();
    expect(await target.check(target.handleFor(ref, bot('bot-a')))).toBe(true);
  });

  it('when the target is closed, then later calls fail with TargetUnreachableError', async () => {
    const closing = new LdapTarget({ url: server.url, bindDn: server.rootDn, bindPassword: ROOT_PASSWORD });
    await closing.ping();
    await closing.close();
    const { error } = await failure(closing.ping());
    expect(error).toBeInstanceOf(TargetUnreachableError);
    expect((error as Error).message).toContain('closed');
  });
});

describe('mapLdapError', () => {
  const ctx: LdapErrorContext = {
    operation: 'grant',
    groupDn: 'cn=ops,ou=groups,dc=example,dc=org',
    principal: 'uid=bot-a,ou=bots,dc=example,dc=org',
    bindDn: 'cn=admin,dc=example,dc=org',
    secret: 'hunter2-secret',
  };
  const networkError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

  it.each<[string, unknown, new (message: string) => TargetError, RegExp]>([
    [
      'connection refused',
      networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:389'),
      TargetUnreachableError,
      /ECONNREFUSED/,
    ],
    ['connection reset', networkError('ECONNRESET', 'read ECONNRESET'), TargetUnreachableError, /ECONNRESET/],
    ['connect timeout', new Error('Connection timeout'), TargetUnreachableError, /Connection timeout/],
    [
      'operation timeout',
      new Error('ModifyRequest: Operation timed out'),
      TargetUnreachableError,
      /timed out/,
    ],
    [
      'connection closed',
      new Error('Connection closed before message response was received.'),
      TargetUnreachableError,
      /closed/,
    ],
    ['server busy (51)', new BusyError(), TargetUnreachableError, /result code 51/],
    ['server unavailable (52)', new UnavailableError(), TargetUnreachableError, /result code 52/],
    [
      'no such object (32)',
      new NoSuchObjectError(),
      TargetNotFoundError,
      /cn=ops,ou=groups,dc=example,dc=org does not exist/,
    ],
    [
      'invalid credentials (49)',
      new InvalidCredentialsError(),
      TargetAccessDeniedError,
      /invalid credentials.*result code 49/,
    ],
    [
      'insufficient access (50)',
      new InsufficientAccessError(),
      TargetAccessDeniedError,
      /may not do this.*result code 50/,
    ],
    ['strong auth required (8)', new StrongAuthRequiredError(), TargetAccessDeniedError, /result code 8/],
    [
      'invalid DN syntax (34)',
      new InvalidDNSyntaxError('invalid DN'),
      TargetInvalidError,
      /result code 34: invalid DN/,
    ],
    ['invalid attribute syntax (21)', new InvalidSyntaxError(), TargetInvalidError, /result code 21/],
    ['object class violation (65)', new ObjectClassViolationError(), TargetInvalidError, /result code 65/],
    [
      'unwilling to perform (53)',
      new UnwillingToPerformError('no global superior knowledge'),
      TargetInvalidError,
      /result code 53/,
    ],
    [
      'an unknown result code',
      new UnknownStatusCodeError(99, 'strange'),
      TargetInvalidError,
      /result code 99: strange/,
    ],
  ])('when ldapts reports %s, then it becomes the right TargetError', (_label, err, Expected, message) => {
    const mapped = mapLdapError(err, ctx);
    expect(mapped).toBeInstanceOf(Expected);
    expect(mapped.message).toMatch(message);
    expect(mapped.retryable).toBe(Expected === TargetUnreachableError);
  });

  it('when revoking would empty a groupOfNames (65), then the message says to keep the placeholder', () => {
    const mapped = mapLdapError(new ObjectClassViolationError(), { ...ctx, operation: 'revoke' });
    expect(mapped).toBeInstanceOf(TargetInvalidError);
    expect(mapped.message).toMatch(/without members.*placeholder/);
  });

  it('when an error message echoes the bind password, then the mapped message does not', () => {
    const mapped = mapLdapError(networkError('EPIPE', `write EPIPE ${ctx.secret as string}`), ctx);
    expect(mapped.message).not.toContain(ctx.secret);
    expect(mapped.message).toContain('[redacted]');
  });

  it('when given a TargetError, then it is returned unchanged', () => {
    const original = new TargetNotFoundError('x');
    expect(mapLdapError(original, ctx)).toBe(original);
  });
});
