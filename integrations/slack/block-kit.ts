/**
 * The Block Kit pieces every Slack message of Elevate is made of: mrkdwn escaping, cutting text
 * to Block Kit's limits, times and durations as Slack shows them, and the blocks themselves.
 * Pure: no I/O. The messages are in `messages.ts` (approval requests, drift) and
 * `risk-messages.ts` (the risk score).
 *
 * Text is sent with `verbatim: true` and escaped with {@link escapeMrkdwn}, so user text such as
 * `<!channel>` shows as typed instead of pinging people.
 */
import type { ContextBlock, HeaderBlock, MrkdwnElement, SectionBlock } from '@slack/types';

/** Block Kit limits this module stays within. */
export const LIMITS = {
  sectionText: 3000,
  field: 2000,
  fields: 10,
  header: 150,
  contextText: 3000,
  blocks: 50,
  buttonValue: 2000,
  /** Not Slack's limit (40 000) but what a notification can usefully show. */
  fallbackText: 300,
} as const;

/**
 * Escapes the three characters Slack's mrkdwn gives meaning to (`&`, `<`, `>`), so that
 * `<!channel>`, `<@U123>` or `<https://x|label>` in user text is shown, not acted on.
 */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts text to at most `max` characters, ending it with `…` when cut. Never cuts inside an
 * escape (`&amp;`) or a surrogate pair, so escaped text stays escaped and valid.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = Math.max(max - 1, 0);
  const last = s.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  const amp = s.lastIndexOf('&', cut - 1);
  if (amp !== -1 && amp >= cut - 5) {
    const semi = s.indexOf(';', amp);
    if (semi === -1 || semi >= cut) cut = amp;
  }
  return `${s.slice(0, cut)}…`;
}

/** A duration in words Slack users read at a glance: `1 h 30 min`, `45 s`, `2 d 4 h`. */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return `${totalSeconds} s`;
  let rest = Math.round(totalSeconds);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${unit}`);
  }
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

/**
 * An instant as Slack shows it in each reader's own time zone, followed by the exact UTC time:
 * `<!date^1714557600^{date_short_pretty} {time}|2024-05-01T10:00:00Z> (2024-05-01T10:00:00Z)`.
 * Text that is not a date is shown as it is, escaped.
 */
export function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeMrkdwn(iso);
  const utc = new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${utc}> (${utc})`;
}

/** Escaped user text as a block quote, cut to `max` characters in all. */
export function quote(text: string, max: number): string {
  const escaped = escapeMrkdwn(text.trim() === '' ? '(none)' : text);
  const quoted = escaped
    .split(/\r?\n/)
    .map((line) => `>${line}`)
    .join('\n');
  return truncate(quoted, max);
}

/**
 * Joins whole lines while they fit in `max` characters, then says how many were left out.
 * Lines are never cut, so markup such as `<!date^…>` in them stays intact.
 */
export function linesWithin(lines: string[], max: number): string {
  const out: string[] = [];
  let length = 0;
  for (const [i, line] of lines.entries()) {
    const more = `_…and ${lines.length - i} more_`;
    const room = max - length - (out.length > 0 ? 1 : 0);
    const isLast = i === lines.length - 1;
    if (line.length <= room && (isLast || line.length + 1 + more.length <= room)) {
      out.push(line);
      length += line.length + (out.length > 1 ? 1 : 0);
    } else {
      out.push(more.length <= room ? more : '…');
      break;
    }
  }
  return out.join('\n');
}

/** An identifier in code style, escaped and cut to `max` characters before escaping. */
export function code(s: string, max = 200): string {
  return `\`${escapeMrkdwn(truncate(oneLine(s), max))}\``;
}

/** The text on one line: line breaks (and the spaces around them) become one space. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** A mrkdwn text element, shown verbatim (Slack does not link names or channels in it). */
export function mrkdwn(text: string): MrkdwnElement {
  return { type: 'mrkdwn', text, verbatim: true };
}

/** A section of mrkdwn text, cut to Block Kit's limit. */
export function section(text: string): SectionBlock {
  return { type: 'section', text: mrkdwn(truncate(text, LIMITS.sectionText)) };
}

/** A section of up to ten mrkdwn fields shown in two columns, each cut to Block Kit's limit. */
export function fieldsSection(fields: string[]): SectionBlock {
  return {
    type: 'section',
    fields: fields.slice(0, LIMITS.fields).map((f) => mrkdwn(truncate(f, LIMITS.field))),
  };
}

/** A header: plain text on one line, cut to Block Kit's limit. */
export function header(text: string): HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(oneLine(text), LIMITS.header) } };
}

/** A context block: one line of small mrkdwn text, cut to Block Kit's limit. */
export function context(text: string): ContextBlock {
  return { type: 'context', elements: [mrkdwn(truncate(text, LIMITS.contextText))] };
}
