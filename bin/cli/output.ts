/**
 * Human-readable output of the `elevate` admin commands: aligned tables and `key: value` blocks.
 * Text from the server can hold what an outsider chose (an id from a refused request's URL), so
 * control characters are replaced before anything reaches the terminal: no escape sequence from
 * the audit trail can move the cursor or rewrite what an admin sees.
 */

/** `value` with control characters (C0, DEL, C1) replaced by `?`, on one line. */
export function printable(value: string | number | boolean | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * `text` with control characters replaced by `?`, except line feeds: every line the commands
 * write goes through it, so no server text can carry a terminal escape sequence.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '?');
}

/** `text` cut to `max` characters, with `…` when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(max - 1, 0))}…`;
}

/** An ISO instant to the second, `2026-11-22 10:00:00Z`; anything else as it is. */
export function instant(value: unknown): string {
  if (typeof value !== 'string') return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(value);
  return m ? `${m[1]} ${m[2]}Z` : printable(value);
}

/**
 * A table: a header row of `columns` in capitals, then one row per item, each column as wide
 * as its widest cell, two spaces apart; no trailing spaces.
 */
export function table(columns: string[], rows: string[][]): string {
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => r.map(printable))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** `key: value` lines, the values aligned. */
export function fields(entries: [string, string][]): string {
  const width = Math.max(...entries.map(([k]) => k.length)) + 1;
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width)} ${printable(v)}`.trimEnd()).join('\n') + '\n';
}
