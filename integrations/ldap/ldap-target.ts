/**
 * LDAP group membership as a {@link Target}: a grant adds the bot's DN to the `member`
 * attribute of a `groupOfNames`, a revoke removes it.
 *
 * Connection handling. One ldapts `Client` per target, shared by all operations (LDAP
 * multiplexes requests on one connection by message id, so nothing is serialised except
 * binding). ldapts reconnects by itself on the next operation after the connection drops
 * (its `_ensureConnected`), but two things about that were verified against slapd and shape
 * this class:
 * - the reconnected connection is anonymous unless `autoRebind` is set, and a modify then
 *   fails with "strong auth required" (8), which would look like a permission problem;
 * - when several operations start while the client is disconnected, each opens its own socket
 *   and they trample each other's state: some fail and one can hang forever, even with
 *   timeouts set.
 * So this class binds itself, once for all callers (a single in-flight bind that concurrent
 * operations wait on), and starts an operation only on a connection it has seen bound. After
 * a drop the next operation re-binds, which reconnects. Every operation also runs under an
 * overall deadline, and a client that misses it is thrown away and replaced, so a caller can
 * never wait forever whatever state the library is in.
 */
import {
  Attribute,
  Change,
  Client,
  ResultCodeError,
  InvalidCredentialsError,
  InsufficientAccessError,
  InvalidDNSyntaxError,
  InvalidSyntaxError,
  NoSuchAttributeError,
  NoSuchObjectError,
  ObjectClassViolationError,
  TypeOrValueExistsError,
} from 'ldapts';
import { z } from 'zod';
import type { GrantChange, Target, TargetChange } from '../../core/ports/target.js';
import {
  TargetAccessDeniedError,
  TargetError,
  TargetInvalidError,
  TargetNotFoundError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import type { LdapGrantHandle, LdapTargetRef } from '../../core/model/targets.js';
import { isValidDn, normalizeDn, normalizeDnIfValid } from '../../core/rules/dn.js';
import { dnKeyPart, membershipKeyOf } from '../../core/rules/membership-key.js';
import { readGrantHandle } from '../../core/rules/grant-handle.js';
import { DEFAULT_PLACEHOLDER_DN } from '../../core/model/targets.js';

/** Options of {@link LdapTarget}. */
export interface LdapTargetOptions {
  /** `ldap://host:port/` or `ldaps://host:port/`. */
  url: string;
  /** DN Elevate binds as; it needs write access to `member` of the managed groups. */
  bindDn: string;
  /** Password of `bindDn`. Never appears in an error message. */
  bindPassword: string;
  /** How long to wait for the TCP (and TLS) connection (default 3000 ms). */
  connectTimeoutMs?: number;
  /** How long to wait for each LDAP response (default 5000 ms). */
  timeoutMs?: number;
  /**
   * The member every managed group is seeded with so that it is never empty (default
   * {@link DEFAULT_PLACEHOLDER_DN}, `cn=placeholder`). It is left out of {@link LdapTarget.listMembers}
   * and refused as a principal, since removing it could leave a group unable to lose its last bot.
   */
  placeholderDn?: string;
}

/** The operation an error happened in, for messages and for mapping `no such object`. */
export type LdapOperation = 'grant' | 'revoke' | 'check' | 'listMembers' | 'ping' | 'bind';

/** What {@link mapLdapError} needs to know about the failed call. */
export interface LdapErrorContext {
  operation: LdapOperation;
  groupDn?: string;
  principal?: string;
  bindDn?: string;
  /** Removed from every message, in case a server or library ever echoes it. */
  secret?: string;
}

/** Result codes the server may answer when it is overloaded or going away: worth retrying. */
const TRANSIENT_CODES = new Set([
  3, // timeLimitExceeded
  11, // adminLimitExceeded
  51, // busy
  52, // unavailable (slapd answers this while shutting down)
]);

/** Result codes that say Elevate's own account may not do this. */
const DENIED_CODES = new Set([
  7, // authMethodNotSupported
  8, // strongerAuthRequired
  13, // confidentialityRequired
  48, // inappropriateAuthentication
  49, // invalidCredentials
  50, // insufficientAccessRights
]);

const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3';

/** The server's own text, without the ` Code: 0x..` suffix ldapts appends. */
function serverText(err: ResultCodeError): string {
  return err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
}

function describe(ctx: LdapErrorContext): string {
  const { operation, groupDn, principal } = ctx;
  switch (operation) {
    case 'grant':
      return `adding ${principal ?? '?'} to ${groupDn ?? '?'}`;
    case 'revoke':
      return `removing ${principal ?? '?'} from ${groupDn ?? '?'}`;
    case 'check':
      return `checking ${principal ?? '?'} in ${groupDn ?? '?'}`;
    case 'listMembers':
      return `listing the members of ${groupDn ?? '?'}`;
    case 'ping':
      return 'pinging the LDAP server';
    case 'bind':
      return `binding as ${ctx.bindDn ?? '?'}`;
  }
}

function redact(message: string, secret: string | undefined): string {
  return secret ? message.split(secret).join('[redacted]') : message;
}

/**
 * Turns whatever ldapts threw into a {@link TargetError}. This is the one place where LDAP
 * failures get their meaning; the idempotency cases (`already a member`, `no such member`,
 * `no such group` on revoke and read) are handled by the callers before they get here.
 *
 * - network-level failures (refused, reset, timed out, closed) and any other error that is
 *   not an LDAP result → {@link TargetUnreachableError} (retryable);
 * - busy / unavailable / time or admin limit → {@link TargetUnreachableError} (retryable);
 * - 32 no such object → {@link TargetNotFoundError} naming the group;
 * - 49 invalid credentials, 50 insufficient access and the other authentication refusals →
 *   {@link TargetAccessDeniedError};
 * - 34 invalid DN syntax, 21 invalid attribute syntax, 65 object class violation and every
 *   other result code → {@link TargetInvalidError} with the code: a server that answered has
 *   decided, and asking again will not change its mind.
 */
export function mapLdapError(err: unknown, ctx: LdapErrorContext): TargetError {
  if (err instanceof TargetError) return err;
  const what = describe(ctx);
  const make = <T extends TargetError>(Cls: new (message: string) => T, message: string): T =>
    new Cls(redact(message, ctx.secret));

  if (!(err instanceof ResultCodeError)) {
    const e = err as { message?: unknown; code?: unknown };
    const detail = [
      typeof e.code === 'string' ? e.code : undefined,
      typeof e.message === 'string' ? e.message : String(err),
    ]
      .filter(Boolean)
      .join(': ');
    return make(TargetUnreachableError, `LDAP server unreachable while ${what}: ${detail}`);
  }

  const code = err.code;
  const text = serverText(err);
  const detail = `${err.name}, result code ${code}${text ? `: ${text}` : ''}`;
  if (err instanceof NoSuchObjectError) {
    return make(TargetNotFoundError, `LDAP group ${ctx.groupDn ?? '?'} does not exist (${detail})`);
  }
  if (err instanceof InvalidCredentialsError) {
    return make(
      TargetAccessDeniedError,
      `LDAP bind as ${ctx.bindDn ?? '?'} refused: invalid credentials (${detail})`,
    );
  }
  if (err instanceof InsufficientAccessError || DENIED_CODES.has(code)) {
    return make(
      TargetAccessDeniedError,
      `LDAP account ${ctx.bindDn ?? '?'} may not do this: ${what} (${detail})`,
    );
  }
  if (err instanceof ObjectClassViolationError && ctx.operation === 'revoke') {
    return make(
      TargetInvalidError,
      `LDAP refused ${what}: the group would be left without members; seed it with the placeholder member (${detail})`,
    );
  }
  if (err instanceof InvalidDNSyntaxError || err instanceof InvalidSyntaxError) {
    return make(
      TargetInvalidError,
      `LDAP refused ${what}: a DN is malformed or not valid in this directory (${detail})`,
    );
  }
  if (TRANSIENT_CODES.has(code)) {
    return make(TargetUnreachableError, `LDAP server temporarily unable to serve ${what} (${detail})`);
  }
  return make(TargetInvalidError, `LDAP refused ${what} (${detail})`);
}

/** An LDAP grant's handle ({@link LdapGrantHandle}) as stored JSON must read. */
const handleSchema: z.ZodType<LdapGrantHandle> = z.object({
  type: z.literal('ldap'),
  groupDn: z.string(),
  member: z.string(),
});

function memberChange(operation: 'add' | 'delete', principal: string): Change {
  return new Change({ operation, modification: new Attribute({ type: 'member', values: [principal] }) });
}

/**
 * {@link Target} for LDAP `groupOfNames` membership, using ldapts. See the module comment for
 * how connections, binding and timeouts work.
 */
export class LdapTarget implements Target<LdapTargetRef, LdapGrantHandle> {
  private readonly url: string;
  private readonly bindDn: string;
  private readonly bindPassword: string;
  private readonly connectTimeoutMs: number;
  private readonly timeoutMs: number;
  private readonly placeholderDn: string;
  private readonly placeholderKey: string;
  private client: Client;
  /** The bind in flight, shared by every operation that needs one; undefined when none. */
  private binding: Promise<Client> | undefined;
  private closed = false;
  /** {@link groupKeyPart}'s cache, by group DN as written. */
  private readonly groupKeyParts = new Map<string, string>();

  /** @throws {Error} when the URL, bind DN or placeholder DN is malformed. */
  constructor(options: LdapTargetOptions) {
    this.url = options.url;
    this.bindDn = options.bindDn;
    this.bindPassword = options.bindPassword;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.placeholderDn = options.placeholderDn ?? DEFAULT_PLACEHOLDER_DN;
    if (!isValidDn(this.bindDn)) {
      throw new Error(`LDAP bind DN ${JSON.stringify(this.bindDn)} is not a valid DN`);
    }
    if (!isValidDn(this.placeholderDn)) {
      throw new Error(`LDAP placeholder DN ${JSON.stringify(this.placeholderDn)} is not a valid DN`);
    }
    if (!(this.connectTimeoutMs > 0 && this.timeoutMs > 0)) throw new Error('LDAP timeouts must be positive');
    this.placeholderKey = normalizeDn(this.placeholderDn);
    // Created now so that a malformed URL fails at start-up, not at the first grant.
    this.client = this.newClient();
  }

  /**
   * `ldap|<group>|<principal>`, both DNs in canonical form: one membership, shared by every
   * elevation of the same bot and group (`uid=Bot,DC=Example` and `uid=bot,dc=example` are one).
   */
  membershipKey(ref: LdapTargetRef, principal: string): string {
    return membershipKeyOf('ldap', this.groupKeyPart(ref.groupDn), dnKeyPart(principal));
  }

  /**
   * The group's part of its keys, made once per group: drift detection makes a key for every
   * member of a group each run, and normalising the same group DN each time was half the work.
   * The policy names few groups; the cache starts over should it ever hold many.
   */
  private groupKeyPart(groupDn: string): string {
    let part = this.groupKeyParts.get(groupDn);
    if (part === undefined) {
      part = dnKeyPart(groupDn);
      if (this.groupKeyParts.size >= 1_000) this.groupKeyParts.clear();
      this.groupKeyParts.set(groupDn, part);
    }
    return part;
  }

  /** The group and the member value a grant of `ref` to `principal` writes, as written. */
  handleFor(ref: LdapTargetRef, principal: string): LdapGrantHandle {
    return { type: 'ldap', groupDn: ref.groupDn, member: principal };
  }

  /**
   * Adds `principal` to `member` of the group; `changed: false` if it already was a member.
   * The handle names the group and the value written.
   */
  async grant(ref: LdapTargetRef, principal: string): Promise<GrantChange<LdapGrantHandle>> {
    const handle = this.handleFor(ref, principal);
    const ctx = this.context('grant', ref.groupDn, principal);
    this.checkDns(ctx, true);
    return this.run(ctx, async (client) => {
      try {
        await client.modify(ref.groupDn, memberChange('add', principal));
        return { changed: true, handle };
      } catch (err) {
        if (err instanceof TypeOrValueExistsError) return { changed: false, handle };
        throw err;
      }
    });
  }

  /**
   * Removes the handle's member from `member` of its group; `changed: false` if it was not a
   * member or the group does not exist (a missing group holds nobody).
   */
  async revoke(handle: LdapGrantHandle): Promise<TargetChange> {
    const { groupDn, member } = readGrantHandle(handleSchema, handle, 'LDAP');
    const ctx = this.context('revoke', groupDn, member);
    this.checkDns(ctx, true);
    return this.run(ctx, async (client) => {
      try {
        await client.modify(groupDn, memberChange('delete', member));
        return { changed: true };
      } catch (err) {
        if (err instanceof NoSuchAttributeError || err instanceof NoSuchObjectError) {
          return { changed: false };
        }
        throw err;
      }
    });
  }

  /**
   * Removes many members in one modify per group (a burst of expiries then costs a round trip
   * per group, not per member). A modify that deletes several values fails as a whole when one
   * of them is already gone, so such a group is done member by member, as {@link revoke} does.
   */
  async revokeMany(handles: LdapGrantHandle[]): Promise<(TargetChange | Error)[]> {
    const results: (TargetChange | Error)[] = new Array<TargetChange | Error>(handles.length);
    const byGroup = new Map<string, number[]>();
    handles.forEach((h, i) => {
      try {
        const { groupDn, member } = readGrantHandle(handleSchema, h, 'LDAP');
        this.checkDns(this.context('revoke', groupDn, member), true);
        byGroup.set(groupDn, [...(byGroup.get(groupDn) ?? []), i]);
      } catch (err) {
        results[i] = err as Error;
      }
    });
    const one = (i: number) => this.revoke(handles[i]!).catch((err: Error) => err);
    await Promise.all(
      [...byGroup].map(async ([groupDn, indices]) => {
        const members = [...new Set(indices.map((i) => handles[i]!.member))];
        if (members.length === 1) {
          const change = await one(indices[0]!);
          for (const i of indices) results[i] = change;
          return;
        }
        const ctx = this.context('revoke', groupDn, `${members.length} members`);
        let outcome: 'removed' | 'one-gone' | Error;
        try {
          outcome = await this.run(ctx, async (client) => {
            try {
              const values = new Attribute({ type: 'member', values: members });
              await client.modify(groupDn, new Change({ operation: 'delete', modification: values }));
              return 'removed';
            } catch (err) {
              if (err instanceof NoSuchAttributeError || err instanceof NoSuchObjectError) return 'one-gone';
              throw err;
            }
          });
        } catch (err) {
          outcome = err as Error;
        }
        if (outcome === 'one-gone') {
          await Promise.all(indices.map(async (i) => (results[i] = await one(i))));
        } else {
          for (const i of indices) results[i] = outcome === 'removed' ? { changed: true } : outcome;
        }
      }),
    );
    return results;
  }

  /**
   * Asks the server to compare `member` of the handle's group with its member (DN matching, so
   * case and spacing do not matter).
   */
  async check(handle: LdapGrantHandle): Promise<boolean> {
    const { groupDn, member } = readGrantHandle(handleSchema, handle, 'LDAP');
    const ctx = this.context('check', groupDn, member);
    this.checkDns(ctx, false);
    return this.run(ctx, async (client) => {
      try {
        return await client.compare(groupDn, 'member', member);
      } catch (err) {
        // No group, or a group without a member attribute: either way not a member.
        if (err instanceof NoSuchObjectError || err instanceof NoSuchAttributeError) return false;
        throw err;
      }
    });
  }

  /**
   * The group's members as the server returns them, without the placeholder. A missing group
   * has no members (as for {@link LdapTarget.revoke}), so it yields `[]`.
   */
  async listMembers(ref: LdapTargetRef): Promise<string[]> {
    const ctx = this.context('listMembers', ref.groupDn);
    this.checkDns(ctx, false);
    return this.run(ctx, async (client) => {
      let members: unknown;
      try {
        const { searchEntries } = await client.search(ref.groupDn, {
          scope: 'base',
          filter: '(objectClass=*)',
          attributes: ['member'],
        });
        members = searchEntries[0]?.['member'];
      } catch (err) {
        if (err instanceof NoSuchObjectError) return [];
        throw err;
      }
      // ldapts gives a single value as a string and several as an array.
      const values = (Array.isArray(members) ? members : members === undefined ? [] : [members]).map(String);
      // One parse a member: drift detection lists every member of every group each period.
      return values.filter((dn) => normalizeDnIfValid(dn) !== this.placeholderKey);
    });
  }

  /** Binds (if not bound) and asks the server who we are, proving both reachability and credentials. */
  async ping(): Promise<void> {
    const ctx = this.context('ping');
    await this.run(ctx, async (client) => {
      await client.exop(WHO_AM_I_OID);
    });
  }

  /** Unbinds and closes the connection; later calls fail with {@link TargetUnreachableError}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.disposeClient(this.client);
  }

  private context(operation: LdapOperation, groupDn?: string, principal?: string): LdapErrorContext {
    return { operation, groupDn, principal, bindDn: this.bindDn, secret: this.bindPassword };
  }

  /** Refuses malformed input before it reaches the server, with a message naming the field. */
  private checkDns(ctx: LdapErrorContext, isChange: boolean): void {
    if (!ctx.groupDn || !isValidDn(ctx.groupDn)) {
      throw new TargetInvalidError(`LDAP group DN ${JSON.stringify(ctx.groupDn)} is not a valid DN`);
    }
    if (ctx.principal === undefined) return;
    if (!isValidDn(ctx.principal)) {
      throw new TargetInvalidError(`LDAP principal ${JSON.stringify(ctx.principal)} is not a valid DN`);
    }
    if (isChange && normalizeDn(ctx.principal) === this.placeholderKey) {
      throw new TargetInvalidError(
        `LDAP principal ${ctx.principal} is the placeholder member that keeps groups non-empty; it cannot be granted or revoked`,
      );
    }
  }

  private newClient(): Client {
    // autoRebind stays off: this class replays the bind itself (see the module comment).
    return new Client({ url: this.url, connectTimeout: this.connectTimeoutMs, timeout: this.timeoutMs });
  }

  /** Throws the client away without waiting: its socket may be wedged. */
  private disposeClient(client: Client): Promise<void> {
    const done = client.unbind().catch(() => undefined);
    return Promise.race([done, new Promise<void>((resolve) => setTimeout(resolve, this.timeoutMs).unref())]);
  }

  /** A client whose current connection is bound as `bindDn`, binding (once, for everyone) if needed. */
  private async boundClient(): Promise<Client> {
    const client = this.client;
    if (client.isBound) return client;
    if (this.binding) return this.binding;
    const binding = (async (): Promise<Client> => {
      try {
        await client.bind(this.bindDn, this.bindPassword);
        return client;
      } catch (err) {
        throw mapLdapError(err, this.context('bind'));
      }
    })();
    this.binding = binding;
    // Only this bind's own entry is cleared: after a deadline the slot may hold a newer one.
    const clear = (): void => {
      if (this.binding === binding) this.binding = undefined;
    };
    binding.then(clear, clear);
    return binding;
  }

  /**
   * Runs one operation on a bound client under an overall deadline (connect + bind + the
   * operation, with some slack), and maps every failure through {@link mapLdapError}.
   */
  private async run<T>(ctx: LdapErrorContext, op: (client: Client) => Promise<T>): Promise<T> {
    if (this.closed) throw new TargetUnreachableError(`LDAP target ${this.url} is closed`);
    const deadlineMs = this.connectTimeoutMs + 2 * this.timeoutMs + 1_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const wedged = this.client;
        // Whatever the old client is doing, the next operation starts on a fresh one.
        this.client = this.newClient();
        this.binding = undefined;
        void this.disposeClient(wedged);
        reject(
          new TargetUnreachableError(
            `LDAP server ${this.url} did not answer within ${deadlineMs} ms while ${describe(ctx)}`,
          ),
        );
      }, deadlineMs);
    });
    const attempt = async (): Promise<T> => {
      const client = await this.boundClient();
      // The bind resolved in an earlier tick; the connection may have dropped since. Starting the
      // operation now would let ldapts reconnect anonymously, so fail retryably instead.
      if (!client.isBound) {
        throw new TargetUnreachableError(`LDAP connection to ${this.url} was lost after binding`);
      }
      return op(client);
    };
    try {
      return await Promise.race([attempt(), deadline]);
    } catch (err) {
      throw mapLdapError(err, ctx);
    } finally {
      clearTimeout(timer);
    }
  }
}
