/**
 * Reads what slapd's own access log (the `accesslog` overlay, on with
 * `startSlapd({ accessLog: true })`) recorded about group memberships: every `member` value
 * that a successful modify added or deleted, and when slapd made that change. This is how a
 * benchmark times a removal by the directory's record rather than by the caller's receipt.
 *
 * Which time. In OpenLDAP 2.5 (2.5.13 checked, and unchanged in its current source) the
 * fraction in `reqStart` and `reqEnd` is not a fraction of a second: it is a counter that keeps
 * the values unique within one second (`slap_op_time`'s `o_tincr`, printed as `.%06d`), so
 * `20261207034611.000003Z` is a sequence number within that second, at whatever moment in it.
 * Both are whole-second times. The sub-second time the log holds is the change's CSN (the log
 * entry's `entryCSN`, the same CSN the modified group receives), which slapd takes with
 * microseconds from the clock as it starts applying the modify; its result follows once the
 * database write (and the log's own) has committed: 0.5–1.3 ms later when checked with slapd's
 * `etime` on a few modifies. So {@link MemberValueChange.at} is the CSN's time, and
 * {@link MemberValueChange.endSecond} the whole second of `reqEnd`, in which the modify completed.
 */
import { Client } from 'ldapts';
import { ACCESS_LOG_SUFFIX } from './slapd-server.js';

/** One `member` value added or deleted by a successful modify, as slapd logged it. */
export interface MemberValueChange {
  kind: 'add' | 'delete';
  /** The modified group (`reqDN`), as the client sent it. */
  groupDn: string;
  /** The value added or deleted, as the client sent it (compare DNs with `sameDn`). */
  memberDn: string;
  /** Epoch milliseconds, microseconds kept as the fraction: the change's CSN time. */
  at: number;
  /** Epoch milliseconds of the whole second in which slapd completed the modify (`reqEnd`). */
  endSecond: number;
  /** The log entry's `reqStart`, unique per modify: changes with equal values came in one modify. */
  modify: string;
}

/** Where to read the log when no bound client is given. */
export interface AccessLogBind {
  url: string;
  /** Must be the logged database's root DN: the log is readable by it alone. */
  bindDn: string;
  bindPassword: string;
}

/** Options of {@link readMemberChanges}. */
export interface ReadMemberChangesOptions {
  /** Only changes stamped at or after this instant (epoch milliseconds or a Date). */
  since: number | Date;
  /** The log's suffix (default {@link ACCESS_LOG_SUFFIX}). */
  base?: string;
  /** The membership attribute (default `member`), compared case-insensitively. */
  attribute?: string;
  /** Entries per page of the paged search (default 500). */
  pageSize?: number;
}

/** A log entry or value that does not have the shape slapd writes. */
export class AccessLogFormatError extends Error {
  override readonly name = 'AccessLogFormatError';
}

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?Z$/;

/**
 * Epoch milliseconds of a UTC generalized time with seconds (`20261207043012.123456Z`), the
 * fraction kept below the millisecond.
 *
 * @throws {AccessLogFormatError} for any other form (local times and offsets included).
 */
export function parseGeneralizedTime(text: string): number {
  const m = GENERALIZED_TIME.exec(text);
  if (!m) throw new AccessLogFormatError(`not a UTC generalized time: ${JSON.stringify(text)}`);
  // The pattern makes all six present; the defaults only satisfy the type checker.
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number);
  const whole = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(whole);
  // Date.UTC rolls 20261332… over into the next year instead of refusing it.
  const back = [d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  if (back.join() !== [month, day, hour, minute, second].join()) {
    throw new AccessLogFormatError(`not a valid time: ${JSON.stringify(text)}`);
  }
  const fraction = m[7];
  return fraction === undefined ? whole : whole + Number(`0.${fraction}`) * 1000;
}

/** Epoch milliseconds (microseconds kept) of a CSN: `<generalized time>#<count>#<sid>#<mod>`. */
export function parseCsnTime(csn: string): number {
  const time = csn.split('#')[0] ?? '';
  if (!csn.includes('#')) throw new AccessLogFormatError(`not a CSN: ${JSON.stringify(csn)}`);
  return parseGeneralizedTime(time);
}

/** One `reqMod` value: `attr:+ value` (add), `attr:- value` (delete), `attr:=` (replace)… */
export interface ReqMod {
  attribute: string;
  op: '+' | '-' | '=' | '#';
  /** Absent when the modification names no value (`member:-` deletes every value). */
  value?: string;
}

const REQ_MOD = /^([^:]+):([-+=#])(?: ([\s\S]*))?$/;

/** Parses one `reqMod` value; undefined when it has another shape. */
export function parseReqMod(text: string): ReqMod | undefined {
  const m = REQ_MOD.exec(text);
  if (!m) return undefined;
  const value = m[3];
  return value === undefined || value === ''
    ? { attribute: m[1]!, op: m[2] as ReqMod['op'] }
    : { attribute: m[1]!, op: m[2] as ReqMod['op'], value };
}

function one(entry: Record<string, unknown>, name: string): string | undefined {
  const v = entry[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

function many(entry: Record<string, unknown>, name: string): string[] {
  const v = entry[name];
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** `reqStart >=` this matches whole seconds only, so the search starts two seconds early. */
function searchFrom(sinceMs: number): string {
  const d = new Date(Math.floor(sinceMs / 1000) * 1000 - 2000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`
  );
}

/** The member changes of one log entry, in the order the modify listed them. */
function changesOf(entry: Record<string, unknown>, attribute: string): MemberValueChange[] {
  const modify = one(entry, 'reqStart');
  const groupDn = one(entry, 'reqDN');
  if (modify === undefined || groupDn === undefined) {
    throw new AccessLogFormatError(`log entry ${String(entry['dn'])} has no reqStart or reqDN`);
  }
  const csn = one(entry, 'entryCSN');
  // A write logged without a CSN (none has been seen) would leave only the whole second.
  const endSecond = Math.floor(parseGeneralizedTime(one(entry, 'reqEnd') ?? modify) / 1000) * 1000;
  const at = csn === undefined ? endSecond : parseCsnTime(csn);
  const changes: MemberValueChange[] = [];
  for (const text of many(entry, 'reqMod')) {
    const mod = parseReqMod(text);
    if (!mod || mod.attribute.toLowerCase() !== attribute || mod.value === undefined) continue;
    if (mod.op === '+' || mod.op === '-') {
      changes.push({
        kind: mod.op === '+' ? 'add' : 'delete',
        groupDn,
        memberDn: mod.value,
        at,
        endSecond,
        modify,
      });
    }
  }
  return changes;
}

/**
 * Every `member` value added or deleted by a successful modify since `options.since`, oldest
 * first; several from one modify (a batch) share `at` and `modify` and keep the modify's order.
 * Replacing the attribute or deleting all its values at once names no single member, so those
 * modifies are left out.
 *
 * @param source a client bound as the logged database's root DN (left bound and open), or where
 *   and as whom to bind (the connection is closed again).
 * @throws {AccessLogFormatError} when an entry lacks what slapd always writes; LDAP errors as
 *   ldapts throws them (`NoSuchObjectError` when slapd runs without the access log).
 */
export async function readMemberChanges(
  source: Client | AccessLogBind,
  options: ReadMemberChangesOptions,
): Promise<MemberValueChange[]> {
  if (!(source instanceof Client)) {
    const client = new Client({ url: source.url });
    try {
      await client.bind(source.bindDn, source.bindPassword);
      return await readMemberChanges(client, options);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
  const since = typeof options.since === 'number' ? options.since : options.since.getTime();
  const attribute = (options.attribute ?? 'member').toLowerCase();
  const changes: MemberValueChange[] = [];
  const pages = source.searchPaginated(options.base ?? ACCESS_LOG_SUFFIX, {
    scope: 'one',
    filter: `(&(reqType=modify)(reqResult=0)(reqStart>=${searchFrom(since)}))`,
    attributes: ['reqStart', 'reqEnd', 'reqDN', 'reqMod', 'entryCSN'],
    paged: { pageSize: options.pageSize ?? 500 },
  });
  for await (const page of pages) {
    for (const entry of page.searchEntries) {
      for (const change of changesOf(entry, attribute)) if (change.at >= since) changes.push(change);
    }
  }
  // Stable: values of one modify stay in the order it listed them.
  return changes.sort((a, b) => a.at - b.at || (a.modify < b.modify ? -1 : a.modify > b.modify ? 1 : 0));
}
