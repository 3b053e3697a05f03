/**
 * Property-based fuzzing of the policy file loader: random YAML-ish text, and the example policy
 * mutated (a field dropped, replaced by a hostile value, an unknown or prototype key added, the
 * text cut or spliced). Whatever the input, `parsePolicy` returns a Policy or throws a
 * ConfigError that names a field; never another exception, and never a polluted prototype.
 *
 * Seeded: `FUZZ_SEED=<n> npx vitest run test/unit/fuzz-policy.test.ts` replays a run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parsePolicy } from '../../config/load-policy.js';
import { ConfigError } from '../../core/errors/config-error.js';
import {
  FUZZ_SEED,
  PROTOTYPE_KEYS,
  checkFuzz,
  edgeNumber,
  fuzzParams,
  hostileString,
  prototypeObject,
} from '../support/fuzz.js';

/** Hostile values the YAML writer can write (its recursion stops short of thousands deep). */
const hostileValue = fc.oneof(
  hostileString,
  edgeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 4 }),
  prototypeObject,
);

const ENV = {
  ELEVATE_ADMIN_TOKEN_HASH: `sha256:${'a'.repeat(64)}`,
  ELEVATE_DEMO_BOT_KEY_HASH: `sha256:${'b'.repeat(64)}`,
};
const EXAMPLE = readFileSync(path.join(import.meta.dirname, '../../examples/policy.yaml'), 'utf8');

/** Either a Policy, or a ConfigError naming a field; anything else is a finding. */
function outcome(text: string): 'policy' | 'refused' {
  try {
    parsePolicy(text, 'policy.yaml', ENV);
    return 'policy';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`not a ConfigError: ${String(err)}`, { cause: err });
    if (typeof err.field !== 'string' || err.field === '') throw new Error(`names no field: ${err.message}`);
    return 'refused';
  } finally {
    if (Object.keys(Object.prototype).length > 0 || ({} as Record<string, unknown>).polluted !== undefined)
      throw new Error('Object.prototype was polluted');
  }
}

/** Every path to a value in `v` (object keys and array indexes). */
function pathsOf(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => pathsOf(x, [...at, i]))];
  if (v && typeof v === 'object')
    return [at, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, k]))];
  return [at];
}

/** The example policy, one value changed at a path picked by `pick`. */
const mutatedPolicy = fc
  .tuple(
    fc.nat(),
    fc.constantFrom('drop', 'replace', 'add'),
    fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 10 })),
    hostileValue,
  )
  .map(([pick, how, key, value]) => {
    const doc = parse(EXAMPLE) as unknown;
    const paths = pathsOf(doc).filter((p) => p.length > 0);
    const target = paths[pick % paths.length]!;
    const parent = target
      .slice(0, -1)
      .reduce<unknown>((node, k) => (node as Record<string, unknown>)[k], doc) as Record<
      string | number,
      unknown
    >;
    const last = target[target.length - 1]!;
    if (how === 'drop') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      // defineProperty: `__proto__` becomes a key of the YAML mapping, not a prototype.
      Object.defineProperty(parent, how === 'add' ? key : last, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return stringify(doc, { aliasDuplicateObjects: false });
  });

/** The example's text cut, or with a random piece spliced in. */
const splicedText = fc
  .tuple(fc.nat({ max: EXAMPLE.length }), fc.nat({ max: 40 }), fc.string({ unit: 'binary', maxLength: 30 }))
  .map(([at, cut, piece]) => EXAMPLE.slice(0, at) + piece + EXAMPLE.slice(at + cut));

/** Text that looks like YAML: keys, flow collections, anchors, tags, directives. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'version: 1\n',
        'bots:\n',
        'roles:\n',
        'admins:\n',
        '  - id: x\n',
        '    roles: [a, b]\n',
        '&a [*a]\n',
        '<<: *a\n',
        '!!binary aGk=\n',
        '!!js/function "x"\n',
        '%YAML 1.2\n---\n',
        '__proto__: {polluted: yes}\n',
        'constructor: {prototype: {polluted: 1}}\n',
        '${UNSET_VARIABLE}\n',
        '"\\u0000"\n',
        '? [a]\n: b\n',
        '{a: 1, a: 2}\n',
        'key: 9999999999999999999999\n',
        '- - - - - - - - 1\n',
      ),
      fc.string({ maxLength: 20 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

describe(`fuzzing the policy loader (FUZZ_SEED=${FUZZ_SEED})`, () => {
  it('when the example policy is loaded unchanged, then it is a policy (the mutations start from a valid one)', () => {
    expect(outcome(EXAMPLE)).toBe('policy');
  });

  it('when 2,000 mutations of the example policy are loaded, then each is a policy or a ConfigError naming a field', async () => {
    const seen = new Set<string>();
    await checkFuzz(
      fc.property(mutatedPolicy, (text) => {
        seen.add(outcome(text));
      }),
      fuzzParams(2_000),
    );
    expect([...seen].sort()).toEqual(['policy', 'refused']);
  });

  it('when 1,500 random YAML-ish documents and 1,500 spliced texts are loaded, then each is a policy or a ConfigError naming a field', async () => {
    await checkFuzz(
      fc.property(yamlish, (text) => {
        outcome(text);
      }),
      fuzzParams(1_500),
    );
    await checkFuzz(
      fc.property(splicedText, (text) => {
        outcome(text);
      }),
      fuzzParams(1_500),
    );
  });
});
