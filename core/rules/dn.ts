/**
 * Distinguished names (RFC 4514): a strict syntax check for DNs that come from configuration
 * or callers, and a canonical form for comparing a DN the server returns with a configured one.
 *
 * The parser is a single left-to-right scan with no regular-expression backtracking, so hostile
 * input costs linear time. It follows RFC 4514 with these deliberate differences:
 * - whitespace around `=`, `,` and `+` is accepted and ignored (as RFC 2253 readers and
 *   OpenLDAP do), so `cn = a , dc = b` is valid; a space inside a value is kept;
 * - the empty DN (the root DSE) and empty attribute values (`cn=`) are rejected: neither can
 *   name a group or a bot;
 * - unescaped control characters (U+0000–U+001F, U+007F) are rejected; write them as `\XX`;
 * - hex pairs must decode to valid UTF-8.
 */

/** One attribute type and value of an RDN, after parsing. */
interface Ava {
  /** Attribute type, lowercased (a descriptor such as `cn`, or a numeric OID). */
  type: string;
  /** The decoded value, or the lowercased `#hex` string for a BER-encoded value. */
  value: string;
  /** True for a `#hex` value, which is compared as written, not decoded. */
  hex: boolean;
}

type Rdn = Ava[];

/** Thrown by {@link normalizeDn} when its input is not a DN. */
export class InvalidDnError extends Error {
  override readonly name = 'InvalidDnError';
}

/** Characters that must be escaped anywhere in a string value (RFC 4514 §2.4 and §3 `escaped`). */
const ALWAYS_ESCAPED = new Set(['"', '+', ',', ';', '<', '>', '\\']);
/** Characters that may follow a backslash as themselves (RFC 4514 `special` plus `\`). */
const ESCAPABLE = new Set(['"', '+', ',', ';', '<', '>', '\\', ' ', '#', '=']);

/**
 * Well-known long names and OIDs of naming attributes, mapped to the short name, so that
 * `commonName=x` and `2.5.4.3=x` compare equal to `cn=x`. Not a schema: unknown types are kept.
 */
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  commonname: 'cn',
  '2.5.4.3': 'cn',
  userid: 'uid',
  '0.9.2342.19200300.100.1.1': 'uid',
  domaincomponent: 'dc',
  '0.9.2342.19200300.100.1.25': 'dc',
  organizationalunitname: 'ou',
  '2.5.4.11': 'ou',
  organizationname: 'o',
  '2.5.4.10': 'o',
  countryname: 'c',
  '2.5.4.6': 'c',
  localityname: 'l',
  '2.5.4.7': 'l',
  stateorprovincename: 'st',
  '2.5.4.8': 'st',
  streetaddress: 'street',
  '2.5.4.9': 'street',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isHex(c: string): boolean {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

/** Parses `s`, returning the RDNs or a reason for refusing it. */
function parse(s: string): Rdn[] | string {
  let pos = 0;
  const at = (i: number): string => s.charAt(i); // '' past the end, which matches nothing below

  const skipSpaces = (): void => {
    while (at(pos) === ' ') pos++;
  };

  // attributeType = descr / numericoid
  const readType = (): string | undefined => {
    const start = pos;
    if (isAlpha(at(pos))) {
      while (isAlpha(at(pos)) || isDigit(at(pos)) || at(pos) === '-') pos++;
      return s.slice(start, pos);
    }
    if (!isDigit(at(pos))) return undefined;
    let parts = 0;
    for (;;) {
      const numberStart = pos;
      while (isDigit(at(pos))) pos++;
      const number = s.slice(numberStart, pos);
      // number = DIGIT / ( LDIGIT 1*DIGIT ): no empty parts, no leading zeros
      if (number === '' || (number.length > 1 && number.startsWith('0'))) return undefined;
      parts++;
      if (at(pos) !== '.') break;
      pos++;
    }
    return parts >= 2 ? s.slice(start, pos) : undefined;
  };

  const readHexValue = (): string | undefined => {
    pos++; // '#'
    const start = pos;
    while (isHex(at(pos))) pos++;
    const digits = s.slice(start, pos);
    if (digits.length === 0 || digits.length % 2 !== 0) return undefined;
    return `#${digits.toLowerCase()}`;
  };

  // Reads a string value up to the next unescaped `,` or `+` (or the end). Unescaped trailing
  // spaces are insignificant and dropped; escaped ones are kept.
  const readStringValue = (): string => {
    let out = '';
    let keepLength = 0; // length of `out` up to its last significant character
    let bytes: number[] = [];
    const flushBytes = (): void => {
      if (bytes.length === 0) return;
      try {
        out += utf8.decode(new Uint8Array(bytes));
      } catch {
        throw new Error('escaped hex pairs are not valid UTF-8');
      }
      bytes = [];
      keepLength = out.length;
    };
    while (pos < s.length) {
      const c = at(pos);
      if (c === ',' || c === '+') break;
      if (c === '\\') {
        const next = at(pos + 1);
        if (isHex(next) && isHex(at(pos + 2))) {
          bytes.push(Number.parseInt(s.slice(pos + 1, pos + 3), 16));
          pos += 3;
          continue;
        }
        flushBytes();
        if (!ESCAPABLE.has(next)) {
          throw new Error(next === '' ? 'dangling backslash at the end' : `invalid escape "\\${next}"`);
        }
        out += next;
        keepLength = out.length;
        pos += 2;
        continue;
      }
      flushBytes();
      if (ALWAYS_ESCAPED.has(c)) throw new Error(`unescaped "${c}" in a value`);
      if (isControl(c)) throw new Error('unescaped control character in a value');
      out += c;
      if (c !== ' ') keepLength = out.length;
      pos++;
    }
    flushBytes();
    return out.slice(0, keepLength);
  };

  const rdns: Rdn[] = [];
  try {
    skipSpaces();
    if (pos >= s.length) return 'the DN is empty';
    for (;;) {
      const rdn: Rdn = [];
      for (;;) {
        skipSpaces();
        const type = readType();
        if (type === undefined) return `expected an attribute type at position ${pos}`;
        skipSpaces();
        if (at(pos) !== '=') return `expected "=" after "${type}" at position ${pos}`;
        pos++;
        skipSpaces();
        let value: string | undefined;
        const hex = at(pos) === '#';
        if (hex) {
          value = readHexValue();
          if (value === undefined) return `invalid "#" hex value at position ${pos}`;
          skipSpaces();
        } else {
          value = readStringValue();
        }
        if (value === '') return `empty value for "${type}"`;
        rdn.push({ type: type.toLowerCase(), value, hex });
        if (at(pos) !== '+') break;
        pos++;
      }
      rdns.push(rdn);
      if (pos >= s.length) return rdns;
      if (at(pos) !== ',') return `unexpected "${at(pos)}" at position ${pos}`;
      pos++;
      skipSpaces();
      if (pos >= s.length) return 'trailing comma';
    }
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Escapes a decoded value so that it parses back to itself (RFC 4514 §2.4, minimal escaping). */
function escapeValue(value: string): string {
  let out = '';
  const chars = Array.from(value);
  chars.forEach((c, i) => {
    if (ALWAYS_ESCAPED.has(c)) out += `\\${c}`;
    else if (isControl(c)) out += `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else if ((i === 0 && (c === ' ' || c === '#')) || (i === chars.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  });
  return out;
}

function canonical(rdns: Rdn[]): string {
  return rdns.map((rdn) => rdn.map(canonicalAva).sort().join('+')).join(',');
}

function canonicalAva(ava: Ava): string {
  const type = TYPE_ALIASES[ava.type] ?? ava.type;
  // Naming attributes in practice (cn, uid, ou, dc, o) match case-insensitively, and OpenLDAP
  // returns values as they were written, so both sides are folded the same way here.
  const value = ava.hex ? ava.value : escapeValue(ava.value.normalize('NFC').toLowerCase());
  return `${type}=${value}`;
}

/**
 * Whether `s` is a syntactically valid distinguished name (see the module comment for where
 * this is stricter than RFC 4514). Never throws.
 *
 * @example isValidDn('uid=bot-1,ou=bots,dc=example,dc=org') // true
 * @example isValidDn('cn=a,') // false: trailing comma
 */
export function isValidDn(s: string): boolean {
  return typeof s === 'string' && typeof parse(s) !== 'string';
}

/**
 * The canonical form of a DN, for equality checks: attribute types lowercased (and common long
 * names and OIDs mapped to their short names), whitespace around separators removed, values
 * lowercased with only the escapes RFC 4514 requires (plus `\XX` for control characters), and
 * the parts of a multi-valued RDN sorted. Two DNs name the same entry for Elevate's purposes
 * when their canonical forms are equal.
 *
 * @throws {InvalidDnError} when `s` is not a DN; the message says where it breaks.
 * @example normalizeDn('UID = Bot\\2C1 , OU=Bots') // 'uid=bot\\,1,ou=bots'
 */
export function normalizeDn(s: string): string {
  const parsed = parse(s);
  if (typeof parsed === 'string')
    throw new InvalidDnError(`not a valid DN (${parsed}): ${JSON.stringify(s)}`);
  return canonical(parsed);
}

/** {@link normalizeDn}, or undefined when `s` is not a valid DN (one parse, where both are asked). */
export function normalizeDnIfValid(s: string): string | undefined {
  const parsed = typeof s === 'string' ? parse(s) : 'not a string';
  return typeof parsed === 'string' ? undefined : canonical(parsed);
}

/** Whether two strings are valid DNs with the same canonical form; false if either is invalid. */
export function sameDn(a: string, b: string): boolean {
  const pa = parse(a);
  const pb = parse(b);
  return typeof pa !== 'string' && typeof pb !== 'string' && canonical(pa) === canonical(pb);
}
