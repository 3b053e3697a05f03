import { describe, expect, it } from 'vitest';
import { InvalidDnError, isValidDn, normalizeDn, normalizeDnIfValid, sameDn } from '../../core/rules/dn.js';

describe('isValidDn', () => {
  it.each([
    ['a simple DN', 'uid=bot-1,ou=bots,dc=example,dc=org'],
    ['a single RDN', 'cn=placeholder'],
    ['a multi-valued RDN', 'cn=a+sn=b,dc=example'],
    ['spaces around separators', ' cn = a , dc = example + o = x '],
    ['an escaped comma', 'cn=Smith\\, John,dc=example'],
    ['escaped specials', 'cn=\\+\\"\\\\\\<\\>\\;\\=,dc=x'],
    ['escaped leading and trailing spaces', 'cn=\\ padded\\ ,dc=x'],
    ['an escaped leading #', 'cn=\\#1,dc=x'],
    ['hex-pair escapes that are UTF-8', 'cn=caf\\C3\\A9'],
    ['a hex-pair escaped comma', 'cn=a\\2Cb'],
    ['a #hex value', 'cn=#04024869,dc=x'],
    ['a numeric OID type', '2.5.4.3=x,0.9.2342.19200300.100.1.25=org'],
    ['an unescaped = in a value (allowed by RFC 4514)', 'cn=a=b'],
    ['non-ASCII characters', 'cn=Jürgen,dc=example'],
    ['filter metacharacters inside a value (never used in a filter)', 'cn=*)(uid=*'],
    ['an escaped backslash at the end', 'cn=a\\\\'],
  ])('when given %s, then it is valid', (_label, dn) => {
    expect(isValidDn(dn)).toBe(true);
  });

  it.each([
    ['the empty string', ''],
    ['only spaces', '   '],
    ['a filter injection with no attribute type', '*)(uid=*'],
    ['a trailing comma', 'cn=a,'],
    ['a trailing comma and spaces', 'cn=a , '],
    ['a leading comma', ',cn=a'],
    ['two commas', 'cn=a,,dc=b'],
    ['an empty attribute type', '=x'],
    ['an empty value', 'cn='],
    ['an empty value before a comma', 'cn=,dc=x'],
    ['a dangling backslash', 'cn=a\\'],
    ['an unknown escape', 'cn=a\\q'],
    ['a single hex digit escape', 'cn=a\\4'],
    ['hex pairs that are not UTF-8', 'cn=\\ff'],
    ['an unescaped semicolon', 'cn=a;b'],
    ['an unescaped double quote', 'cn="a"'],
    ['unescaped angle brackets', 'cn=<a>'],
    ['a plus with nothing after it', 'cn=a+'],
    ['an RDN without =', 'cn'],
    ['a newline in a value', 'cn=a\nuid=b'],
    ['a NUL in a value', 'cn=a\u0000'],
    ['a type starting with a digit that is not an OID', '1cn=a'],
    ['an OID with a leading zero', '01.2=x'],
    ['an OID with one part', '2=x'],
    ['an attribute option', 'cn;lang-en=x'],
    ['an odd number of hex digits', 'cn=#123'],
    ['# with no hex digits', 'cn=#'],
    ['# followed by text', 'cn=#abz'],
    ['an LDAP URL', 'ldap://host/cn=a'],
  ])('when given %s, then it is invalid', (_label, dn) => {
    expect(isValidDn(dn)).toBe(false);
  });

  it('when given something that is not a string, then it is invalid rather than throwing', () => {
    expect(isValidDn(undefined as unknown as string)).toBe(false);
    expect(isValidDn(42 as unknown as string)).toBe(false);
  });

  it('when given a very long hostile string, then it answers quickly', () => {
    const hostile = `cn=${'\\'.repeat(200_001)}`; // an odd run: the last backslash dangles
    const started = Date.now();
    expect(isValidDn(hostile)).toBe(false);
    expect(isValidDn(`cn=${'a+'.repeat(100_000)}`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('normalizeDn', () => {
  it.each([
    [
      'lowercases types and values',
      'UID=Bot-1,OU=Bots,DC=Example,DC=Org',
      'uid=bot-1,ou=bots,dc=example,dc=org',
    ],
    ['removes spaces around separators', '  cn = a ,  dc = b ', 'cn=a,dc=b'],
    ['keeps spaces inside a value', 'cn=John  Smith', 'cn=john  smith'],
    ['keeps escaped leading and trailing spaces', 'cn=\\ a\\ ', 'cn=\\ a\\ '],
    ['turns a hex-escaped special into the canonical escape', 'cn=a\\2cb', 'cn=a\\,b'],
    ['decodes hex-escaped ordinary characters', 'cn=\\41bc', 'cn=abc'],
    ['decodes hex-escaped UTF-8', 'cn=caf\\C3\\A9', 'cn=café'],
    ['drops an unnecessary escape of =', 'cn=a\\=b', 'cn=a=b'],
    ['keeps a leading # escaped', 'cn=\\#1', 'cn=\\#1'],
    ['keeps the required escapes', 'cn=\\"\\+\\;\\<\\>\\\\', 'cn=\\"\\+\\;\\<\\>\\\\'],
    ['writes control characters as hex pairs', 'cn=a\\0Db', 'cn=a\\0db'],
    ['sorts the parts of a multi-valued RDN', 'sn=B+cn=A,dc=x', 'cn=a+sn=b,dc=x'],
    ['lowercases #hex values without decoding them', 'cn=#04AB', 'cn=#04ab'],
    [
      'maps long names and OIDs of naming attributes',
      'commonName=a,2.5.4.11=b,domainComponent=c',
      'cn=a,ou=b,dc=c',
    ],
    ['keeps unknown attribute types', 'employeeNumber=7', 'employeenumber=7'],
  ])('%s', (_label, input, expected) => {
    expect(normalizeDn(input)).toBe(expected);
  });

  it('when normalizing twice, then the result does not change (canonical)', () => {
    for (const dn of ['cn=\\ a\\2C\\0d+sn=X', 'CN=Smith\\, John , O=Acme', 'cn=#AB', 'cn=\\#x\\ ']) {
      const once = normalizeDn(dn);
      expect(normalizeDn(once)).toBe(once);
    }
  });

  it('when the server spells a configured DN differently, then both normalize to the same string', () => {
    expect(normalizeDn('uid=demo-bot,ou=bots,dc=example,dc=org')).toBe(
      normalizeDn('UID=Demo-Bot, OU=bots, DC=Example, DC=org'),
    );
  });

  it.each(['*)(uid=*', 'cn=a,', '=x', 'cn=a\\', ''])(
    'when given the invalid DN %j, then it throws InvalidDnError saying why',
    (dn) => {
      expect(() => normalizeDn(dn)).toThrow(InvalidDnError);
      expect(() => normalizeDn(dn)).toThrow(/not a valid DN \(.+\)/);
    },
  );
});

describe('sameDn', () => {
  it('when two spellings name the same entry, then they are the same', () => {
    expect(sameDn('cn=A , dc=X', 'CN=a,DC=x')).toBe(true);
  });

  it('when the values differ, then they are not the same', () => {
    expect(sameDn('cn=a,dc=x', 'cn=b,dc=x')).toBe(false);
    expect(sameDn('cn=a,dc=x', 'cn=a')).toBe(false);
  });

  it('when either side is invalid, then they are not the same', () => {
    expect(sameDn('cn=a,', 'cn=a,')).toBe(false);
  });
});

describe('normalizeDnIfValid', () => {
  it('when the DN is valid, then it is what normalizeDn gives; when not, undefined', () => {
    expect(normalizeDnIfValid('UID=Bot , DC=Example')).toBe(normalizeDn('UID=Bot , DC=Example'));
    expect(normalizeDnIfValid('not a dn')).toBeUndefined();
    expect(normalizeDnIfValid(42 as unknown as string)).toBeUndefined();
  });
});
