/**
 * PostgresTarget against a real throwaway PostgreSQL cluster (no mocks). The target connects
 * as a dedicated non-superuser account with CREATEROLE, as a deployment would; a superuser
 * connection arranges state and checks what really happened. A loopback TCP proxy in front
 * of the server stands in for a server that goes away, comes back, or stops answering.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import {
  PostgresTarget,
  mapPostgresError,
  postgresServerIdEnv,
  readPostgresServerUrl,
  type PostgresErrorContext,
} from '../../integrations/postgres/postgres-target.js';
import {
  TargetAccessDeniedError,
  TargetInvalidError,
  TargetNotFoundError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import { freePort } from '../../dev/processes.js';
import type { PostgresTargetRef } from '../../core/model/targets.js';
import { startPostgres, type PostgresServer } from '../../dev/postgres-server.js';

const SERVER_ID = 'warehouse-eu';
/** Elevate's account password; with trust authentication it is sent nowhere, but it is in the URL. */
const ADMIN_PASSWORD = 'Adm1n-S3cret-4711';
const PLAIN_PASSWORD = 'Pla1n-S3cret-0815';

/** Role names made to look like SQL: they must only ever be names. */
const WEIRD_ROLE = 'we"ird; DROP ROLE victim; --';
const WEIRD_LOGIN = "bot ' OR '1'='1";
const UNICODE_ROLE = 'Ünïcødé 角色';
const MISSING_NAMES = [
  'x"; DROP ROLE victim; --',
  "x' OR '1'='1",
  'name with spaces',
  '"quoted"',
  'ünïcødé 不存在',
  'victim"',
];

const GROUPS = ['lifecycle', 'idem', 'preexisting', 'denied', 'restart', 'frozen', 'terminated', 'locked'];
const BOTS = ['bot_a', 'bot_b', 'bot_c'];

const role = (name: string): PostgresTargetRef => ({ type: 'postgres', server: SERVER_ID, role: name });
const ident = (name: string): string => pg.escapeIdentifier(name);

let server: PostgresServer;
let adminUrl: string;
let plainUrl: string;
let target: PostgresTarget;
/** Every error a target threw in this file, checked at the end for secrets. */
const seen: unknown[] = [];

/** Resolves to the error `promise` rejects with, and how long that took. */
async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    seen.push(error);
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** `url` with another user and password. */
function withUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

/** `url` pointing at another loopback port. */
function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

/** Runs `fn` on a fresh superuser connection. */
async function asSuperuser<T>(fn: (client: pg.Client) => Promise<T>, url = server.url): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Ground truth, read as the superuser: is `login` a direct member of `group`? */
async function isMember(group: string, login: string): Promise<boolean> {
  return asSuperuser(async (c) => {
    const { rows } = await c.query<{ ok: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
         JOIN pg_roles l ON l.oid = am.member WHERE r.rolname = $1 AND l.rolname = $2) AS ok`,
      [group, login],
    );
    return rows[0]?.ok === true;
  });
}

async function roleNames(): Promise<string[]> {
  return asSuperuser(async (c) => {
    const { rows } = await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles ORDER BY 1');
    return rows.map((r) => r.rolname);
  });
}

/**
 * A loopback TCP proxy to the server that can be taken down, brought back on the same port,
 * or frozen (it keeps connections open but passes nothing either way, like a hung server).
 */
class TcpProxy {
  port = 0;
  frozen = false;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    const server = createServer((downstream) => {
      const upstream = connect(this.upstreamPort, '127.0.0.1');
      for (const [from, to] of [
        [downstream, upstream],
        [upstream, downstream],
      ] as const) {
        this.sockets.add(from);
        from.on('data', (chunk) => {
          if (!this.frozen) to.write(chunk);
        });
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('proxy has no address');
    this.port = address.port;
    this.server = server;
  }

  /** Refuses new connections and cuts the open ones, like a server that went away. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

beforeAll(async () => {
  server = await startPostgres();
  await asSuperuser(async (c) => {
    await c.query(`CREATE ROLE elevate_admin LOGIN CREATEROLE PASSWORD '${ADMIN_PASSWORD}'`);
    await c.query(`CREATE ROLE plain_login LOGIN PASSWORD '${PLAIN_PASSWORD}'`);
    for (const group of [...GROUPS, 'victim', 'inner_g', 'outer_g', WEIRD_ROLE, UNICODE_ROLE]) {
      await c.query(`CREATE ROLE ${ident(group)} NOLOGIN`);
    }
    await c.query('CREATE ROLE su_group SUPERUSER NOLOGIN');
    // Roles that are a way out of the window: by attribute, or by what they inherit.
    await c.query('CREATE ROLE cr_group CREATEROLE NOLOGIN');
    await c.query('CREATE ROLE rls_group BYPASSRLS NOLOGIN');
    await c.query('CREATE ROLE repl_group REPLICATION NOLOGIN');
    await c.query('CREATE ROLE via_group NOLOGIN; GRANT cr_group TO via_group');
    await c.query('CREATE ROLE deep_group NOLOGIN; GRANT via_group TO deep_group');
    await c.query('CREATE ROLE prog_group NOLOGIN; GRANT pg_execute_server_program TO prog_group');
    await c.query('CREATE ROLE heir_group NOLOGIN; GRANT elevate_admin TO heir_group');
    for (const bot of [...BOTS, WEIRD_LOGIN]) await c.query(`CREATE ROLE ${ident(bot)} LOGIN`);
    // inner_g is a member of outer_g: granting inner_g to outer_g would be circular.
    await c.query('GRANT outer_g TO inner_g');
  });
  adminUrl = withUser(server.url, 'elevate_admin', ADMIN_PASSWORD);
  plainUrl = withUser(server.url, 'plain_login', PLAIN_PASSWORD);
  target = new PostgresTarget({ url: adminUrl, server: SERVER_ID, connectTimeoutMs: 1_000 });
});

afterAll(async () => {
  await target?.close();
  await server?.stop();
});

describe('PostgresTarget memberships', () => {
  it('when a login is granted and then revoked, then check and listMembers follow each step', async () => {
    const ref = role('lifecycle');
    expect(await target.check(target.handleFor(ref, 'bot_a'))).toBe(false);
    expect(await target.listMembers(ref)).toEqual([]);

    expect(await target.grant(ref, 'bot_a')).toEqual({
      changed: true,
      handle: target.handleFor(ref, 'bot_a'),
    });
    expect(await isMember('lifecycle', 'bot_a')).toBe(true);
    expect(await target.check(target.handleFor(ref, 'bot_a'))).toBe(true);
    expect(await target.check(target.handleFor(ref, 'bot_b'))).toBe(false);
    expect(await target.listMembers(ref)).toEqual(['bot_a']);

    expect(await target.grant(ref, 'bot_b')).toEqual({
      changed: true,
      handle: target.handleFor(ref, 'bot_b'),
    });
    expect(await target.listMembers(ref)).toEqual(['bot_a', 'bot_b']);

    expect(await target.revoke(target.handleFor(ref, 'bot_a'))).toEqual({ changed: true });
    expect(await isMember('lifecycle', 'bot_a')).toBe(false);
    expect(await target.check(target.handleFor(ref, 'bot_a'))).toBe(false);
    expect(await target.listMembers(ref)).toEqual(['bot_b']);
    await target.revoke(target.handleFor(ref, 'bot_b'));
    expect(await target.listMembers(ref)).toEqual([]);
  });

  it('when a grant is revoked through its handle read back from JSON, then the login no longer holds the role; a handle of another server or target is refused', async () => {
    const ref = role('lifecycle');
    const { handle } = await target.grant(ref, 'bot_c');
    expect(handle).toEqual({ type: 'postgres', server: SERVER_ID, role: 'lifecycle', login: 'bot_c' });
    const stored = JSON.parse(JSON.stringify(handle)) as typeof handle;
    expect(await target.check(stored)).toBe(true);
    expect(await target.revoke(stored)).toEqual({ changed: true });
    expect(await isMember('lifecycle', 'bot_c')).toBe(false);
    expect(await target.check(stored)).toBe(false);

    const elsewhere = await failure(target.revoke({ ...handle, server: 'other' }));
    expect(elsewhere.error).toBeInstanceOf(TargetInvalidError);
    expect((elsewhere.error as Error).message).toContain('"other"');
    const ldap = await failure(target.check({ type: 'ldap', groupDn: 'cn=x', member: 'uid=y' } as never));
    expect(ldap.error).toBeInstanceOf(TargetInvalidError);
    expect((ldap.error as Error).message).toContain('not a grant handle of the PostgreSQL target');
  });

  it('when granting or revoking twice, then the second call succeeds with changed false', async () => {
    const ref = role('idem');
    expect(await target.grant(ref, 'bot_a')).toEqual({
      changed: true,
      handle: target.handleFor(ref, 'bot_a'),
    });
    expect(await target.grant(ref, 'bot_a')).toEqual({
      changed: false,
      handle: target.handleFor(ref, 'bot_a'),
    });
    expect(await target.check(target.handleFor(ref, 'bot_a'))).toBe(true);
    expect(await target.revoke(target.handleFor(ref, 'bot_a'))).toEqual({ changed: true });
    expect(await target.revoke(target.handleFor(ref, 'bot_a'))).toEqual({ changed: false });
    expect(await target.check(target.handleFor(ref, 'bot_a'))).toBe(false);
  });

  it('when the membership was granted outside Elevate, then grant reports no change and revoke removes it', async () => {
    await asSuperuser((c) => c.query('GRANT preexisting TO bot_c'));
    expect(await target.grant(role('preexisting'), 'bot_c')).toEqual({
      changed: false,
      handle: target.handleFor(role('preexisting'), 'bot_c'),
    });
    expect(await target.revoke(target.handleFor(role('preexisting'), 'bot_c'))).toEqual({ changed: true });
    expect(await isMember('preexisting', 'bot_c')).toBe(false);
  });

  it('when the login holds the role only through another role, then check is false: only direct grants count', async () => {
    // inner_g is a member of outer_g; bot_b joins inner_g and so inherits outer_g indirectly.
    await asSuperuser((c) => c.query('GRANT inner_g TO bot_b'));
    try {
      expect(await target.check(target.handleFor(role('outer_g'), 'bot_b'))).toBe(false);
      expect(await target.listMembers(role('outer_g'))).toEqual(['inner_g']);
    } finally {
      await asSuperuser((c) => c.query('REVOKE inner_g FROM bot_b'));
    }
  });

  it('when many logins are granted one role at once, then all of them land', async () => {
    const logins = Array.from({ length: 12 }, (_, i) => `bulk_${i}`);
    await asSuperuser(async (c) => {
      for (const login of logins) await c.query(`CREATE ROLE ${ident(login)} LOGIN`);
    });
    const results = await Promise.all(logins.map((login) => target.grant(role('lifecycle'), login)));
    expect(results.every((r) => r.changed)).toBe(true);
    expect(await target.listMembers(role('lifecycle'))).toEqual([...logins].sort());
    await Promise.all(logins.map((login) => target.revoke(target.handleFor(role('lifecycle'), login))));
    expect(await target.listMembers(role('lifecycle'))).toEqual([]);
  });

  it('when pinged, then ping resolves', async () => {
    await expect(target.ping()).resolves.toBeUndefined();
  });
});

describe('PostgresTarget names', () => {
  it('when role or login names look like SQL, then they are looked up as literal names: not found, nothing executed', async () => {
    const before = await roleNames();
    for (const name of MISSING_NAMES) {
      const asRole = await failure(target.grant(role(name), 'bot_a'));
      expect(asRole.error, name).toBeInstanceOf(TargetNotFoundError);
      expect((asRole.error as Error).message).toContain(`role ${JSON.stringify(name)} does not exist`);

      const asLogin = await failure(target.grant(role('idem'), name));
      expect(asLogin.error, name).toBeInstanceOf(TargetNotFoundError);
      expect((asLogin.error as Error).message).toContain(`login ${JSON.stringify(name)} does not exist`);

      expect(await target.revoke(target.handleFor(role(name), 'bot_a'))).toEqual({ changed: false });
      expect(await target.revoke(target.handleFor(role('idem'), name))).toEqual({ changed: false });
      expect(await target.check(target.handleFor(role(name), name))).toBe(false);
      expect(await target.listMembers(role(name))).toEqual([]);
    }
    expect(await roleNames()).toEqual(before);
    expect(before).toContain('victim');
  });

  it('when the server itself refuses a quoted missing name, then mapPostgresError names the role that does not exist', async () => {
    const name = MISSING_NAMES[0] ?? '';
    const error = await asSuperuser(async (c) => {
      try {
        await c.query(`GRANT ${ident(name)} TO bot_a`);
      } catch (err) {
        return err;
      }
      throw new Error('the GRANT of a missing role succeeded');
    });
    const mapped = mapPostgresError(error, {
      operation: 'grant',
      server: SERVER_ID,
      role: name,
      login: 'bot_a',
    });
    expect(mapped).toBeInstanceOf(TargetNotFoundError);
    expect(mapped.message).toContain(`role ${JSON.stringify(name)} does not exist`);
    expect(mapped.message).toContain('42704');
    expect(await roleNames()).toContain('victim');
  });

  it('when roles and logins with quotes, semicolons, spaces and unicode exist, then they are granted as exactly those names', async () => {
    for (const group of [WEIRD_ROLE, UNICODE_ROLE]) {
      expect(await target.grant(role(group), WEIRD_LOGIN)).toEqual({
        changed: true,
        handle: target.handleFor(role(group), WEIRD_LOGIN),
      });
      expect(await isMember(group, WEIRD_LOGIN)).toBe(true);
      expect(await target.check(target.handleFor(role(group), WEIRD_LOGIN))).toBe(true);
      expect(await target.listMembers(role(group))).toEqual([WEIRD_LOGIN]);
      expect(await target.revoke(target.handleFor(role(group), WEIRD_LOGIN))).toEqual({ changed: true });
      expect(await isMember(group, WEIRD_LOGIN)).toBe(false);
    }
    expect(await roleNames()).toContain('victim');
  });

  it('when a name is empty, longer than 63 bytes or contains NUL, then TargetInvalidError is thrown before any SQL', async () => {
    // Pointed at a closed port: anything that reached the network would be TargetUnreachableError.
    const offline = new PostgresTarget({ url: withPort(adminUrl, await freePort()), server: SERVER_ID });
    try {
      const bad = ['', 'a'.repeat(64), 'é'.repeat(32), 'bot\0_a'];
      for (const name of bad) {
        for (const call of [
          () => offline.grant(role(name), 'bot_a'),
          () => offline.grant(role('idem'), name),
          () => offline.revoke(offline.handleFor(role(name), 'bot_a')),
          () => offline.revoke(offline.handleFor(role('idem'), name)),
          () => offline.check(offline.handleFor(role(name), 'bot_a')),
          () => offline.check(offline.handleFor(role('idem'), name)),
          () => offline.listMembers(role(name)),
        ]) {
          const { error } = await failure(call());
          expect(error, JSON.stringify(name)).toBeInstanceOf(TargetInvalidError);
        }
      }
      // 63 bytes is still a name: it goes to the server (and fails there, unreachable).
      const { error } = await failure(offline.grant(role('é'.repeat(31) + 'a'), 'bot_a'));
      expect(error).toBeInstanceOf(TargetUnreachableError);
    } finally {
      await offline.close();
    }
  });

  it('when asked to grant or revoke a predefined pg_ role, then TargetInvalidError, and nothing changes', async () => {
    const grant = await failure(target.grant(role('pg_read_all_data'), 'bot_a'));
    expect(grant.error).toBeInstanceOf(TargetInvalidError);
    expect((grant.error as Error).message).toContain('pg_read_all_data');
    expect(await isMember('pg_read_all_data', 'bot_a')).toBe(false);

    await asSuperuser((c) => c.query('GRANT pg_monitor TO bot_c'));
    const revoke = await failure(target.revoke(target.handleFor(role('pg_monitor'), 'bot_c')));
    expect(revoke.error).toBeInstanceOf(TargetInvalidError);
    expect(await isMember('pg_monitor', 'bot_c')).toBe(true);
    // Reading is harmless and allowed.
    expect(await target.check(target.handleFor(role('pg_monitor'), 'bot_c'))).toBe(true);
  });

  it('when asked to grant a superuser role or the role Elevate connects as, then TargetInvalidError', async () => {
    for (const name of ['su_group', 'elevate_admin']) {
      const { error } = await failure(target.grant(role(name), 'bot_a'));
      expect(error, name).toBeInstanceOf(TargetInvalidError);
      expect(await isMember(name, 'bot_a')).toBe(false);
    }
  });

  it('when asked to grant a role that is or inherits CREATEROLE, BYPASSRLS, REPLICATION or a pg_ role, then TargetInvalidError naming the power, and nothing changes', async () => {
    const expected: Record<string, string> = {
      cr_group: 'CREATEROLE',
      rls_group: 'BYPASSRLS',
      repl_group: 'REPLICATION',
      via_group: 'through "cr_group": CREATEROLE',
      deep_group: 'through "cr_group": CREATEROLE',
      prog_group: 'the predefined role "pg_execute_server_program"',
      heir_group: 'through "elevate_admin": CREATEROLE, Elevate\'s own role',
    };
    for (const [name, power] of Object.entries(expected)) {
      const { error } = await failure(target.grant(role(name), 'bot_a'));
      expect(error, name).toBeInstanceOf(TargetInvalidError);
      expect((error as Error).message, name).toContain(power);
      expect(await isMember(name, 'bot_a'), name).toBe(false);
    }
    // Revoking such a role (put there by someone else) still works: taking power away is safe.
    await asSuperuser((c) => c.query('GRANT cr_group TO bot_c'));
    expect(await target.revoke(target.handleFor(role('cr_group'), 'bot_c'))).toEqual({ changed: true });
    expect(await isMember('cr_group', 'bot_c')).toBe(false);
  });

  it('when a grant would make a role a member of itself, directly or in a circle, then TargetInvalidError (0LP01)', async () => {
    const self = await failure(target.grant(role('idem'), 'idem'));
    expect(self.error).toBeInstanceOf(TargetInvalidError);
    expect((self.error as Error).message).toContain('0LP01');

    const circle = await failure(target.grant(role('inner_g'), 'outer_g'));
    expect(circle.error).toBeInstanceOf(TargetInvalidError);
    expect((circle.error as Error).message).toContain('0LP01');
    expect(await isMember('inner_g', 'outer_g')).toBe(false);
  });
});

describe('PostgresTarget errors from the server', () => {
  it("when Elevate's account is a plain login, then grant and revoke fail with TargetAccessDeniedError and reads still work", async () => {
    const plain = new PostgresTarget({ url: plainUrl, server: SERVER_ID });
    try {
      const grant = await failure(plain.grant(role('denied'), 'bot_a'));
      expect(grant.error).toBeInstanceOf(TargetAccessDeniedError);
      expect((grant.error as Error).message).toContain('42501');
      expect(await isMember('denied', 'bot_a')).toBe(false);

      await asSuperuser((c) => c.query('GRANT denied TO bot_b'));
      const revoke = await failure(plain.revoke(plain.handleFor(role('denied'), 'bot_b')));
      expect(revoke.error).toBeInstanceOf(TargetAccessDeniedError);
      expect(await isMember('denied', 'bot_b')).toBe(true);

      expect(await plain.check(plain.handleFor(role('denied'), 'bot_b'))).toBe(true);
      expect(await plain.listMembers(role('denied'))).toEqual(['bot_b']);
    } finally {
      await plain.close();
    }
  });

  it('when the role does not exist, then grant fails with TargetNotFoundError naming it and revoke succeeds unchanged', async () => {
    const grant = await failure(target.grant(role('no_such_role'), 'bot_a'));
    expect(grant.error).toBeInstanceOf(TargetNotFoundError);
    expect((grant.error as Error).message).toContain('role "no_such_role" does not exist');
    expect((grant.error as Error).message).toContain(SERVER_ID);
    expect(await target.revoke(target.handleFor(role('no_such_role'), 'bot_a'))).toEqual({ changed: false });
    expect(await target.check(target.handleFor(role('no_such_role'), 'bot_a'))).toBe(false);
    expect(await target.listMembers(role('no_such_role'))).toEqual([]);
  });

  it('when the login does not exist, then grant fails with TargetNotFoundError naming the login and revoke succeeds unchanged', async () => {
    const grant = await failure(target.grant(role('idem'), 'no_such_bot'));
    expect(grant.error).toBeInstanceOf(TargetNotFoundError);
    expect((grant.error as Error).message).toContain('login "no_such_bot" does not exist');
    expect((grant.error as Error).message).not.toContain('role "idem" does not exist');
    expect(await target.revoke(target.handleFor(role('idem'), 'no_such_bot'))).toEqual({ changed: false });
  });

  it('when the login is dropped while it holds the role, then revoke succeeds unchanged', async () => {
    await asSuperuser((c) => c.query('CREATE ROLE doomed_bot LOGIN'));
    expect(await target.grant(role('idem'), 'doomed_bot')).toEqual({
      changed: true,
      handle: target.handleFor(role('idem'), 'doomed_bot'),
    });
    await asSuperuser((c) => c.query('DROP ROLE doomed_bot'));
    expect(await target.revoke(target.handleFor(role('idem'), 'doomed_bot'))).toEqual({ changed: false });
  });

  it('when a grant waits on a lock longer than the statement timeout, then TargetUnreachableError (retryable), and it works once the lock is gone', async () => {
    const impatient = new PostgresTarget({ url: adminUrl, server: SERVER_ID, statementTimeoutMs: 500 });
    const holder = new pg.Client({ connectionString: server.url });
    await holder.connect();
    try {
      await impatient.ping(); // connect first, so only the statement can wait
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE pg_auth_members IN ACCESS EXCLUSIVE MODE');
      const { error, ms } = await failure(impatient.grant(role('locked'), 'bot_a'));
      expect(error).toBeInstanceOf(TargetUnreachableError);
      expect((error as Error).message).toContain('57014');
      expect(ms).toBeLessThan(2_500);
      await holder.query('ROLLBACK');
      expect(await impatient.grant(role('locked'), 'bot_a')).toEqual({
        changed: true,
        handle: impatient.handleFor(role('locked'), 'bot_a'),
      });
    } finally {
      await holder.end();
      await impatient.close();
    }
  });
});

describe('PostgresTarget when the server goes away', () => {
  it('when nothing listens on the port, then every operation fails promptly with TargetUnreachableError', async () => {
    const offline = new PostgresTarget({ url: withPort(adminUrl, await freePort()), server: SERVER_ID });
    try {
      for (const call of [
        () => offline.grant(role('restart'), 'bot_a'),
        () => offline.revoke(offline.handleFor(role('restart'), 'bot_a')),
        () => offline.check(offline.handleFor(role('restart'), 'bot_a')),
        () => offline.listMembers(role('restart')),
        () => offline.ping(),
      ]) {
        const { error, ms } = await failure(call());
        expect(error).toBeInstanceOf(TargetUnreachableError);
        expect((error as TargetUnreachableError).retryable).toBe(true);
        expect(ms).toBeLessThan(2_000);
      }
    } finally {
      await offline.close();
    }
  });

  it('when the server goes away and comes back, then operations fail with TargetUnreachableError meanwhile and the same instance works afterwards', async () => {
    const proxy = new TcpProxy(Number(new URL(server.url).port));
    await proxy.start();
    const viaProxy = new PostgresTarget({
      url: withPort(adminUrl, proxy.port),
      server: SERVER_ID,
      connectTimeoutMs: 1_000,
    });
    try {
      expect(await viaProxy.grant(role('restart'), 'bot_a')).toEqual({
        changed: true,
        handle: viaProxy.handleFor(role('restart'), 'bot_a'),
      });
      await proxy.stop(); // idle pooled connections are cut: the pool's 'error' must not crash us
      const { error, ms } = await failure(viaProxy.grant(role('restart'), 'bot_b'));
      expect(error).toBeInstanceOf(TargetUnreachableError);
      expect(ms).toBeLessThan(2_000);
      await expect(viaProxy.ping()).rejects.toBeInstanceOf(TargetUnreachableError);

      await proxy.start();
      expect(await viaProxy.grant(role('restart'), 'bot_b')).toEqual({
        changed: true,
        handle: viaProxy.handleFor(role('restart'), 'bot_b'),
      });
      expect(await viaProxy.listMembers(role('restart'))).toEqual(['bot_a', 'bot_b']);
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  });

  it('when the server stops answering, then an operation fails with TargetUnreachableError after the timeout instead of hanging, and works again once it answers', async () => {
    const proxy = new TcpProxy(Number(new URL(server.url).port));
    await proxy.start();
    const viaProxy = new PostgresTarget({
      url: withPort(adminUrl, proxy.port),
      server: SERVER_ID,
      connectTimeoutMs: 1_000,
      statementTimeoutMs: 1_000,
    });
    try {
      await viaProxy.ping();
      proxy.frozen = true;
      // On the pooled connection: the client-side read timeout ends the wait.
      const onOpen = await failure(viaProxy.grant(role('frozen'), 'bot_a'));
      expect(onOpen.error).toBeInstanceOf(TargetUnreachableError);
      expect(onOpen.ms).toBeLessThan(5_000);
      // On a new connection: the connect timeout ends the wait.
      const onNew = await failure(viaProxy.grant(role('frozen'), 'bot_a'));
      expect(onNew.error).toBeInstanceOf(TargetUnreachableError);
      expect(onNew.ms).toBeLessThan(3_000);

      proxy.frozen = false;
      expect(await viaProxy.grant(role('frozen'), 'bot_a')).toEqual({
        changed: true,
        handle: viaProxy.handleFor(role('frozen'), 'bot_a'),
      });
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  });

  it("when the server terminates the target's idle connections, then the process survives and the next operation reconnects", async () => {
    const own = new PostgresTarget({ url: adminUrl, server: SERVER_ID, poolSize: 2 });
    try {
      await Promise.all([own.ping(), own.ping()]);
      const terminated = await asSuperuser(async (c) => {
        const { rows } = await c.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity, pg_terminate_backend(pid)
            WHERE usename = 'elevate_admin' AND pid <> pg_backend_pid()`,
        );
        return Number(rows[0]?.n);
      });
      expect(terminated).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await own.grant(role('terminated'), 'bot_a')).toEqual({
        changed: true,
        handle: own.handleFor(role('terminated'), 'bot_a'),
      });
      expect(await own.check(own.handleFor(role('terminated'), 'bot_a'))).toBe(true);
    } finally {
      await own.close();
    }
  });

  it('when the whole cluster is shut down, then operations fail with TargetUnreachableError', async () => {
    const other = await startPostgres();
    const elsewhere = new PostgresTarget({ url: other.url, server: 'other', connectTimeoutMs: 1_000 });
    try {
      await asSuperuser((c) => c.query('CREATE ROLE g NOLOGIN; CREATE ROLE b LOGIN'), other.url);
      expect(await elsewhere.grant({ type: 'postgres', server: 'other', role: 'g' }, 'b')).toMatchObject({
        changed: true,
      });
      await other.stop();
      const { error, ms } = await failure(
        elsewhere.check(elsewhere.handleFor({ type: 'postgres', server: 'other', role: 'g' }, 'b')),
      );
      expect(error).toBeInstanceOf(TargetUnreachableError);
      expect(ms).toBeLessThan(3_000);
    } finally {
      await elsewhere.close();
      await other.stop();
    }
  });

  it('when the target is closed, then later calls fail with TargetUnreachableError', async () => {
    const closing = new PostgresTarget({ url: adminUrl, server: SERVER_ID });
    await closing.ping();
    await closing.close();
    await closing.close();
    const { error } = await failure(closing.check(closing.handleFor(role('idem'), 'bot_a')));
    expect(error).toBeInstanceOf(TargetUnreachableError);
  });
});

describe('PostgresTarget secrets', () => {
  it('when the URL is not a postgres URL, then the constructor refuses it without echoing it', () => {
    for (const url of ['mysql://u:Sekr1t-pw@h/db', 'not a url Sekr1t-pw']) {
      let message = '';
      try {
        new PostgresTarget({ url, server: SERVER_ID });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain(SERVER_ID);
      expect(message).not.toContain('Sekr1t-pw');
    }
  });

  it('when an error message would contain the URL or its password, then mapPostgresError removes them', () => {
    const url = 'postgres://elevate:p%40ss%2Fw0rd@db.internal:5432/postgres';
    const ctx: PostgresErrorContext = { operation: 'grant', server: SERVER_ID, role: 'r', login: 'l', url };
    for (const err of [
      new Error(`connect to ${url} failed`),
      new Error('password p@ss/w0rd rejected'),
      Object.assign(new pg.DatabaseError('password "p%40ss%2Fw0rd" is wrong', 0, 'error'), {
        code: '28P01',
      }),
    ]) {
      const mapped = mapPostgresError(err, ctx);
      expect(mapped.message).not.toContain(url);
      expect(mapped.message).not.toContain('p@ss/w0rd');
      expect(mapped.message).not.toContain('p%40ss%2Fw0rd');
      expect(mapped.message).toContain('[redacted]');
    }
  });

  it("when any target error was thrown in this file, then none contains Elevate's URL or a password", () => {
    expect(seen.length).toBeGreaterThan(30);
    for (const error of seen) {
      const text = `${String(error)} ${JSON.stringify(error)}`;
      for (const secret of [ADMIN_PASSWORD, PLAIN_PASSWORD, adminUrl, plainUrl]) {
        expect(text).not.toContain(secret);
      }
    }
  });
});

describe('mapPostgresError', () => {
  const ctx: PostgresErrorContext = {
    operation: 'grant',
    server: SERVER_ID,
    role: 'analysts',
    login: 'bot_a',
  };
  const dbError = (code: string, message = 'server says no'): pg.DatabaseError =>
    Object.assign(new pg.DatabaseError(message, 0, 'error'), { severity: 'ERROR', code });

  it.each([
    ['08006', TargetUnreachableError],
    ['08001', TargetUnreachableError],
    ['57P01', TargetUnreachableError],
    ['57P03', TargetUnreachableError],
    ['53300', TargetUnreachableError],
    ['40P01', TargetUnreachableError],
    ['57014', TargetUnreachableError],
    ['42704', TargetNotFoundError],
    ['42501', TargetAccessDeniedError],
    ['28P01', TargetAccessDeniedError],
    ['28000', TargetAccessDeniedError],
    ['0LP01', TargetInvalidError],
    ['22023', TargetInvalidError],
    ['XX000', TargetInvalidError],
  ])('when the server answers SQLSTATE %s, then %O', (code, Cls) => {
    const mapped = mapPostgresError(dbError(code), ctx);
    expect(mapped).toBeInstanceOf(Cls);
    expect(mapped.message).toContain(code);
    expect(mapped.message).toContain(SERVER_ID);
  });

  it('when the failure is not from the server, then TargetUnreachableError with the cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (const err of [
      refused,
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      'a string',
    ]) {
      const mapped = mapPostgresError(err, ctx);
      expect(mapped).toBeInstanceOf(TargetUnreachableError);
      expect(mapped.retryable).toBe(true);
    }
    expect(mapPostgresError(refused, ctx).message).toContain('ECONNREFUSED');
  });

  it('when 42704 names the login, then the message says the login does not exist', () => {
    const mapped = mapPostgresError(dbError('42704', 'role "bot_a" does not exist'), ctx);
    expect(mapped.message).toContain('login "bot_a" does not exist');
    const forRole = mapPostgresError(dbError('42704', 'role "analysts" does not exist'), ctx);
    expect(forRole.message).toContain('role "analysts" does not exist');
  });

  it('when given a TargetError, then it is returned as is', () => {
    const original = new TargetInvalidError('already mapped');
    expect(mapPostgresError(original, ctx)).toBe(original);
  });
});

describe('PostgreSQL server URLs from the environment', () => {
  it('when the server id has hyphens and lower case, then the variable is upper-cased with underscores', () => {
    expect(postgresServerIdEnv('warehouse-eu')).toBe('ELEVATE_POSTGRES_WAREHOUSE_EU_URL');
    expect(postgresServerIdEnv('db1')).toBe('ELEVATE_POSTGRES_DB1_URL');
  });

  it('when the variable or its _FILE is set, then the URL is read, the file trimmed and preferred', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'elevate-pg-url-'));
    try {
      const file = path.join(dir, 'url');
      await writeFile(file, '  postgres://from-file@h/db\n');
      const name = 'ELEVATE_POSTGRES_WAREHOUSE_EU_URL';
      expect(readPostgresServerUrl({ [name]: 'postgres://from-env@h/db' }, 'warehouse-eu')).toBe(
        'postgres://from-env@h/db',
      );
      expect(readPostgresServerUrl({ [`${name}_FILE`]: file }, 'warehouse-eu')).toBe(
        'postgres://from-file@h/db',
      );
      expect(
        readPostgresServerUrl({ [name]: 'postgres://from-env@h/db', [`${name}_FILE`]: file }, 'warehouse-eu'),
      ).toBe('postgres://from-file@h/db');
      expect(readPostgresServerUrl({}, 'warehouse-eu')).toBeUndefined();
      expect(readPostgresServerUrl({ [name]: '' }, 'warehouse-eu')).toBeUndefined();
      expect(
        readPostgresServerUrl({ ELEVATE_POSTGRES_OTHER_URL: 'postgres://x' }, 'warehouse-eu'),
      ).toBeUndefined();

      let thrown: unknown;
      try {
        readPostgresServerUrl({ [`${name}_FILE`]: path.join(dir, 'missing') }, 'warehouse-eu');
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).field).toBe(`${name}_FILE`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
