/**
 * Streamed exports of the audit log for admins and their SIEM: the whole hash chain (or a time
 * window of it) as JSON Lines, as CSV for spreadsheets, or as OCSF events, one per line.
 *
 * An export never holds the whole log: {@link exportAudit} reads the store one page at a time
 * (`readEvents`, in chain order) and yields each page as one string of lines, so an HTTP handler
 * can pipe it to the response and let the client's pace decide how fast the store is read:
 *
 * ```ts
 * const chunks = exportAudit(store, { format, since, until }); // throws InvalidQueryError now
 * res.type(contentTypeOf(format));
 * await pipeline(Readable.from(chunks), res);
 * ```
 *
 * **The time window scans the whole chain.** `since` and `until` are matched against each
 * event's `at`, but the store pages by chain position, not by time, and chain order is not
 * strictly time order (the workflow records some events beside the step they describe, and
 * refusals carry the clock of the server that saw them). So a window, however narrow, reads the
 * log from its first event to its last, and the lines come out in chain order, not sorted by
 * `at`. Events appended while an export runs may or may not be included.
 */
import { isIP } from 'node:net';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type {
  Actor,
  AwsIamCredentialsTargetRef,
  LdapTargetRef,
  PostgresTargetRef,
  TargetRef,
} from '../../workflows/definitions.js';
import { denyPolicyName, policyName, sessionName } from '../aws/iam-target.js';
import type { AuditEvent, AuditStore } from './audit-store.js';
import { InvalidQueryError } from './audit-store-errors.js';
import { eventRecord } from './hash-chain.js';

// ---------------------------------------------------------------------------------------------
// Formats and options

/** Every export format, as the `format` query parameter names them. */
export const EXPORT_FORMATS = ['jsonl', 'csv', 'ocsf'] as const;

/**
 * - `jsonl`: each stored event as one JSON object per line, every field included (`position`,
 *   `prevHash` and `hash` too, so a reader can re-verify the chain).
 * - `csv`: RFC 4180 with a header row, for spreadsheets (see {@link CSV_COLUMNS}).
 * - `ocsf`: each event mapped to an OCSF event (see {@link toOcsf}), one JSON object per line.
 */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What to export. */
export interface ExportOptions {
  format: ExportFormat;
  /**
   * Only events whose `at` is at or after this instant (inclusive). An ISO-8601 date and time
   * with a zone (`Z` or `±hh:mm`), such as `2025-01-31T00:00:00Z`.
   */
  since?: string;
  /** Only events whose `at` is strictly before this instant (exclusive); same form as `since`. */
  until?: string;
  /**
   * Events read from the store per page, and so the most lines in one yielded chunk. Default
   * {@link DEFAULT_EXPORT_PAGE_SIZE}; 1 to {@link MAX_EXPORT_PAGE_SIZE}.
   */
  pageSize?: number;
}

/** Events read per page when {@link ExportOptions.pageSize} is not given. */
export const DEFAULT_EXPORT_PAGE_SIZE = 1000;
/** Largest page accepted, so one chunk stays a few megabytes at most. */
export const MAX_EXPORT_PAGE_SIZE = 10_000;

/**
 * The `Content-Type` of an export. OCSF is newline-delimited JSON as well: one OCSF event per
 * line, the form SIEM collectors ingest.
 */
export function contentTypeOf(format: ExportFormat): string {
  switch (format) {
    case 'jsonl':
    case 'ocsf':
      return 'application/x-ndjson';
    case 'csv':
      return 'text/csv; charset=utf-8';
  }
}

/**
 * Streams the audit log in `opts.format`, one chunk (a page of complete lines) per yield; the
 * CSV header row comes first, alone. The store is read lazily: the next page is fetched only
 * when the consumer asks for the next chunk, so piping the generator to a slow client applies
 * backpressure all the way to the store. The time window scans the whole chain in chain order
 * (see the module comment).
 *
 * The options are checked before anything is read, so a bad request fails here, before a
 * response has started, rather than in the middle of the stream.
 *
 * @throws {@link InvalidQueryError} naming the option at fault (`format`, `since`, `until`,
 *   `pageSize`): an unknown format, an instant that is not ISO-8601 with a zone, `until` before
 *   `since`, or a page size out of range
 */
export function exportAudit(
  store: Pick<AuditStore, 'readEvents'>,
  opts: ExportOptions,
): AsyncGenerator<string, void, undefined> {
  const format = checkFormat(opts.format);
  const since = parseInstant('since', opts.since);
  const until = parseInstant('until', opts.until);
  if (since !== undefined && until !== undefined && until < since) {
    throw new InvalidQueryError('until', 'until must not be before since');
  }
  const pageSize = opts.pageSize ?? DEFAULT_EXPORT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_EXPORT_PAGE_SIZE) {
    throw new InvalidQueryError(
      'pageSize',
      `pageSize must be a whole number from 1 to ${MAX_EXPORT_PAGE_SIZE}`,
    );
  }
  const inWindow = (event: AuditEvent): boolean => {
    if (since === undefined && until === undefined) return true;
    const at = Date.parse(event.at);
    return (since === undefined || at >= since) && (until === undefined || at < until);
  };
  return streamPages(store, pageSize, inWindow, LINE_WRITERS[format], format === 'csv' ? CSV_HEADER : '');
}

async function* streamPages(
  store: Pick<AuditStore, 'readEvents'>,
  pageSize: number,
  inWindow: (event: AuditEvent) => boolean,
  line: (event: AuditEvent) => string,
  header: string,
): AsyncGenerator<string, void, undefined> {
  if (header) yield header;
  let after = 0;
  for (;;) {
    const events = await store.readEvents(after, pageSize);
    const lines: string[] = [];
    for (const event of events) if (inWindow(event)) lines.push(line(event));
    if (lines.length > 0) yield lines.join('');
    const last = events[events.length - 1];
    if (!last || events.length < pageSize) return;
    // A store that pages backwards would make this loop forever; refuse rather than spin.
    if (!(last.position > after)) {
      throw new Error(`audit store returned position ${last.position} after position ${after}`);
    }
    after = last.position;
    // SQLite reads synchronously: let the server breathe between pages of a long export, even
    // when the consumer is fast enough never to wait.
    await yieldToEventLoop();
  }
}

function checkFormat(format: unknown): ExportFormat {
  if (!(EXPORT_FORMATS as readonly unknown[]).includes(format)) {
    throw new InvalidQueryError('format', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
  }
  return format as ExportFormat;
}

/** A date, a time and a zone: without the zone an instant would depend on the server's. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Epoch milliseconds of an ISO-8601 instant, or undefined when not given. */
function parseInstant(field: 'since' | 'until', value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && ISO_INSTANT.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidQueryError(
      field,
      `${field} must be an ISO-8601 instant with a zone, e.g. 2025-01-31T00:00:00Z`,
    );
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// CSV

/** The CSV columns, in order; `data` is the event's data as JSON, `elevation_id` empty when none. */
export const CSV_COLUMNS = [
  'position',
  'id',
  'at',
  'type',
  'elevation_id',
  'seq',
  'actor_kind',
  'actor_id',
  'data',
  'prev_hash',
  'hash',
] as const;

const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

/**
 * Characters that make a spreadsheet read a cell as a formula (or, for tab and CR, that some
 * of them strip before doing so). A cell can hold text an outsider chose: an elevation id taken
 * from a refused request's URL, an approver's address.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell (RFC 4180): quoted when it holds `,`, `"`, CR or LF, with `"` doubled.
 *
 * Formula-injection guard: a value starting with `=`, `+`, `-`, `@`, tab or CR gets a leading
 * `'`, so a spreadsheet shows it as text instead of evaluating it. The cell then differs from
 * the stored value by that first character (a value that already started with `'` is left as
 * is, so the two cannot be told apart); use the `jsonl` format to re-verify the chain.
 */
export function csvCell(value: string): string {
  const guarded = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

function csvLine(event: AuditEvent): string {
  const cells = [
    String(event.position),
    event.id,
    event.at,
    event.type,
    event.elevationId ?? '',
    String(event.seq),
    event.actor.kind,
    event.actor.id,
    JSON.stringify(event.data),
    event.prevHash,
    event.hash,
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

const LINE_WRITERS: Record<ExportFormat, (event: AuditEvent) => string> = {
  jsonl: (event) => `${JSON.stringify(eventRecord(event))}\n`,
  csv: csvLine,
  ocsf: (event) => `${JSON.stringify(toOcsf(event))}\n`,
};

// ---------------------------------------------------------------------------------------------
// OCSF

/** The OCSF schema version the `ocsf` export follows (`metadata.version` of every event). */
export const OCSF_VERSION = '1.5.0';

/*
 * What OCSF allows is checked, not restated here: the tests validate every exported event
 * against a JSON Schema compiled from the OCSF 1.5.0 schema's own definitions
 * (`test/fixtures/ocsf/1.5.0/`, made by `scripts/compile-ocsf-schema.ts`): each class's and
 * object's attributes and no others, none deprecated, the required ones, OCSF's types and enum
 * values. The export applies no OCSF profile (`metadata.profiles`), so the attributes profiles
 * add are not used either: the Base Event and Detection Finding have no `actor`.
 */

interface OcsfClass {
  uid: number;
  name: string;
  categoryUid: number;
  categoryName: string;
  /** The activities of the class that the export uses, by id. */
  activities: Record<number, string>;
  /** Whether the class defines `actor` without a profile (the IAM classes do). */
  actor: boolean;
}

/** Detection Finding titles, types and severities of what someone did around Elevate's API. */
const FINDINGS = {
  'decision.refused': ['Forged decision sent to an elevation', 'Temporal access without approval', 'high'],
  'request.unverified': ['Elevation started around the API', 'Temporal access without approval', 'high'],
  'lease.orphaned': ['Grant outlived its elevation', 'Orphaned grant', 'medium'],
} as const;

const IAM = 'Identity & Access Management';
const CLASSES = {
  base: {
    uid: 0,
    name: 'Base Event',
    categoryUid: 0,
    categoryName: 'Uncategorized',
    activities: { 99: 'Other' },
    actor: false,
  },
  detectionFinding: {
    uid: 2004,
    name: 'Detection Finding',
    categoryUid: 2,
    categoryName: 'Findings',
    activities: { 1: 'Create' },
    actor: false,
  },
  accountChange: {
    uid: 3001,
    name: 'Account Change',
    categoryUid: 3,
    categoryName: IAM,
    activities: {
      2: 'Enable',
      4: 'Password Reset',
      5: 'Disable',
      7: 'Attach Policy',
      8: 'Detach Policy',
      9: 'Lock',
      12: 'Unlock',
    },
    actor: true,
  },
  authentication: {
    uid: 3002,
    name: 'Authentication',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 1: 'Logon' },
    actor: true,
  },
  authorizeSession: {
    uid: 3003,
    name: 'Authorize Session',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 1: 'Assign Privileges' },
    actor: true,
  },
  entityManagement: {
    uid: 3004,
    name: 'Entity Management',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 1: 'Create', 2: 'Read', 3: 'Update' },
    actor: true,
  },
  groupManagement: {
    uid: 3006,
    name: 'Group Management',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 3: 'Add User', 4: 'Remove User' },
    actor: true,
  },
} satisfies Record<string, OcsfClass>;

/**
 * The `class_uid` of every OCSF class {@link toOcsf} can produce. `scripts/compile-ocsf-schema.ts`
 * compiles these classes into the schema the tests validate the export against.
 */
export const OCSF_CLASS_UIDS: readonly number[] = Object.values(CLASSES).map((c) => c.uid);

const SEVERITY = {
  informational: [1, 'Informational'],
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
} as const;
type Severity = keyof typeof SEVERITY;

/** `status_id` and `status`; findings use their own scale, where a new finding is `New`. */
const STATUS = {
  unknown: [0, 'Unknown'],
  success: [1, 'Success'],
  failure: [2, 'Failure'],
  new: [1, 'New'],
} as const;
type Status = keyof typeof STATUS;

/** What one Elevate event becomes, before the attributes every OCSF event shares are added. */
interface Mapping {
  cls: OcsfClass;
  activity: number;
  severity: Severity;
  status: Status;
  message: string;
  /** The source's own code for the outcome (a refusal code). */
  statusCode?: string;
  /** Why it turned out as it did, in words. */
  statusDetail?: string;
  /** The class's own attributes. */
  fields: Record<string, unknown>;
}

/**
 * Maps one audit event to an OCSF 1.5.0 event (see {@link OCSF_VERSION}):
 *
 * - `grant.confirmed`: Group Management 3006 (Add User) for an LDAP group or PostgreSQL role;
 *   Account Change 3001 (Attach Policy, the policy in `policies`) for AWS IAM attach mode;
 *   Authorize Session 3003 (Assign Privileges) for the session issued in AWS credentials mode.
 * - `elevation.revoked` that removed the grant, and `drift.reverted`: Group Management 3006
 *   (Remove User) or Account Change 3001 (Detach Policy); for delivered AWS credentials that
 *   were still valid, Account Change 3001 (Attach Policy) of the policy denying the session.
 * - `drift.detected`: Detection Finding 2004 (Create), finding status New.
 * - `decision.refused`, `request.unverified` (someone sent a decision or started an elevation
 *   straight through Temporal, around the API's signature), and `lease.orphaned` (a grant whose
 *   workflow ended without revoking it): Detection Finding 2004 (Create), finding status New.
 * - an admin's change to a bot (`bot.locked`, `bot.unlocked`, `bot.disabled`, `bot.enabled`,
 *   `bot.key_rotated`): Account Change 3001 (Lock, Unlock, Disable, Enable, Password Reset) of
 *   the bot as the user; the admin's reason is in the message (the class has no `comment`).
 * - `auth.refused`: Authentication 3002 (Logon), Failure.
 * - `refusals.summarized`: Authentication 3002 (Logon), Failure, with `count`: the refusals
 *   before authentication of one kind that a window saw (only the first was recorded in full).
 * - `admin.signed_in`: Authentication 3002 (Logon), Success, MFA.
 * - `admin.action`: Entity Management 3004: Read of the audit trail for a verification (Failure
 *   when the chain is broken), Update of the elevation for anything else (a revocation asked for
 *   in the console).
 * - `elevation.requested`: Entity Management 3004 (Create) of the elevation.
 * - `request.refused`: Entity Management 3004, Create, Read or Update by HTTP method, Failure.
 * - `credentials.delivered` / `credentials.refused`: Entity Management 3004 (Read) of the
 *   session's credentials, Success / Failure.
 * - `audit.exported`: Entity Management 3004 (Read) of the audit trail.
 * - the rest of the elevation's lifecycle (`approval.accepted`, `elevation.approved`,
 *   `elevation.denied`, `elevation.expired`, `grant.failed`, `elevation.failed`,
 *   `revoke.started`, `revoke.failed`, `approval.refused`, `deny.refused`, `revoke.refused`):
 *   Entity Management 3004 (Update) of the elevation; refusals, denials, approval timeouts and
 *   failures with status Failure. A comment or justification goes in `comment`, which Entity
 *   Management defines.
 * - **any other type** (one added to `EVENT_TYPES` without a mapping here, or recorded by a
 *   newer Elevate): a Base Event 0, activity 99 Other, Failure when the type ends in `.refused`
 *   or `.failed` and Unknown otherwise (see {@link unmappedEvent}).
 *
 * An `elevation.revoked` that changed nothing in the target (other elevations still hold the
 * membership, the elevation was never granted, AWS credentials destroyed before delivery or
 * left to expire) is an Entity Management update, not a removal.
 *
 * Every event carries the base attributes (`class_uid`, `category_uid`, `activity_id`,
 * `type_uid` = class_uid × 100 + activity_id, `severity_id`, `time` in epoch milliseconds,
 * `metadata` with the OCSF version, the product, the event id as `uid`, the elevation id as
 * `correlation_uid` and the chain position as `sequence`), `status_id`, a `message`, the actor
 * in the classes that define one (not the Base Event nor the Detection Finding), and under
 * `unmapped` the Elevate event exactly as the `jsonl` export writes it, which keeps whatever
 * has no OCSF attribute of its own. Only attributes OCSF 1.5.0 defines for the class are used.
 * Never throws: an event whose data lacks what its class needs falls back to an Entity
 * Management update.
 */
export function toOcsf(event: AuditEvent): Record<string, unknown> {
  const m = mapEvent(event);
  const activityName = m.cls.activities[m.activity] ?? 'Other';
  const [severityId, severity] = SEVERITY[m.severity];
  const [statusId, status] = STATUS[m.status];
  const time = Date.parse(event.at);
  return compact({
    class_uid: m.cls.uid,
    class_name: m.cls.name,
    category_uid: m.cls.categoryUid,
    category_name: m.cls.categoryName,
    activity_id: m.activity,
    activity_name: activityName,
    type_uid: m.cls.uid * 100 + m.activity,
    type_name: `${m.cls.name}: ${activityName}`,
    severity_id: severityId,
    severity,
    status_id: statusId,
    status,
    status_code: m.statusCode,
    status_detail: m.statusDetail,
    // A stored `at` is always a valid instant; 0 keeps a damaged one from becoming null.
    time: Number.isFinite(time) ? time : 0,
    message: m.message,
    metadata: compact({
      version: OCSF_VERSION,
      product: { name: 'Elevate', vendor_name: 'Elevate' },
      uid: event.id,
      correlation_uid: event.elevationId ?? undefined,
      sequence: event.position,
      event_code: event.type,
      log_name: 'audit',
      original_time: event.at,
    }),
    actor: m.cls.actor ? actorOf(event.actor) : undefined,
    ...m.fields,
    unmapped: eventRecord(event),
  });
}

function mapEvent(event: AuditEvent): Mapping {
  const d = event.data;
  const id = event.elevationId ?? 'unknown';
  const update = (severity: Severity, status: Status, message: string, extra: Partial<Mapping> = {}) =>
    ({
      cls: CLASSES.entityManagement,
      activity: 3,
      severity,
      status,
      message,
      fields: { entity: elevationEntity(event) },
      ...extra,
    }) satisfies Mapping;

  switch (event.type) {
    case 'elevation.requested': {
      const bot = str(obj(d.bot)?.id) ?? event.actor.id;
      const role = str(obj(d.role)?.id) ?? '?';
      const justification = str(d.justification);
      const duration = num(d.durationSeconds);
      return {
        cls: CLASSES.entityManagement,
        activity: 1,
        severity: 'informational',
        status: 'success',
        message: `Bot ${bot} requested role ${role} for ${duration ?? '?'} s (elevation ${id})${justification ? `: ${justification}` : ''}`,
        fields: {
          entity: elevationEntity(event, {
            bot,
            role,
            durationSeconds: duration,
            justification,
            ticket: str(d.ticket),
            requestId: str(d.requestId),
          }),
          comment: justification,
        },
      };
    }
    case 'approval.accepted': {
      const approver = str(d.approver) ?? event.actor.id;
      const count = num(d.count);
      return update(
        'informational',
        'success',
        `${approver} approved elevation ${id}${count !== undefined ? ` (${count} approval${count === 1 ? '' : 's'} so far)` : ''}`,
        { fields: { entity: elevationEntity(event), comment: str(d.comment) } },
      );
    }
    case 'elevation.approved': {
      const approvers = Array.isArray(d.approvers) ? d.approvers.filter((a) => typeof a === 'string') : [];
      return update(
        'informational',
        'success',
        d.rule === 'auto'
          ? `Elevation ${id} approved automatically by its role's policy`
          : `Elevation ${id} approved${approvers.length > 0 ? ` by ${approvers.join(', ')}` : ''}`,
      );
    }
    case 'elevation.denied': {
      const reason = str(d.reason);
      return update(
        'low',
        'failure',
        `${event.actor.id} denied elevation ${id}${reason ? `: ${reason}` : ''}`,
        {
          statusDetail: reason ? `denied: ${reason}` : 'denied',
        },
      );
    }
    case 'elevation.expired':
      return update('low', 'failure', `Elevation ${id} expired: nobody decided within the approval window`, {
        statusDetail: 'approval_timeout',
      });
    case 'grant.failed': {
      const error = errorText(d.error);
      return update('medium', 'failure', `Granting elevation ${id} failed${error ? `: ${error}` : ''}`, {
        statusDetail: error,
      });
    }
    case 'grant.confirmed': {
      const receipt = obj(d.receipt);
      const target = targetOf(receipt?.target);
      const principal = str(receipt?.principal);
      const change =
        target && principal ? membershipChange(event, target, principal, 'add', receipt) : undefined;
      if (!target || !principal || !change) {
        return update('informational', 'success', `Grant of elevation ${id} confirmed`);
      }
      const shared = receipt?.alreadyPresent === true ? ' (already a member: the membership is shared)' : '';
      return {
        ...change,
        severity: 'informational',
        status: 'success',
        message: `Granted ${describeTarget(target, event.elevationId)} to ${principal} for elevation ${id}${shared}`,
      };
    }
    case 'elevation.failed': {
      const why = str(d.error) ?? str(d.reason);
      return update('medium', 'failure', `Elevation ${id} failed${why ? `: ${why}` : ''}`, {
        statusDetail: why,
      });
    }
    case 'revoke.started': {
      const reason = str(d.reason);
      return update(
        'informational',
        'success',
        `Revocation of elevation ${id} started${reason ? ` (${reason})` : ''}`,
        {
          fields: { entity: elevationEntity(event), comment: str(d.comment) },
        },
      );
    }
    case 'revoke.failed': {
      const error = errorText(d.error);
      const attempt = num(d.attempt);
      return update(
        'high',
        'failure',
        `Revocation${attempt !== undefined ? ` attempt ${attempt}` : ''} of elevation ${id} failed${error ? `: ${error}` : ''}; it is retried until the target confirms it`,
        { statusDetail: error },
      );
    }
    case 'elevation.revoked': {
      const reason = str(d.reason);
      const because = reason ? ` (${reason})` : '';
      const receipt = obj(d.receipt);
      const target = targetOf(receipt?.target);
      const principal = str(receipt?.principal);
      if (target && principal && receipt?.removed === true) {
        const change = membershipChange(event, target, principal, 'remove', receipt);
        if (change) {
          const session = str(obj(receipt.session)?.sessionName);
          return {
            ...change,
            severity: 'informational',
            status: 'success',
            message:
              target.type === 'aws-iam' && target.mode === 'credentials'
                ? `Denied AWS session ${session ?? '?'} of ${target.roleArn} until it expires: elevation ${id} ended${because}`
                : `Removed ${principal} from ${describeTarget(target, event.elevationId)}: elevation ${id} ended${because}`,
          };
        }
      }
      const stillHeldBy = Array.isArray(receipt?.stillHeldBy) ? receipt.stillHeldBy.map(String) : [];
      const session = obj(receipt?.session);
      const why =
        target && principal && receipt?.removed === false && stillHeldBy.length > 0
          ? `; ${principal} stays in ${describeTarget(target, event.elevationId)} for ${stillHeldBy.join(', ')}`
          : d.granted === false
            ? ' before it was granted'
            : session?.delivered === false
              ? '; its undelivered AWS credentials were destroyed'
              : session?.delivered === true
                ? '; its AWS session was left to expire'
                : '';
      return update('informational', 'success', `Elevation ${id} ended${because}${why}`, {
        fields: { entity: elevationEntity(event), comment: str(d.comment) },
      });
    }
    case 'approval.refused':
    case 'deny.refused':
    case 'revoke.refused': {
      const what = {
        'approval.refused': 'approval',
        'deny.refused': 'denial',
        'revoke.refused': 'revocation',
      }[event.type];
      const code = str(d.code);
      const detail = str(d.message);
      return update(
        'low',
        'failure',
        `Refused ${what} of elevation ${id} by ${event.actor.kind} ${event.actor.id}${code ? `: ${code}` : ''}${detail ? ` (${detail})` : ''}`,
        { statusCode: code, statusDetail: detail ?? code },
      );
    }
    case 'request.refused': {
      const method = str(d.method)?.toUpperCase();
      const path = str(d.path);
      const code = str(d.code);
      const detail = str(d.message);
      const activity = method === 'GET' ? 2 : method === 'POST' && event.elevationId === null ? 1 : 3;
      return update(
        'low',
        'failure',
        `Refused ${method ?? 'request'} ${path ?? ''} from ${event.actor.kind} ${event.actor.id}${code ? `: ${code}` : ''}${detail ? ` (${detail})` : ''}`,
        {
          activity,
          statusCode: code,
          statusDetail: detail ?? code,
          fields: { entity: elevationEntity(event), http_request: httpRequest(method, path) },
        },
      );
    }
    case 'credentials.delivered': {
      const session = str(d.sessionName);
      const expiration = str(d.expiration);
      return update(
        'informational',
        'success',
        `Temporary AWS credentials of elevation ${id}${session ? ` (session ${session}${expiration ? `, until ${expiration}` : ''})` : ''} delivered to ${event.actor.kind} ${event.actor.id}`,
        {
          activity: 2,
          fields: { entity: credentialsEntity(event, session, expiration), src_endpoint: endpoint(d.ip) },
        },
      );
    }
    case 'credentials.refused': {
      const reason = str(d.reason);
      const session = obj(d.session);
      return update(
        // A second fetch of delivered credentials may be a copied bot key or a replay.
        reason === 'already_delivered' ? 'medium' : 'low',
        'failure',
        `Refused the temporary AWS credentials of elevation ${id} to ${event.actor.kind} ${event.actor.id}${reason ? `: ${reason}` : ''}`,
        {
          activity: 2,
          statusCode: reason,
          statusDetail: reason,
          fields: {
            entity: credentialsEntity(event, str(session?.sessionName), str(session?.expiration)),
            src_endpoint: endpoint(d.ip),
          },
        },
      );
    }
    case 'audit.exported': {
      const format = str(d.format);
      return update(
        'informational',
        'success',
        `Audit trail exported${format ? ` as ${format}` : ''} by ${event.actor.kind} ${event.actor.id}${str(d.since) ? ` since ${str(d.since)}` : ''}${str(d.until) ? ` until ${str(d.until)}` : ''}`,
        {
          activity: 2,
          fields: { entity: auditTrailEntity({ format, since: str(d.since), until: str(d.until) }) },
        },
      );
    }
    case 'auth.refused': {
      const reason = str(d.reason);
      const method = str(d.method)?.toUpperCase();
      const path = str(d.path);
      const ip = str(d.ip);
      return {
        cls: CLASSES.authentication,
        activity: 1,
        severity: 'medium',
        status: 'failure',
        statusDetail: reason,
        message: `Refused credentials${reason ? ` (${reason})` : ''}${method || path ? ` for ${method ?? ''} ${path ?? ''}` : ''}${ip ? ` from ${ip}` : ''}`,
        fields: {
          user: compact({ ...actorUser(event.actor), credential_uid: str(d.credential) }),
          service: { name: 'Elevate' },
          src_endpoint: endpoint(ip),
          http_request: httpRequest(method, path),
        },
      };
    }
    case 'refusals.summarized': {
      const reason = str(d.reason);
      const route = str(d.route);
      const count = num(d.count);
      const network = str(d.network);
      return {
        cls: CLASSES.authentication,
        activity: 1,
        severity: 'medium',
        status: 'failure',
        statusDetail: reason,
        message: `Refused ${count ?? 'several'} ${str(d.of) ?? 'auth.refused'} attempts${reason ? ` (${reason})` : ''}${route ? ` for ${route}` : ''}${network ? ` from ${network}` : ''}${str(d.from) ? ` between ${str(d.from)} and ${str(d.to) ?? '?'}` : ''}`,
        fields: {
          user: compact({ ...actorUser(event.actor), credential_uid: str(d.credential) }),
          service: { name: 'Elevate' },
          ...(count !== undefined && Number.isInteger(count) && count >= 0 ? { count } : {}),
        },
      };
    }
    case 'drift.detected': {
      const target = targetOf(d.target);
      const principal = str(d.principal) ?? '?';
      const role = str(d.role) ?? '?';
      const action = str(d.action);
      const where = target ? describeTarget(target, null) : `role ${role}`;
      const message = `${principal} holds role ${role} (${where}) but no elevation explains it${action === 'revert' ? '; it is being removed' : ''}`;
      return {
        cls: CLASSES.detectionFinding,
        activity: 1,
        severity: 'high',
        status: 'new',
        message,
        fields: {
          finding_info: {
            uid: event.id,
            title: `Unexplained member of role ${role}`,
            desc: message,
            types: ['Privilege drift'],
            created_time: Date.parse(event.at) || 0,
          },
          resources: target ? [targetResource(target, role)] : undefined,
          is_alert: true,
        },
      };
    }
    case 'decision.refused':
    case 'request.unverified':
    case 'lease.orphaned': {
      const [title, type, severity] = FINDINGS[event.type];
      const message =
        event.type === 'lease.orphaned'
          ? `The grant of elevation ${id} outlived its workflow ${str(d.workflowId) ?? ''} (${str(d.workflowStatus) ?? 'not running'}); reconciliation revokes it`
          : event.type === 'decision.refused'
            ? `Refused a ${str(d.decision) ?? ''} decision for elevation ${id} sent around Elevate's API (${str(d.code) ?? '?'}): ${str(d.message) ?? ''}`
            : `Refused an elevation workflow started around Elevate's API (${str(d.code) ?? '?'}): ${str(d.message) ?? ''}`;
      return {
        cls: CLASSES.detectionFinding,
        activity: 1,
        severity,
        status: 'new',
        message,
        fields: {
          finding_info: {
            uid: event.id,
            title,
            desc: message,
            types: [type],
            created_time: Date.parse(event.at) || 0,
          },
          is_alert: true,
        },
      };
    }
    case 'drift.reverted': {
      const target = targetOf(d.target);
      const principal = str(d.principal);
      const role = str(d.role) ?? '?';
      const change = target && principal ? membershipChange(event, target, principal, 'remove') : undefined;
      const message = `Removed ${principal ?? 'a member'} that no elevation explained from ${target ? describeTarget(target, null) : `role ${role}`}`;
      if (change) return { ...change, severity: 'medium', status: 'success', message };
      return update('medium', 'success', message);
    }
    case 'bot.locked':
    case 'bot.unlocked':
    case 'bot.disabled':
    case 'bot.enabled':
    case 'bot.key_rotated': {
      const [activity, verb, severity] = BOT_CHANGES[event.type];
      const bot = str(d.botId);
      const reason = str(d.reason);
      const because = reason ? `: ${reason}` : '';
      const revoked = Array.isArray(d.revoked) ? d.revoked.length : undefined;
      const tail =
        event.type === 'bot.locked' && revoked !== undefined
          ? ` (${revoked} elevation${revoked === 1 ? '' : 's'} revoked)`
          : '';
      const message = `${event.actor.kind} ${event.actor.id} ${verb} bot ${bot ?? '?'}${because}${tail}`;
      if (!bot) return update(severity, 'success', message);
      return {
        cls: CLASSES.accountChange,
        activity,
        severity,
        status: 'success',
        message,
        // Account Change has no `comment`: the reason is in the message (and under `unmapped`).
        fields: { user: { uid: bot, name: bot, type: 'Bot', type_id: 99 } },
      };
    }
    case 'admin.signed_in': {
      const ip = str(d.ip);
      const method = str(d.mfaMethod);
      return {
        cls: CLASSES.authentication,
        activity: 1,
        severity: 'informational',
        status: 'success',
        message: `${event.actor.id} signed in to the admin console${method ? ` with MFA (${method})` : ''}${ip ? ` from ${ip}` : ''}`,
        fields: {
          user: compact({ ...actorUser(event.actor), uid_alt: str(d.subject) }),
          service: { name: 'Elevate admin console' },
          src_endpoint: endpoint(ip),
          is_mfa: true,
        },
      };
    }
    case 'admin.action': {
      const action = str(d.action) ?? 'action';
      const via = str(d.via);
      const by = `${event.actor.kind} ${event.actor.id}${via ? ` (${via})` : ''}`;
      if (action === 'verify_audit') {
        const ok = d.ok === true;
        return update(
          ok ? 'informational' : 'high',
          ok ? 'success' : 'failure',
          `Audit chain verified by ${by}: ${ok ? 'intact' : 'broken'}`,
          {
            activity: 2,
            fields: {
              entity: auditTrailEntity({
                ok: d.ok,
                checked: d.checked,
                head: d.head,
                firstBroken: d.firstBroken,
              }),
            },
          },
        );
      }
      const reason = str(d.reason);
      return update(
        'low',
        'success',
        `${by} asked to ${action.replace(/_/g, ' ')}${event.elevationId ? ` ${event.elevationId}` : ''}${reason ? `: ${reason}` : ''}`,
        { fields: { entity: elevationEntity(event), comment: reason } },
      );
    }
    default:
      return unmappedEvent(event);
  }
}

/**
 * The default for an event type {@link mapEvent} does not map specially (one added to
 * `EVENT_TYPES` without a mapping here, or one recorded by a newer version of Elevate): a Base
 * Event (class 0), activity 99 Other, severity Informational. Its status is Failure when the type
 * ends in `.refused` or `.failed` (how Elevate names refusals and failures), Unknown otherwise.
 * The Base Event has no `actor`, so the message names who did it; the event itself is under
 * `unmapped` like every other, and its elevation in `metadata.correlation_uid`.
 */
function unmappedEvent(event: AuditEvent): Mapping {
  const type = String(event.type);
  const refusedOrFailed = /\.(refused|failed)$/.test(type);
  return {
    cls: CLASSES.base,
    activity: 99,
    severity: 'informational',
    status: refusedOrFailed ? 'failure' : 'unknown',
    message: `Elevate event ${type}${event.elevationId ? ` of elevation ${event.elevationId}` : ''} recorded for ${event.actor.kind} ${event.actor.id}`,
    fields: {},
  };
}

/** An admin's change to a bot: its Account Change activity, the verb for the message, the severity. */
const BOT_CHANGES: Record<
  'bot.locked' | 'bot.unlocked' | 'bot.disabled' | 'bot.enabled' | 'bot.key_rotated',
  [number, string, Severity]
> = {
  'bot.locked': [9, 'locked down', 'medium'],
  'bot.unlocked': [12, 'unlocked', 'low'],
  'bot.disabled': [5, 'disabled', 'low'],
  'bot.enabled': [2, 'enabled', 'informational'],
  'bot.key_rotated': [4, 'rotated the API key of', 'low'],
};

/** The class, activity and attributes of a membership change in a target, when a class fits. */
function membershipChange(
  event: AuditEvent,
  target: TargetRef,
  principal: string,
  change: 'add' | 'remove',
  receipt?: Record<string, unknown>,
): Pick<Mapping, 'cls' | 'activity' | 'fields'> | undefined {
  const add = change === 'add';
  switch (target.type) {
    case 'ldap':
      return {
        cls: CLASSES.groupManagement,
        activity: add ? 3 : 4,
        fields: {
          group: targetGroup(target),
          user: principalUser(principal, firstRdnValue(principal)),
        },
      };
    case 'postgres':
      return {
        cls: CLASSES.groupManagement,
        activity: add ? 3 : 4,
        fields: {
          group: targetGroup(target),
          user: { ...principalUser(principal, principal), domain: target.server },
        },
      };
    case 'aws-iam':
      if (target.mode === 'attach') {
        return {
          cls: CLASSES.accountChange,
          activity: add ? 7 : 8,
          fields: {
            user: awsUser(principal),
            policies: event.elevationId
              ? [
                  {
                    name: policyName(event.elevationId),
                    desc: `Elevate policy of elevation ${event.elevationId}`,
                  },
                ]
              : undefined,
          },
        };
      }
      return credentialsChange(event, target, principal, change, obj(receipt?.session));
  }
}

/**
 * AWS credentials mode. Issuing the session assigns the role's privileges to it (Authorize
 * Session). Taking them back is a change only when the bot had the credentials and they were
 * still valid: then a policy denying the session is put on the role (Account Change, Attach
 * Policy); credentials destroyed before delivery, or left to expire, changed nothing in AWS.
 */
function credentialsChange(
  event: AuditEvent,
  target: AwsIamCredentialsTargetRef,
  principal: string,
  change: 'add' | 'remove',
  session: Record<string, unknown> | undefined,
): Pick<Mapping, 'cls' | 'activity' | 'fields'> | undefined {
  const name = str(session?.sessionName) ?? (event.elevationId ? sessionName(event.elevationId) : undefined);
  if (change === 'add') {
    const expires = Date.parse(str(session?.expiration) ?? '');
    return {
      cls: CLASSES.authorizeSession,
      activity: 1,
      fields: {
        user: awsUser(principal),
        privileges: [target.roleArn],
        session: name
          ? compact({ uid: name, expiration_time: Number.isFinite(expires) ? expires : undefined })
          : undefined,
      },
    };
  }
  if (session?.denied !== true) return undefined;
  return {
    cls: CLASSES.accountChange,
    activity: 7,
    fields: {
      user: awsUser(target.roleArn),
      // A policy needs a name or uid; without the elevation id there is none to give.
      policies: event.elevationId
        ? [
            {
              name: denyPolicyName(event.elevationId),
              desc: `Denies AWS session ${name ?? '?'} until it expires`,
            },
          ]
        : undefined,
    },
  };
}

function describeTarget(target: TargetRef, elevationId: string | null): string {
  switch (target.type) {
    case 'ldap':
      return `LDAP group ${target.groupDn}`;
    case 'postgres':
      return `PostgreSQL role ${target.role} on ${target.server}`;
    case 'aws-iam':
      return target.mode === 'attach'
        ? `AWS IAM policy ${elevationId ? policyName(elevationId) : '(elevation policy)'}`
        : `temporary AWS credentials for ${target.roleArn}`;
  }
}

/** An LDAP group or PostgreSQL role as OCSF names it: a Group Management `group`, a finding's resource. */
function targetGroup(target: LdapTargetRef | PostgresTargetRef): Record<string, unknown> {
  return target.type === 'ldap'
    ? { uid: target.groupDn, name: firstRdnValue(target.groupDn), type: 'LDAP group' }
    : { uid: `${target.server}/${target.role}`, name: target.role, type: 'PostgreSQL role' };
}

/** A Detection Finding's affected resource: the role's target. */
function targetResource(target: TargetRef, role: string): Record<string, unknown> {
  switch (target.type) {
    case 'ldap':
    case 'postgres':
      return { ...targetGroup(target), data: { role } };
    case 'aws-iam':
      return target.mode === 'attach'
        ? { name: role, type: 'AWS IAM policy', data: { role } }
        : { uid: target.roleArn, name: role, type: 'AWS IAM role', data: { role } };
  }
}

/** The elevation as OCSF's managed entity (`type_id` 99: Other, a type of Elevate's own). */
function elevationEntity(event: AuditEvent, data?: Record<string, unknown>): Record<string, unknown> {
  return compact({
    uid: event.elevationId ?? undefined,
    name: event.elevationId ?? 'elevation',
    type: 'Elevation',
    type_id: 99,
    data: data ? compact(data) : undefined,
  });
}

/** The audit trail itself as a managed entity (an export, a verification), with `data` about it. */
function auditTrailEntity(data: Record<string, unknown>): Record<string, unknown> {
  return { name: 'audit trail', type: 'Audit trail', type_id: 99, data: compact(data) };
}

/** The temporary credentials of an elevation's AWS session, as a managed entity. */
function credentialsEntity(
  event: AuditEvent,
  session: string | undefined,
  expiration: string | undefined,
): Record<string, unknown> {
  return compact({
    uid: session,
    name: session ?? `credentials of ${event.elevationId ?? 'an unknown elevation'}`,
    type: 'AWS session credentials',
    type_id: 99,
    data: compact({ elevationId: event.elevationId ?? undefined, expiration }),
  });
}

/**
 * The caller's address as an OCSF network endpoint, when recorded and an IP address as OCSF's
 * `ip_t` has it (at most 40 characters); anything else stays only under `unmapped`.
 */
function endpoint(ip: unknown): Record<string, unknown> | undefined {
  return typeof ip === 'string' && isIP(ip) !== 0 && ip.length <= 40 ? { ip } : undefined;
}

/** OCSF 1.5.0's pattern of an e-mail address (`email_t`), so `email_addr` holds only what it allows. */
const OCSF_EMAIL = /^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;

/** OCSF `user.type_id`: 0 Unknown, 1 User, 2 Admin, 3 System, 99 Other. */
function actorUser(actor: Actor): Record<string, unknown> {
  switch (actor.kind) {
    case 'human':
      return compact({
        name: actor.id,
        uid: actor.id,
        email_addr: OCSF_EMAIL.test(actor.id) ? actor.id : undefined,
        type: 'User',
        type_id: 1,
      });
    case 'admin':
      return { name: actor.id, uid: actor.id, type: 'Admin', type_id: 2 };
    case 'system':
      return { name: actor.id, uid: actor.id, type: 'System', type_id: 3 };
    case 'bot':
      return { name: actor.id, uid: actor.id, type: 'Bot', type_id: 99 };
    default:
      return { name: actor.id, type: 'Unknown', type_id: 0 };
  }
}

function actorOf(actor: Actor): Record<string, unknown> {
  return actor.kind === 'system'
    ? { app_name: 'Elevate', user: actorUser(actor) }
    : { user: actorUser(actor) };
}

/** A bot as the user a target grants to: its identity there. */
function principalUser(principal: string, name: string): Record<string, unknown> {
  return { uid: principal, name, type: 'Bot', type_id: 99 };
}

/** An IAM role or user ARN as an OCSF user (name: the part after the last `/`). */
function awsUser(arn: string): Record<string, unknown> {
  const kind = /:role\//.test(arn) ? 'AWS IAM Role' : /:user\//.test(arn) ? 'AWS IAM User' : 'AWS principal';
  return { uid: arn, name: arn.slice(arn.lastIndexOf('/') + 1) || arn, type: kind, type_id: 99 };
}

function httpRequest(
  method: string | undefined,
  path: string | undefined,
): Record<string, unknown> | undefined {
  if (!method && !path) return undefined;
  return compact({ http_method: method, url: path ? { path } : undefined });
}

/** The value of a DN's first RDN (`ops` of `cn=ops,ou=groups,...`), for display; the DN otherwise. */
function firstRdnValue(dn: string): string {
  let end = dn.length;
  for (let i = 0; i < dn.length; i += 1) {
    if (dn[i] === '\\') i += 1;
    else if (dn[i] === ',' || dn[i] === '+') {
      end = i;
      break;
    }
  }
  const rdn = dn.slice(0, end);
  const eq = rdn.indexOf('=');
  const value = eq >= 0 ? rdn.slice(eq + 1).trim() : '';
  return value || dn;
}

/** A stored target reference, when `value` is one. */
function targetOf(value: unknown): TargetRef | undefined {
  const t = obj(value);
  if (!t) return undefined;
  if (t.type === 'ldap' && typeof t.groupDn === 'string') return { type: 'ldap', groupDn: t.groupDn };
  if (t.type === 'postgres' && typeof t.server === 'string' && typeof t.role === 'string') {
    return { type: 'postgres', server: t.server, role: t.role };
  }
  if (t.type === 'aws-iam' && t.mode === 'attach' && typeof t.policyDocument === 'string') {
    return { type: 'aws-iam', mode: 'attach', policyDocument: t.policyDocument };
  }
  if (t.type === 'aws-iam' && t.mode === 'credentials' && typeof t.roleArn === 'string') {
    return { type: 'aws-iam', mode: 'credentials', roleArn: t.roleArn };
  }
  return undefined;
}

/** `type: message` of a recorded error summary. */
function errorText(value: unknown): string | undefined {
  const e = obj(value);
  if (!e) return str(value);
  const type = str(e.type);
  const message = str(e.message);
  return type && message ? `${type}: ${message}` : (message ?? type);
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The object without its undefined attributes, so absent means absent in code as in JSON. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
