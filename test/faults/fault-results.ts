/**
 * The fault suite's results table. Each test file records its rows (one per kind of fault) in
 * test-artifacts/faults/; the suite's global teardown prints them all as one table, with the
 * machine and the date, and writes it to test-artifacts/faults/results.md (and, with
 * FAULT_RECORD=1, into docs/reliability.md between its result markers).
 */
import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { faultSettings } from './fault-settings.js';

export interface FaultRow {
  /** Sort key: the table lists faults in the suite's order, not the order files ended. */
  order: number;
  fault: string;
  runs: number;
  lostRevocations: number;
  leftoverGrants: number;
  activeWithoutGrant: number;
  /**
   * Grants removed before their window's end by the true clock (clock-skew.test.ts measures it
   * in the target; `–` where a file does not).
   */
  earlyRemovals?: number;
  /** Largest delay from a window's end (or a target's recovery) to the confirmed removal. */
  maxRevocationDelayMs?: number;
  missingEvents: number;
  repeatedEvents: number;
  /** Whether the audit chain verified at the end of the test file that made the row. */
  chainVerified: boolean;
  note?: string;
}

export const RESULTS_DIR = path.resolve(import.meta.dirname, '../../test-artifacts/faults');
const ROWS_DIR = path.join(RESULTS_DIR, 'rows');
const DOC = path.resolve(import.meta.dirname, '../../docs/reliability.md');
const START = '<!-- fault-results:start -->';
const END = '<!-- fault-results:end -->';

/** Forget the rows and progress of an earlier run (global setup). */
export function clearRows(): void {
  rmSync(ROWS_DIR, { recursive: true, force: true });
  rmSync(path.join(RESULTS_DIR, 'progress.log'), { force: true });
  mkdirSync(ROWS_DIR, { recursive: true });
}

/** One line of progress in test-artifacts/faults/progress.log, for a long run watched from outside. */
export function progress(line: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  appendFileSync(path.join(RESULTS_DIR, 'progress.log'), `${new Date().toISOString()} ${line}\n`);
}

/** Record a test file's rows and print them. */
export function recordRows(file: string, rows: FaultRow[]): void {
  mkdirSync(ROWS_DIR, { recursive: true });
  writeFileSync(path.join(ROWS_DIR, `${file}.json`), JSON.stringify(rows, null, 2));
  console.log(`\n${renderTable(rows)}\n`);
}

function readRows(): FaultRow[] {
  let files: string[];
  try {
    files = readdirSync(ROWS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .flatMap((f) => JSON.parse(readFileSync(path.join(ROWS_DIR, f), 'utf8')) as FaultRow[])
    .sort((a, b) => a.order - b.order);
}

const seconds = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);

/** The rows as a Markdown table. */
export function renderTable(rows: FaultRow[]): string {
  const head =
    '| Fault | Runs | Lost revocations | Leftover grants | Active without grant | Early removals | Max revocation delay | Missing audit events | Repeated audit events | Chain verifies | Notes |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |';
  const body = rows.map(
    (r) =>
      `| ${r.fault} | ${r.runs} | ${r.lostRevocations} | ${r.leftoverGrants} | ${r.activeWithoutGrant} | ${r.earlyRemovals ?? '–'} | ${seconds(r.maxRevocationDelayMs)} | ${r.missingEvents} | ${r.repeatedEvents} | ${r.chainVerified ? 'yes' : 'NO'} | ${r.note ?? ''} |`,
  );
  return [head, ...body].join('\n');
}

/** The machine and the run's settings, as a line above the table. */
export function machineLine(date = new Date()): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() named it
  }
  const s = faultSettings;
  return (
    `Run of ${date.toISOString().slice(0, 10)} on ${cpus().length} cores (nproc), ${model}, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}; ` +
    `FAULT_RUNS=${s.runs} FAULT_DOWN_SECONDS=${s.downSeconds} FAULT_EXPIRIES=${s.expiriesWhileDown} ` +
    `FAULT_TEMPORAL_DOWN_SECONDS=${s.temporalDownSeconds} FAULT_STORE=${s.store} FAULT_SEED=${s.seed}.`
  );
}

/** Global teardown: the whole table, printed and written. */
export async function publishResults(elapsedMs: number, keptRows = false): Promise<void> {
  const rows = readRows();
  if (rows.length === 0) return;
  const took = keptRows
    ? `This invocation: ${Math.round(elapsedMs / 1000)} s; the rows of files it did not run are kept from an earlier one (FAULT_KEEP_ROWS=1).`
    : `Whole suite: ${Math.round(elapsedMs / 1000)} s.`;
  const text = `${machineLine()} ${took}\n\n${renderTable(rows)}\n`;
  console.log(`\nFault suite results\n\n${text}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'results.md'), text);
  if (process.env.FAULT_RECORD === '1') {
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    if (start < 0 || end < start) throw new Error(`${DOC} has no ${START} … ${END} block`);
    // Formatted as `npm run lint` wants it (prettier --check).
    const updated = `${doc.slice(0, start + START.length)}\n\n${text}\n${doc.slice(end)}`;
    writeFileSync(DOC, await format(updated, { ...(await resolveConfig(DOC)), filepath: DOC }));
  }
}
