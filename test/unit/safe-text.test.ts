/**
 * The rule for text people read later (justifications, tickets, reasons): nothing that hides or
 * reorders what approvers see, and something visible.
 */
import { describe, expect, it } from 'vitest';
import { SAFE_TEXT_PATTERN, unsafeTextProblem } from '../../server/safe-text.js';

describe('unsafeTextProblem', () => {
  it.each([
    ['plain text', 'restart the nightly ETL job'],
    ['accents and other scripts', 'réparer la base — 修复数据库 — إصلاح'],
    ['emoji with a variation selector', 'ship it ❤️ 😀'],
    ['a no-break space', 'INC\u00a01234'],
  ])('when the text is %s, then it is accepted', (_, text) => {
    expect(unsafeTextProblem(text)).toBeUndefined();
    expect(SAFE_TEXT_PATTERN.test(text)).toBe(true);
  });

  it.each([
    ['a C0 control', 'a\u0007b', 'U+0007'],
    ['a newline', 'a\nb', 'U+000A'],
    ['DEL', 'a\u007fb', 'U+007F'],
    ['a C1 control', 'a\u009bb', 'U+009B'],
    ['a right-to-left override', 'invoice\u202etxt.exe', 'U+202E'],
    ['a left-to-right embedding', 'a\u202ab', 'U+202A'],
    ['a first-strong isolate', 'a\u2068b', 'U+2068'],
    ['a right-to-left mark', 'a\u200fb', 'U+200F'],
    ['the Arabic letter mark', 'a\u061cb', 'U+061C'],
    ['a zero-width space', 'a\u200bb', 'U+200B'],
    ['a zero-width joiner', 'a\u200db', 'U+200D'],
    ['a word joiner', 'a\u2060b', 'U+2060'],
    ['a byte-order mark', 'a\ufeffb', 'U+FEFF'],
    ['a soft hyphen', 'a\u00adb', 'U+00AD'],
    ['a line separator', 'a\u2028b', 'U+2028'],
    ['a paragraph separator', 'a\u2029b', 'U+2029'],
    ['a Unicode tag', 'a\u{e0041}b', 'U+E0041'],
    ['a lone surrogate', 'a\ud800b', 'U+D800'],
  ])('when the text hides %s, then it is refused naming the character', (_, text, code) => {
    expect(unsafeTextProblem(text)).toContain(code);
    expect(SAFE_TEXT_PATTERN.test(text)).toBe(false);
  });

  it.each([
    ['spaces', '   '],
    ['a Hangul filler', '\u3164'],
    ['a braille blank and a variation selector', '\u2800\ufe0f'],
    ['ideographic spaces and a combining grapheme joiner', '\u3000\u034f\u3000'],
  ])('when the text is only %s, then it is refused as having nothing visible', (_, text) => {
    expect(unsafeTextProblem(text)).toBe('must contain visible text');
    expect(SAFE_TEXT_PATTERN.test(text)).toBe(false);
  });

  it('when the text is long and invisible, then the check stays linear (no backtracking blow-up)', () => {
    const text = `${'\u3164'.repeat(50_000)}\u0000`;
    expect(SAFE_TEXT_PATTERN.test(text)).toBe(false);
    expect(unsafeTextProblem(text)).toContain('U+0000');
  });
});
