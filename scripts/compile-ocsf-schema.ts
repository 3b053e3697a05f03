/**
 * Compiles the OCSF event classes that the `ocsf` audit export emits into one JSON Schema
 * (draft 2020-12), the fixture that `test/unit/ocsf.test.ts` validates every exported event
 * against. Run by hand when the export starts using another class or OCSF version, never at
 * test time (tests have no network and no OCSF checkout):
 *
 * ```sh
 * git clone https://github.com/ocsf/ocsf-schema /tmp/ocsf-schema
 * git -C /tmp/ocsf-schema checkout f0c227b4383ba64f223c3c9d82a2936ee96e7f04   # v1.5.0
 * npx tsx scripts/compile-ocsf-schema.ts /tmp/ocsf-schema
 * ```
 *
 * It reads the schema's own source files (`dictionary.json`, `categories.json`, `events/`,
 * `objects/`, `profiles/`) and compiles them the way the OCSF server does: `$include`d files
 * merged under a file's own attributes (a profile's attributes tagged with the profile),
 * `extends` chains merged parent first (an attribute set to `null` removed), and every
 * attribute completed from the dictionary, whose enums merge with the class's. Then, for each
 * class the export uses ({@link OCSF_CLASS_UIDS}) and every object reachable from it:
 *
 * - `additionalProperties: false`: an attribute the class or object does not define fails.
 *   Attributes of a profile are defined only when the event applies the profile; the export
 *   applies none ({@link PROFILES}), so they fail too, as the OCSF validator has it.
 *   The `object` type (`unmapped`) and objects with no attributes stay open, as in OCSF.
 * - `required` from `requirement: required`; `anyOf` / `oneOf` from `at_least_one` / `just_one`.
 * - types from the dictionary's data types: strings with their `max_len` and `regex` (the OCSF
 *   validator only warns on a regex mismatch; here it fails), integers, numbers, booleans,
 *   `json_t` as anything; `null` is not a value of any type (OCSF treats it as absent).
 * - `enum` for every enumerated attribute, without deprecated values; `class_uid`,
 *   `category_uid` and `type_uid` (class_uid × 100 + activity_id) computed per class.
 * - deprecated attributes and attributes of deprecated objects: `deprecated: true` and
 *   `not: {}`, so an event carrying one fails.
 *
 * The output is written formatted by Prettier, so `prettier --check` accepts it as is.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { OCSF_CLASS_UIDS, OCSF_VERSION } from '../integrations/audit/export.js';

/** Profiles the export applies (`metadata.profiles`): none, so profile attributes are refused. */
const PROFILES: readonly string[] = [];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
/** A class or object definition as the source files have it. */
interface Item {
  name: string;
  caption?: string;
  extends?: string;
  uid?: number;
  category?: string;
  attributes: Record<string, JsonObject | null>;
  constraints?: { at_least_one?: string[]; just_one?: string[] };
  '@deprecated'?: { message?: string; since?: string };
  [key: string]: unknown;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_OUT = path.resolve(here, '..', 'test', 'fixtures', 'ocsf', OCSF_VERSION, 'events.schema.json');

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The OCSF server's `deep_merge`: keys of both, `right` winning, maps merged recursively (an
 * empty map on either side yields the other), `null` on the right kept (it removes a profile
 * tag, or an inherited attribute).
 */
function deepMerge(left: unknown, right: unknown): unknown {
  if (right === undefined) return left;
  if (!isObject(left) || !isObject(right)) return right;
  const out: JsonObject = { ...left };
  for (const [key, value] of Object.entries(right)) {
    const prev = out[key];
    out[key] =
      isObject(prev) && isObject(value)
        ? Object.keys(prev).length === 0
          ? value
          : Object.keys(value).length === 0
            ? prev
            : (deepMerge(prev, value) as JsonObject)
        : value;
  }
  return out;
}

class OcsfSource {
  private readonly cache = new Map<string, JsonObject>();

  constructor(readonly home: string) {}

  read(file: string): JsonObject {
    let data = this.cache.get(file);
    if (!data) {
      data = JSON.parse(readFileSync(path.join(this.home, file), 'utf8')) as JsonObject;
      this.cache.set(file, data);
    }
    return data;
  }

  /** Every `.json` file under `dir`, relative to the schema's root. */
  files(dir: string): string[] {
    const out: string[] = [];
    for (const entry of readdirSync(path.join(this.home, dir)).sort()) {
      const rel = path.posix.join(dir, entry);
      if (statSync(path.join(this.home, rel)).isDirectory()) out.push(...this.files(rel));
      else if (entry.endsWith('.json')) out.push(rel);
    }
    return out;
  }

  /**
   * An included file's attributes; a profile's are tagged with its name (and take its
   * `annotations`), as the OCSF server tags them.
   */
  private included(file: string): Record<string, JsonObject> {
    const data = this.read(file);
    const attributes = (data.attributes ?? {}) as Record<string, JsonObject>;
    const profile = data.meta === 'profile' ? (data.name as string) : undefined;
    const annotations = isObject(data.annotations) ? data.annotations : {};
    return Object.fromEntries(
      Object.entries(attributes).map(([name, attribute]) => [
        name,
        deepMerge(annotations, profile ? { ...attribute, profile } : attribute) as JsonObject,
      ]),
    );
  }

  /** A class or object with its `$include`s resolved (file-level and attribute-level). */
  item(file: string): Item {
    const data = structuredClone(this.read(file)) as unknown as Item;
    let attributes = (data.attributes ?? {}) as Record<string, JsonObject | null> & { $include?: Json };
    const include = attributes.$include;
    if (include !== undefined) {
      const { $include: _, ...own } = attributes;
      attributes = own;
      for (const inc of Array.isArray(include) ? include : [include]) {
        attributes = deepMerge(this.included(text(inc, file)), attributes) as typeof attributes;
      }
    }
    for (const [name, attribute] of Object.entries(attributes)) {
      if (isObject(attribute) && attribute.$include !== undefined) {
        const { $include, ...rest } = attribute;
        attributes[name] = deepMerge(this.read(text($include, file)), rest) as JsonObject;
      }
    }
    data.attributes = attributes;
    return data;
  }
}

/** Items by name with their `extends` chains resolved, as the OCSF server resolves them. */
function resolveAll(items: Map<string, Item>): Map<string, Item> {
  const done = new Map<string, Item>();
  const resolve = (name: string, seen: string[]): Item => {
    const ready = done.get(name);
    if (ready) return ready;
    const item = items.get(name);
    if (!item) throw new Error(`${seen.at(-1) ?? '?'} extends undefined item ${name}`);
    if (seen.includes(name)) throw new Error(`extends cycle: ${[...seen, name].join(' > ')}`);
    let out = item;
    if (item.extends) {
      const base = resolve(item.extends, [...seen, name]);
      const attributes = Object.fromEntries(
        Object.entries(
          deepMerge(base.attributes, item.attributes) as Record<string, JsonObject | null>,
        ).filter(([, attribute]) => attribute !== null),
      );
      out = { ...base };
      for (const [key, value] of Object.entries(item)) {
        if (value === null || value === undefined) continue;
        out[key] =
          key === 'profiles' && Array.isArray(base.profiles) && Array.isArray(value)
            ? [...new Set([...(base.profiles as string[]), ...(value as string[])])]
            : value;
      }
      out.attributes = attributes;
    }
    done.set(name, out);
    return out;
  };
  for (const name of items.keys()) resolve(name, []);
  return done;
}

interface Compiled {
  schema: JsonObject;
  /** Objects its attributes refer to. */
  refs: Set<string>;
}

class Compiler {
  private readonly types: Record<string, JsonObject>;
  private readonly dictionary: Record<string, JsonObject>;

  constructor(
    dictionary: JsonObject,
    private readonly objects: Map<string, Item>,
  ) {
    this.types = (dictionary.types as JsonObject).attributes as Record<string, JsonObject>;
    this.dictionary = dictionary.attributes as Record<string, JsonObject>;
  }

  /** The item's attributes the export may use (no other profile's), completed from the dictionary. */
  attributes(item: Item): Record<string, JsonObject> {
    const out: Record<string, JsonObject> = {};
    for (const [name, attribute] of Object.entries(item.attributes)) {
      if (attribute === null) continue;
      const profile = attribute.profile;
      if (typeof profile === 'string' && !PROFILES.includes(profile)) continue;
      const base = this.dictionary[name];
      if (!base) throw new Error(`${item.name}.${name} is not in the dictionary`);
      out[name] = deepMerge(base, attribute) as JsonObject;
    }
    return out;
  }

  /** The schema of one class or object: its attributes, required ones and constraints. */
  item(item: Item, attributes: Record<string, JsonObject>, title: string): Compiled {
    const refs = new Set<string>();
    const properties: JsonObject = {};
    for (const name of Object.keys(attributes).sort()) {
      const property = this.attribute(`${item.name}.${name}`, attributes[name]!, refs);
      properties[name] = property;
    }
    const names = Object.keys(properties);
    if (names.length === 0) {
      // OCSF's open object: `object` (the type of `unmapped`), which defines no attributes.
      return { schema: { title, type: 'object' }, refs };
    }
    const schema: JsonObject = { title, type: 'object', properties, additionalProperties: false };
    const required = names.filter((name) => attributes[name]!.requirement === 'required');
    if (required.length > 0) schema.required = required;
    const atLeastOne = item.constraints?.at_least_one?.filter((name) => names.includes(name));
    if (atLeastOne && atLeastOne.length > 0) {
      schema.anyOf = atLeastOne.map((name) => ({ required: [name] }));
    }
    const justOne = item.constraints?.just_one?.filter((name) => names.includes(name));
    if (justOne && justOne.length > 0) {
      schema.oneOf = justOne.map((name) => ({
        required: [name],
        not: { anyOf: justOne.filter((other) => other !== name).map((other) => ({ required: [other] })) },
      }));
    }
    return { schema, refs };
  }

  private attribute(where: string, attribute: JsonObject, refs: Set<string>): JsonObject {
    const type = attribute.type;
    if (typeof type !== 'string') throw new Error(`${where} has no type`);
    const object = this.types[type] ? undefined : this.objects.get(type);
    if (!this.types[type] && !object) throw new Error(`${where}: unknown type ${type}`);
    const deprecated = (attribute['@deprecated'] ?? object?.['@deprecated']) as JsonObject | undefined;
    if (deprecated) {
      const what = attribute['@deprecated'] ? 'attribute' : `object ${type}`;
      return {
        description: `Deprecated ${what} since OCSF ${text(deprecated.since, where)}: ${stripHtml(text(deprecated.message, where))}`,
        deprecated: true,
        not: {},
      };
    }
    let value: JsonObject;
    if (object) {
      refs.add(type);
      value = { $ref: `#/$defs/${objectKey(type)}` };
    } else {
      value = this.primitive(type);
      if (isObject(attribute.enum)) {
        const keys = Object.entries(attribute.enum)
          .filter(([, def]) => !(isObject(def) && def['@deprecated']))
          .map(([key]) => key);
        value.enum = keys.map((key) => (value.type === 'string' ? key : Number(key))).sort(byValue);
      }
    }
    return attribute.is_array === true ? { type: 'array', items: value } : value;
  }

  /** A dictionary data type, with the constraints of its super type under its own. */
  private primitive(name: string): JsonObject {
    const type = this.types[name]!;
    const superName = typeof type.type === 'string' ? type.type : undefined;
    const base = superName ? this.types[superName]! : {};
    const root = superName ?? name;
    const out: JsonObject = {};
    switch (root) {
      case 'string_t':
        out.type = 'string';
        break;
      case 'integer_t':
      case 'long_t':
        out.type = 'integer';
        break;
      case 'float_t':
        out.type = 'number';
        break;
      case 'boolean_t':
        out.type = 'boolean';
        break;
      case 'json_t':
        return {};
      default:
        throw new Error(`data type ${name}: unknown primitive ${root}`);
    }
    const maxLen = type.max_len ?? base.max_len;
    if (typeof maxLen === 'number') out.maxLength = maxLen;
    const regex = type.regex ?? base.regex;
    if (typeof regex === 'string') {
      new RegExp(regex, 'u'); // Ajv compiles patterns with the u flag: fail here, not in the test
      out.pattern = regex;
    }
    const range = type.range ?? base.range;
    if (Array.isArray(range) && typeof range[0] === 'number' && typeof range[1] === 'number') {
      [out.minimum, out.maximum] = [range[0], range[1]];
    }
    const values = type.values ?? base.values;
    if (Array.isArray(values) && root !== 'boolean_t') out.enum = values;
    return out;
  }
}

function byValue(a: Json, b: Json): number {
  return typeof a === 'number' && typeof b === 'number'
    ? a - b
    : JSON.stringify(a).localeCompare(JSON.stringify(b));
}

/** A string the source must hold at this place; anything else is a schema this script does not know. */
function text(value: Json | undefined, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function stripHtml(text: string): string {
  return text.replace(/<[^>]+>/g, '');
}

/** The commit of the checkout, when it is a git work tree, for the generated file's comment. */
function gitCommit(dir: string): string | undefined {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

const classKey = (name: string) => `class.${name}`;
const objectKey = (name: string) => `object.${name}`;

async function main(): Promise<void> {
  const [home, outArg] = process.argv.slice(2);
  if (!home) {
    console.error('usage: npx tsx scripts/compile-ocsf-schema.ts <ocsf-schema checkout> [output file]');
    process.exit(2);
  }
  const src = new OcsfSource(path.resolve(home));
  const version = text(src.read('version.json').version, 'version.json');
  if (version !== OCSF_VERSION) {
    throw new Error(`the checkout is OCSF ${version}; the export writes ${OCSF_VERSION}`);
  }
  const dictionary = src.read('dictionary.json');
  const categories = (src.read('categories.json').attributes ?? {}) as Record<string, JsonObject>;

  const load = (dir: string) => {
    const items = new Map<string, Item>();
    for (const file of src.files(dir)) {
      const item = src.item(file);
      items.set(item.name, item);
    }
    return resolveAll(items);
  };
  const classes = load('events');
  const objects = load('objects');
  const compiler = new Compiler(dictionary, objects);

  const defs: JsonObject = {};
  const pending: string[] = [];
  const dispatch: JsonObject[] = [];
  const compiledUids: number[] = [];

  for (const [name, cls] of [...classes].sort(([a], [b]) => a.localeCompare(b))) {
    const category = cls.category ? categories[cls.category] : undefined;
    const categoryUid = typeof category?.uid === 'number' ? category.uid : 0;
    const classUid = categoryUid * 1000 + (cls.uid ?? 0);
    if (!OCSF_CLASS_UIDS.includes(classUid) || (cls.uid === undefined && name !== 'base_event')) continue;
    if (cls['@deprecated']) throw new Error(`class ${name} (${classUid}) is deprecated in OCSF ${version}`);

    const attributes = compiler.attributes(cls);
    // The identifiers the OCSF server computes per class.
    const activities = Object.keys((attributes.activity_id?.enum ?? {}) as JsonObject).map(Number);
    attributes.class_uid = { ...attributes.class_uid, enum: { [classUid]: {} } };
    attributes.category_uid = { ...attributes.category_uid, enum: { [categoryUid]: {} } };
    attributes.type_uid = {
      ...attributes.type_uid,
      enum: Object.fromEntries([0, ...activities].map((a) => [classUid * 100 + a, {}])),
    };
    const { schema, refs } = compiler.item(cls, attributes, `${String(cls.caption)} (${classUid})`);
    // The OCSF validator checks that type_uid is class_uid × 100 + activity_id.
    schema.allOf = activities.map((activity) => ({
      if: { properties: { activity_id: { const: activity } }, required: ['activity_id'] },
      then: { properties: { type_uid: { const: classUid * 100 + activity } } },
    }));
    defs[classKey(name)] = schema;
    pending.push(...refs);
    compiledUids.push(classUid);
    dispatch.push({
      if: { properties: { class_uid: { const: classUid } } },
      then: { $ref: `#/$defs/${classKey(name)}` },
    });
  }
  const missing = OCSF_CLASS_UIDS.filter((uid) => !compiledUids.includes(uid));
  if (missing.length > 0) throw new Error(`no OCSF ${version} class has uid ${missing.join(', ')}`);

  const objectDefs: JsonObject = {};
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (objectDefs[objectKey(name)]) continue;
    const object = objects.get(name)!;
    const { schema, refs } = compiler.item(object, compiler.attributes(object), String(object.caption));
    objectDefs[objectKey(name)] = schema;
    pending.push(...refs);
  }
  for (const key of Object.keys(objectDefs).sort()) defs[key] = objectDefs[key]!;

  const commit = gitCommit(src.home);
  const schema: JsonObject = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `OCSF ${version} events of the classes Elevate's audit export emits`,
    $comment:
      `Generated by scripts/compile-ocsf-schema.ts from github.com/ocsf/ocsf-schema ${version}` +
      `${commit ? ` (commit ${commit})` : ''}, profiles: ${PROFILES.length > 0 ? PROFILES.join(', ') : 'none'}. ` +
      'Do not edit: regenerate (see README.md beside it).',
    type: 'object',
    required: ['class_uid'],
    properties: { class_uid: { enum: compiledUids.sort((a, b) => a - b) } },
    allOf: dispatch,
    $defs: defs,
  };

  const out = path.resolve(outArg ?? DEFAULT_OUT);
  mkdirSync(path.dirname(out), { recursive: true });
  const options = await resolveConfig(out);
  writeFileSync(out, await format(JSON.stringify(schema), { ...options, filepath: out }));
  console.log(
    `${path.relative(process.cwd(), out)}: ${compiledUids.length} classes, ${Object.keys(objectDefs).length} objects`,
  );
}

await main();
