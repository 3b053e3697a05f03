/**
 * The one rule for free text that people read later: a justification, a ticket, a reason. It
 * reaches approvers in Slack, the admin console and the audit trail, so nothing in it may hide
 * or reorder what they see:
 *
 * - refused anywhere: C0 and C1 controls and DEL (newline and tab included), bidirectional
 *   embeddings, overrides, isolates and marks, zero-width and other format characters (soft
 *   hyphen, word joiner, invisible operators, byte-order mark, Unicode tags), line and
 *   paragraph separators, and lone surrogates;
 * - refused as a whole: text with nothing visible, only spaces and invisible fillers (Hangul
 *   fillers, braille blank, variation selectors, the combining grapheme joiner).
 *
 * The same rule is one regular expression, {@link SAFE_TEXT_PATTERN}, which the API reference
 * publishes as the fields' `pattern`. It uses `\uXXXX` escapes and literal characters only (no
 * `\p{…}`), so JSON Schema validators in other languages read it as the server does.
 */

/** Code points refused anywhere in the text, as the body of a character class. */
const FORBIDDEN = [
  '\\u0000-\\u001f', // C0 controls (tab, newline and carriage return included)
  '\\u007f-\\u009f', // DEL and the C1 controls
  '\\u00ad', // soft hyphen: invisible unless at a line break
  '\\u061c', // Arabic letter mark (bidirectional)
  '\\u180e', // Mongolian vowel separator (zero width)
  '\\u200b-\\u200f', // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
  '\\u2028-\\u202e', // line and paragraph separators; bidirectional embeddings and overrides
  '\\u2060-\\u206f', // word joiner, invisible operators, bidirectional isolates, deprecated formats
  '\\ufeff', // byte-order mark / zero-width no-break space
  '\\ufff9-\\ufffb', // interlinear annotation marks
  '\\ud800-\\udfff', // lone surrogates (with the `u` flag, a surrogate pair is one code point)
  '\u{e0000}-\u{e007f}', // Unicode tags: invisible, and read as text by some tools (literal characters)
].join('');

/** Allowed, but not visible: text made only of these (and spaces) says nothing. */
const INVISIBLE = [
  ' \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000', // spaces
  '\\u034f', // combining grapheme joiner
  '\\u115f\\u1160\\u3164\\uffa0', // Hangul fillers
  '\\u17b4\\u17b5', // Khmer inherent vowels (invisible)
  '\\u2800', // braille pattern blank
  '\\ufe00-\\ufe0f', // variation selectors
  '\u{e0100}-\u{e01ef}', // variation selectors supplement (literal characters)
].join('');

/**
 * Safe text as one pattern (ECMA-262 with the `u` flag, as JSON Schema reads it): invisible
 * characters, then a visible one, then anything but a refused character. Linear: the first two
 * classes do not overlap, so nothing is tried twice.
 */
export const SAFE_TEXT_PATTERN = new RegExp(
  `^[${INVISIBLE}]*[^${FORBIDDEN}${INVISIBLE}][^${FORBIDDEN}]*$`,
  'u',
);

const FORBIDDEN_CHAR = new RegExp(`[${FORBIDDEN}]`, 'u');

/** What a message says about the text's first refused character: `U+202E`. */
function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `text` is not safe text, as the end of a sentence naming the field (`must not contain
 * …`), or `undefined` when it is. Callers trim first if they trim.
 */
export function unsafeTextProblem(text: string): string | undefined {
  const refused = FORBIDDEN_CHAR.exec(text);
  if (refused) {
    return `must not contain control, formatting or invisible characters (found ${codePoint(refused[0])} at position ${refused.index})`;
  }
  if (!SAFE_TEXT_PATTERN.test(text)) return 'must contain visible text';
  return undefined;
}
