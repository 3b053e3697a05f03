/**
 * What the fuzz suites share: the seed (`FUZZ_SEED`, printed in every suite's name so a failing
 * run can be replayed), fast-check's parameters, arbitraries made from a JSON Schema (the OpenAPI
 * document's own), the hostile values every input is also tried with, and a forced GC for the
 * memory checks.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';

/** A fixed default, so CI is reproducible; any other run names its seed in the suite's title. */
export const DEFAULT_FUZZ_SEED = 20_261_207;

function seedFromEnv(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return DEFAULT_FUZZ_SEED;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not ${raw}`);
  return seed | 0;
}

export const FUZZ_SEED = seedFromEnv();

/**
 * fast-check's parameters for one property: the run's seed (the same for every property, so one
 * number replays the whole suite), and `numRuns` cases. A failure's message names the seed, the
 * path to the failing case and the shrunk counterexample.
 */
export function fuzzParams<T>(numRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns, ...extra };
}

/** Runs `property`; on failure, the error names the seed again, whatever fast-check printed. */
export async function checkFuzz<T>(
  property: fc.IAsyncProperty<T> | fc.IProperty<T>,
  params: fc.Parameters<T>,
) {
  try {
    await fc.assert(property as fc.IAsyncProperty<T>, params);
  } catch (err) {
    throw new Error(
      `fuzz failure, replay with FUZZ_SEED=${FUZZ_SEED}\n${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

// ---- hostile values --------------------------------------------------------------------------

/** Keys that reach an object's prototype when copied carelessly. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
] as const;

/** Controls, invisible and reordering characters, lone surrogates, a Unicode tag. */
const ODD_CHARACTERS = [
  '\u0000',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u00ad',
  '\u200b',
  '\u200d',
  '\u200e',
  '\u202e',
  '\u2028',
  '\u2066',
  '\u3164',
  '\ufeff',
  '\uffff',
  '\ud800',
  '\udfff',
  '\u{e0041}',
  '😀',
  'é',
  'a',
  ' ',
  '"',
  '\\',
  '%',
  '/',
  '<',
  '&',
  '$',
  '{',
];

const SPECIAL_STRINGS = [
  '',
  ' ',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x10',
  'true',
  '[]',
  '{}',
  '../../etc/passwd',
  '..',
  '%00',
  '%E0%A4%A',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${jndi:ldap://x/a}',
  '${HOME}',
  '{{7*7}}',
  'cn=x,dc=example,dc=org)(uid=*',
  `el_${'0'.repeat(24)}`,
  `el_${'f'.repeat(25)}`,
  ...PROTOTYPE_KEYS,
];

/** Strings an input should refuse or carry safely: odd characters, injections, huge ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...SPECIAL_STRINGS),
  fc.string({ unit: fc.constantFrom(...ODD_CHARACTERS), maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(300, 5_000, 20_000).map((n) => 'a'.repeat(n)),
);

/** Numbers at the edges: signed zero, 2^31, 2^53, the largest and smallest doubles, fractions. */
export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    59,
    60,
    61,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    0.5,
    1.5,
    -1e-300,
    1e21,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** An object whose own keys are the prototype's: `{"__proto__": …, "constructor": …}`. */
export const prototypeObject: fc.Arbitrary<Record<string, unknown>> = fc
  .uniqueArray(
    fc.tuple(
      fc.constantFrom(...PROTOTYPE_KEYS),
      fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ polluted: 'yes' })),
    ),
    { selector: ([k]) => k, minLength: 1, maxLength: 3 },
  )
  .map((pairs) => {
    const out: Record<string, unknown> = {};
    // defineProperty: a plain assignment to `__proto__` would set the prototype, not a key.
    for (const [k, v] of pairs) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
    return out;
  });

/** Arrays or objects nested `depth` deep. */
export const deepValue: fc.Arbitrary<unknown> = fc
  .tuple(fc.constantFrom(64, 1_000, 3_000), fc.boolean())
  .map(([depth, arrays]) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
    return v;
  });

/** Any value, from the plain to the hostile. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  edgeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  prototypeObject,
  deepValue,
);

// ---- arbitraries from a JSON Schema ----------------------------------------------------------

type Schema = Record<string, unknown> | boolean;

/** Follows a local `$ref` (`#/components/schemas/X`) in `root`. */
export function resolveRef(root: unknown, ref: string): unknown {
  let node: unknown = root;
  for (const raw of ref.replace(/^#\//, '').split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  if (node === undefined) throw new Error(`$ref ${ref} does not resolve`);
  return node;
}

function stringArbitrary(s: Record<string, unknown>): fc.Arbitrary<string> {
  const minLength = typeof s.minLength === 'number' ? s.minLength : 0;
  // Only the schema's own bounds filter: a pattern decides the length of what it matches.
  const fitting = (v: string) =>
    v.length >= minLength && (typeof s.maxLength !== 'number' || v.length <= s.maxLength);
  const maxLength = typeof s.maxLength === 'number' ? s.maxLength : Math.max(minLength, 24);
  if (s.format === 'date-time') {
    return fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  }
  if (s.format === 'email') return fc.emailAddress().filter(fitting);
  if (typeof s.pattern === 'string') {
    const pattern = new RegExp(s.pattern, 'u');
    try {
      return fc.stringMatching(pattern).filter((v) => fitting(v) && pattern.test(v));
    } catch {
      // A pattern fast-check cannot generate from (Unicode property escapes): plain text that
      // matches it, which is what these patterns (the server's safe-text rule) accept.
      return fc
        .string({
          unit: 'grapheme-ascii',
          minLength: Math.max(1, minLength),
          maxLength: Math.min(maxLength, 40),
        })
        .filter((v) => pattern.test(v));
    }
  }
  return fc.string({ minLength, maxLength: Math.min(maxLength, Math.max(minLength, 40)) });
}

function numberArbitrary(s: Record<string, unknown>, integer: boolean): fc.Arbitrary<number> {
  let min = typeof s.minimum === 'number' ? s.minimum : -1e6;
  let max = typeof s.maximum === 'number' ? s.maximum : 1e6;
  if (typeof s.exclusiveMinimum === 'number') min = s.exclusiveMinimum + (integer ? 1 : Number.EPSILON);
  if (typeof s.exclusiveMaximum === 'number') max = s.exclusiveMaximum - (integer ? 1 : Number.EPSILON);
  return integer
    ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

/**
 * Values that satisfy `schema` (a JSON Schema 2020-12 of the OpenAPI document, `$ref`s resolved
 * in `root`): what a well-behaved client sends. Formats and patterns are honoured where
 * fast-check can generate them; lengths and counts are kept small.
 */
export function arbitraryOf(schema: Schema, root: unknown, depth = 0): fc.Arbitrary<unknown> {
  if (schema === true) return fc.jsonValue({ maxDepth: 2 });
  if (schema === false) return fc.constant(undefined);
  if (typeof schema.$ref === 'string')
    return arbitraryOf(resolveRef(root, schema.$ref) as Schema, root, depth);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return fc.oneof(...options.map((o) => arbitraryOf(o as Schema, root, depth)));
  }
  if (Array.isArray(schema.allOf)) return arbitraryOf(schema.allOf[0] as Schema, root, depth);
  if (Array.isArray(schema.type)) {
    return fc.oneof(...schema.type.map((t) => arbitraryOf({ ...schema, type: t }, root, depth)));
  }
  switch (schema.type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema.items ?? true) as Schema;
      const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxLength = Math.max(
        minLength,
        Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 3, 3),
      );
      return depth > 4
        ? fc.constant([])
        : fc.array(arbitraryOf(items, root, depth + 1), { minLength, maxLength });
    }
    case 'object':
    default: {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties))
        model[name] = arbitraryOf(property, root, depth + 1);
      const record = fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
      const extra = schema.additionalProperties;
      if (extra && typeof extra === 'object' && Object.keys(properties).length === 0 && depth < 4) {
        return fc.dictionary(
          fc.string({ minLength: 1, maxLength: 12 }),
          arbitraryOf(extra as Schema, root, depth + 1),
          {
            maxKeys: 3,
          },
        );
      }
      return record;
    }
  }
}

/**
 * A well-formed `value` made wrong in one way: a field taken away, one replaced by a hostile
 * value, one added (a prototype key among them), or the whole wrapped in an array or a string.
 */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      valid,
      fc.constantFrom('drop', 'replace', 'add', 'wrap', 'stringify'),
      fc.nat(),
      fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 12 })),
      hostileValue,
    )
    .map(([value, how, pick, name, hostile]) => {
      if (how === 'wrap') return [value];
      if (how === 'stringify') return JSON.stringify(value);
      if (!value || typeof value !== 'object' || Array.isArray(value)) return hostile;
      const out: Record<string, unknown> = {};
      const own = (k: string, v: unknown) =>
        Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      for (const [k, v] of Object.entries(value)) own(k, v);
      const keys = Object.keys(out);
      const key = keys.length > 0 ? keys[pick % keys.length]! : name;
      if (how === 'drop') delete out[key];
      else own(how === 'add' ? name : key, hostile);
      return out;
    });
}

// ---- memory ----------------------------------------------------------------------------------

/**
 * A full garbage collection, without `--expose-gc` on the command line: the flag is set at run
 * time and the `gc` function taken from a fresh context.
 */
export function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
}

/** Heap in use after a full collection, in bytes. */
export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
