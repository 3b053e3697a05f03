/**
 * How addresses are compared: plain ASCII only, case-insensitive, so that look-alikes (KELVIN
 * SIGN, Cyrillic letters, full-width forms) never stand for someone else.
 */
import { describe, expect, it } from 'vitest';
import { canonicalAddress, sameAddress } from '../../core/rules/email-address.js';
import { sameApprover } from '../../core/rules/approval-eligibility.js';

describe('canonicalAddress', () => {
  it.each([
    ['Ann@Example.org', 'ann@example.org'],
    ['  ben@example.org ', 'ben@example.org'],
    ['star*@example.org', 'star*@example.org'],
    ['kate@xn--exmple-cua.org', 'kate@xn--exmple-cua.org'],
  ])('when the address is %j, then its canonical form is %j', (raw, canonical) => {
    expect(canonicalAddress(raw)).toEqual({ ok: true, address: canonical });
  });

  it.each([
    ['\u212Aate@example.org'], // KELVIN SIGN: lower-cases to ASCII k
    ['\u0430nn@example.org'], // CYRILLIC SMALL LETTER A
    ['\uFF41nn@example.org'], // FULLWIDTH LATIN SMALL LETTER A: NFKC makes it a
    ['ann@ex\u0430mple.org'],
    ['ann@example.org\u200B'], // ZERO WIDTH SPACE
  ])('when the address %j holds non-ASCII characters, then it is refused as non_ascii_address', (raw) => {
    expect(canonicalAddress(raw)).toMatchObject({ ok: false, problem: 'non_ascii_address' });
  });

  it.each([
    [''],
    ['ann'],
    ['@example.org'],
    ['ann@'],
    ['a@b@c'],
    ['ann @example.org'],
    ['ann@example.org\u0000'],
    [42],
  ])('when the value is %j, then it is refused as malformed_address', (raw) => {
    expect(canonicalAddress(raw)).toMatchObject({ ok: false, problem: 'malformed_address' });
  });
});

describe('sameAddress and sameApprover', () => {
  it('when two addresses differ only in case or surrounding spaces, then they are the same person', () => {
    expect(sameAddress('Kate@Example.org ', 'kate@example.org')).toBe(true);
    expect(sameApprover('Kate@Example.org', 'kate@example.org')).toBe(true);
  });

  it('when one address is a look-alike that lower-cases or normalises to the other, then they are not the same', () => {
    // The attack: the old comparison lower-cased both sides, and KELVIN SIGN lower-cases to k.
    expect('\u212Aate@example.org'.toLowerCase()).toBe('kate@example.org');
    expect(sameApprover('\u212Aate@example.org', 'kate@example.org')).toBe(false);
    expect(sameApprover('\uFF4Bate@example.org'.normalize('NFKC'), 'kate@example.org')).toBe(true);
    expect(sameApprover('\uFF4Bate@example.org', 'kate@example.org')).toBe(false);
  });

  it('when an address is refused, then it equals nothing, not even itself', () => {
    expect(sameAddress('\u0430nn@example.org', '\u0430nn@example.org')).toBe(false);
    expect(sameAddress('nobody', 'nobody')).toBe(false);
  });
});
