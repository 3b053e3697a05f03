/**
 * Streamed exports of the audit log for admins and their SIEM: the whole hash chain (or a time
 * window of it) as JSON Lines, as CSV for spreadsheets, or as OCSF events, one per line.
 *
 * An export never holds the whole log: {@link exportAudit} reads the store one page at a time
 * (`readEvents`, in chain order) and yields each page as one string of lines, so an HTTP handler
 * can pipe it to the response and let the client's pace decide how fast the store is read:
 *
 * ```ts
 * const chunks = exportAudit(store, { format, since, until }); // throws InvalidExportError now
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
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { eventRecord } from '../../core/crypto/hash-chain.js';
import { riskDecisionSchema } from '../../core/model/risk-records.js';
import { toOcsf } from './ocsf.js';

/** Where an export reads the log: pages in chain order (the audit log, `store/audit-log.ts`). */
export interface AuditEventPages {
  readEvents(afterPosition: number, limit: number): Promise<AuditEvent[]>;
}

/** An export option is out of range; nothing was read. The HTTP layer answers 400 naming `field`. */
export class InvalidExportError extends Error {
  readonly code = 'invalid_query';

  /** @param field - the option at fault */
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidExportError';
  }
}

export { OCSF_CLASS_UIDS, OCSF_VERSION, toOcsf } from './ocsf.js';

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
 * @throws {@link InvalidExportError} naming the option at fault (`format`, `since`, `until`,
 *   `pageSize`): an unknown format, an instant that is not ISO-8601 with a zone, `until` before
 *   `since`, or a page size out of range
 */
export function exportAudit(
  store: AuditEventPages,
  opts: ExportOptions,
): AsyncGenerator<string, void, undefined> {
  const format = checkFormat(opts.format);
  const since = parseInstant('since', opts.since);
  const until = parseInstant('until', opts.until);
  if (since !== undefined && until !== undefined && until < since) {
    throw new InvalidExportError('until', 'until must not be before since');
  }
  const pageSize = opts.pageSize ?? DEFAULT_EXPORT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_EXPORT_PAGE_SIZE) {
    throw new InvalidExportError(
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
  store: AuditEventPages,
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
    throw new InvalidExportError('format', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
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
    throw new InvalidExportError(
      field,
      `${field} must be an ISO-8601 instant with a zone, e.g. 2025-01-31T00:00:00Z`,
    );
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// CSV

/**
 * The CSV columns, in order; `data` is the event's data as JSON, `elevation_id` empty when none.
 * The last three repeat the risk score an event records (`elevation.requested`, and
 * `elevation.denied` when the score denied it), so a spreadsheet can sort and filter on it;
 * empty for every other event. `risk_reasons` lists `code +points: sentence`, joined by `; `.
 */
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
  'risk_score',
  'risk_level',
  'risk_reasons',
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
    ...riskCells(event),
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** `risk_score`, `risk_level` and `risk_reasons` of an event that records a score; empty otherwise. */
function riskCells(event: AuditEvent): [string, string, string] {
  const recorded = (event.data as { risk?: unknown } | null)?.risk;
  const risk = recorded === undefined ? undefined : riskDecisionSchema.safeParse(recorded).data;
  if (!risk) return ['', '', ''];
  return [
    String(risk.score),
    risk.level,
    risk.reasons.map((r) => `${r.code} +${r.points}: ${r.text}`).join('; '),
  ];
}

const LINE_WRITERS: Record<ExportFormat, (event: AuditEvent) => string> = {
  jsonl: (event) => `${JSON.stringify(eventRecord(event))}\n`,
  csv: csvLine,
  ocsf: (event) => `${JSON.stringify(toOcsf(event))}\n`,
};
