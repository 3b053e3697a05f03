/**
 * The Python client's generated module, emitted from the bot operations of the OpenAPI
 * document: one `TypedDict` per object schema and one `Literal` union per enum (so the package
 * `elevate_client` types exactly what the server validates and answers), the operations'
 * methods, paths and success statuses (`OPERATIONS`), and `BotOperations`, a base class with
 * one typed method per operation that the hand-written `ElevateClient` builds on.
 *
 * Pure: schemas in, Python source out ({@link emitPython}). `npm run clients:generate` writes the
 * result to `clients/python/src/elevate_client/_generated.py` (it is one of the emitters of
 * `scripts/clients/generate.ts`), and the clients-in-sync test fails when the committed file and
 * the document differ.
 *
 * The source targets Python 3.9: no `NotRequired` (3.11), so an object with both required and
 * optional fields becomes a base class of the required ones and a `total=False` class adding
 * the optional ones; no `X | Y` (3.10), so unions are `Union[...]`.
 */
import { refName, SCHEMA_REF_PREFIX, type BotApi, type BotOperation, type JsonSchema } from './bot-api.js';

const WIDTH = 96;

const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
);

/** One emitted definition: a type alias or a class, with the names it uses. */
interface Definition {
  name: string;
  code: string;
}

class Emitter {
  private readonly out: Definition[] = [];
  private readonly done = new Set<string>();
  private readonly inProgress = new Set<string>();
  readonly imports = new Set<string>();

  constructor(private readonly components: Record<string, JsonSchema>) {}

  definitions(): Definition[] {
    return this.out;
  }

  /** Emit a component (and, first, everything it refers to) once. */
  component(name: string): void {
    if (this.done.has(name)) return;
    // Python evaluates a type alias when it runs: a schema that refers to itself cannot be one.
    if (this.inProgress.has(name)) throw new Error(`${name} refers to itself`);
    const schema = this.components[name];
    if (!schema) throw new Error(`the schemas refer to ${name}, which is not among them`);
    this.inProgress.add(name);
    this.named(name, schema);
    this.inProgress.delete(name);
    this.done.add(name);
  }

  /** Define `name` as `schema`: a class for an object with properties, else an alias. */
  private named(name: string, schema: JsonSchema): void {
    if (isObjectWithProperties(schema)) {
      this.typedDict(name, schema);
      return;
    }
    const type = this.typeOf(schema, name);
    this.out.push({ name, code: `${name} = ${type}\n${docstring(describe(schema), '')}` });
  }

  private typedDict(name: string, schema: JsonSchema): void {
    const properties = schema.properties as Record<string, JsonSchema>;
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const fields = Object.entries(properties).map(([key, property]) => ({
      key,
      required: required.has(key),
      type: this.typeOf(property, name + pascal(key)),
      description: describe(property),
    }));
    this.imports.add('TypedDict');
    const doc = docstring(describe(schema), '    ');
    const mandatory = fields.filter((f) => f.required);
    const optional = fields.filter((f) => !f.required);
    if (fields.some((f) => !isIdentifier(f.key))) {
      // Keys Python cannot spell as class attributes: the functional form.
      const entries = (list: typeof fields) =>
        list.map((f) => `${JSON.stringify(f.key)}: ${f.type}`).join(', ');
      const base = `_${name}Required`;
      const code =
        optional.length === 0
          ? `${name} = TypedDict(${JSON.stringify(name)}, {${entries(mandatory)}})\n`
          : `${base} = TypedDict(${JSON.stringify(base)}, {${entries(mandatory)}})\n` +
            `${name} = TypedDict(${JSON.stringify(name)}, {${entries(optional)}}, total=False)\n`;
      this.out.push({ name, code });
      return;
    }
    const body = (list: typeof fields) =>
      list.map((f) => `${comment(f.description, '    ')}    ${f.key}: ${f.type}\n`).join('');
    const head = doc ? `${doc}\n` : '';
    let code: string;
    if (optional.length === 0) code = `class ${name}(TypedDict):\n${head}${body(mandatory)}`;
    else if (mandatory.length === 0)
      code = `class ${name}(TypedDict, total=False):\n${head}${body(optional)}`;
    else {
      const base = `_${name}Required`;
      code =
        `class ${base}(TypedDict):\n${body(mandatory)}\n\n` +
        `class ${name}(${base}, total=False):\n${head}${body(optional)}`;
    }
    this.out.push({ name, code });
  }

  /** The Python type of `schema`; nested objects become classes named after `hint`. */
  typeOf(schema: JsonSchema, hint: string): string {
    if (typeof schema.$ref === 'string') {
      const target = refName(schema);
      if (target === undefined) throw new Error(`unsupported $ref ${schema.$ref}`);
      this.component(target);
      return target;
    }
    if ('const' in schema) return this.literal([schema.const]);
    if (Array.isArray(schema.enum)) return this.literal(schema.enum);
    const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
    if (variants) {
      return this.union(variants.map((variant, i) => this.typeOf(variant, hint + variantName(variant, i))));
    }
    if (Array.isArray(schema.type)) {
      const types = schema.type as string[];
      return this.union(types.map((t) => this.typeOf({ ...schema, type: t }, hint)));
    }
    switch (schema.type) {
      case 'string':
        return 'str';
      case 'integer':
        return 'int';
      case 'number':
        return 'float';
      case 'boolean':
        return 'bool';
      case 'null':
        return 'None';
      case 'array': {
        this.imports.add('List');
        const items = schema.items as JsonSchema | undefined;
        return `List[${items ? this.typeOf(items, `${hint}Item`) : this.any()}]`;
      }
      case 'object':
        if (isObjectWithProperties(schema)) {
          this.named(hint, schema);
          return hint;
        }
        this.imports.add('Dict');
        return `Dict[str, ${this.any()}]`;
      default:
        return this.any();
    }
  }

  private any(): string {
    this.imports.add('Any');
    return 'Any';
  }

  private literal(values: unknown[]): string {
    this.imports.add('Literal');
    return `Literal[${values.map(pythonValue).join(', ')}]`;
  }

  private union(types: string[]): string {
    const unique = [...new Set(types)];
    if (unique.length === 1) return unique[0]!;
    this.imports.add('Union');
    return `Union[${unique.join(', ')}]`;
  }
}

/** Where the generated module goes, relative to the project root. */
export const PYTHON_CLIENT_FILE = 'clients/python/src/elevate_client/_generated.py';

/** Component names that would shadow a Python built-in or read badly, and the names used instead. */
const RENAMED: Record<string, string> = { Error: 'ErrorBody' };

/**
 * The Python module of the bot API's types: every component schema of `api`, in an order
 * Python can run (what a definition uses comes before it), and for each string enum a tuple of
 * its values (`ELEVATION_STATUS_VALUES`).
 */
export function emitPython(api: BotApi): string {
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(api.schemas)) schemas[pythonName(name)] = renameRefs(schema);
  const emitter = new Emitter(schemas);
  for (const name of Object.keys(schemas).sort()) emitter.component(name);
  const header =
    `"""Types and operations of Elevate's bot API, generated from the OpenAPI document the server\n` +
    `builds.\n\n` +
    `Do not edit: run \`npm run clients:generate\` (scripts/clients/python-emitter.ts);\n` +
    `test/unit/clients-in-sync.test.ts fails when this file and the document differ.\n"""\n\n`;
  const enums = Object.keys(schemas)
    .sort()
    .filter((name) => isStringEnum(schemas[name]!))
    .map((name) => {
      const values = (schemas[name]!.enum as string[]).map((v) => `    ${JSON.stringify(v)},\n`).join('');
      return `${valuesName(name)}: Tuple[${name}, ...] = (\n${values})`;
    });
  if (enums.length > 0) emitter.imports.add('Tuple');
  const operations = emitOperations(api.operations, emitter);
  const imports =
    fromImport('typing', [...emitter.imports].sort()) +
    (api.operations.some((o) => o.pathParams.length > 0) ? 'from urllib.parse import quote\n' : '');
  const exported = [
    ...emitter
      .definitions()
      .map((d) => d.name)
      .filter((n) => !n.startsWith('_')),
    ...Object.keys(schemas)
      .sort()
      .filter((name) => isStringEnum(schemas[name]!))
      .map(valuesName),
    ...(api.operations.length > 0 ? ['Operation', 'OPERATIONS', 'BotOperations'] : []),
  ];
  const all = `__all__ = [\n${exported.map((n) => `    ${JSON.stringify(n)},\n`).join('')}]\n`;
  const body = [
    ...emitter.definitions().map((d) => d.code.trimEnd().split('\n').map(fitLine).join('\n')),
    ...enums,
    ...operations,
  ].join('\n\n\n');
  return `${header}${imports}\n${all}\n\n${body}\n`;
}

/**
 * The operations: a table of their methods, paths and success statuses, and a base class with
 * one method per operation, named after its `operationId` in snake case. Each method types its
 * path parameters, query (keyword-only; `None` leaves a parameter out), JSON body and answer,
 * builds the path, and hands the call to `_send`, which the subclass implements (HTTP,
 * retries, errors). Other keyword arguments go to `_send` unchanged.
 */
function emitOperations(operations: BotOperation[], emitter: Emitter): string[] {
  if (operations.length === 0) return [];
  for (const name of ['Any', 'Dict', 'NamedTuple', 'Optional', 'Tuple', 'cast']) emitter.imports.add(name);
  const named =
    `class Operation(NamedTuple):\n` +
    `    """One operation of the bot API: method, path template, the statuses that mean success."""\n\n` +
    `    method: str\n    path: str\n    success: Tuple[int, ...]\n`;
  const entries = operations.map((op) => {
    const success = successes(op).map((r) => String(r.status));
    const tuple = success.length === 1 ? `(${success[0]},)` : `(${success.join(', ')})`;
    const entry = `    ${JSON.stringify(op.operationId)}: Operation(${JSON.stringify(op.method.toUpperCase())}, ${JSON.stringify(op.path)}, ${tuple}),`;
    return entry.length <= WIDTH
      ? `${entry}\n`
      : `    ${JSON.stringify(op.operationId)}: Operation(\n        ${JSON.stringify(op.method.toUpperCase())}, ${JSON.stringify(op.path)}, ${tuple}\n    ),\n`;
  });
  const table =
    `OPERATIONS: Dict[str, Operation] = {\n${entries.join('')}}\n` +
    `"""The bot API's operations, by \`operationId\`."""\n`;
  const base =
    `class BotOperations:\n` +
    `    """The bot API's operations, one typed method each. A subclass implements \`\`_send\`\`: it\n` +
    `    sends \`\`json\`\` and the \`\`params\`\` that are not \`\`None\`\`, and returns the JSON answer."""\n\n` +
    `    def _send(\n` +
    `        self,\n` +
    `        operation: Operation,\n` +
    `        path: str,\n` +
    `        *,\n` +
    `        json: Any = None,\n` +
    `        params: Optional[Dict[str, Any]] = None,\n` +
    `        **options: Any,\n` +
    `    ) -> Any:\n` +
    `        raise NotImplementedError\n\n` +
    operations.map((op) => operationMethod(op, emitter)).join('\n');
  return [named.trimEnd(), table.trimEnd(), base.trimEnd()];
}

function successes(op: BotOperation): BotOperation['responses'] {
  return op.responses.filter((r) => r.status >= 200 && r.status < 300);
}

function operationMethod(op: BotOperation, emitter: Emitter): string {
  const hint = pascal(op.operationId);
  const args: string[] = ['self'];
  for (const p of op.pathParams)
    args.push(`${snake(p.name)}: ${emitter.typeOf(p.schema, hint + pascal(p.name))}`);
  if (op.body) {
    const type = emitter.typeOf(op.body.schema, `${hint}Body`);
    args.push(op.body.required ? `body: ${type}` : `body: Optional[${type}] = None`);
  }
  if (op.queryParams.length > 0) args.push('*');
  for (const q of op.queryParams) {
    args.push(`${snake(q.name)}: Optional[${emitter.typeOf(q.schema, hint + pascal(q.name))}] = None`);
  }
  args.push('**options: Any');
  const answers = [
    ...new Set(
      successes(op)
        .filter((r) => r.schema !== undefined)
        .map((r) => emitter.typeOf(r.schema!, `${hint}Answer`)),
    ),
  ];
  if (answers.length > 1) emitter.imports.add('Union');
  const returns =
    answers.length === 0 ? 'None' : answers.length === 1 ? answers[0]! : `Union[${answers.join(', ')}]`;
  const path =
    op.pathParams.length > 0
      ? `f${JSON.stringify(op.path).replace(/\{([^}]+)\}/g, (_m, name: string) => `{quote(str(${snake(name)}), safe='')}`)}`
      : JSON.stringify(op.path);
  const call: string[] = [`OPERATIONS[${JSON.stringify(op.operationId)}]`, path];
  if (op.body) call.push('json=body');
  if (op.queryParams.length > 0) {
    const query = op.queryParams.map((q) => `${JSON.stringify(q.name)}: ${snake(q.name)}`).join(', ');
    call.push(`params={${query}}`);
  }
  call.push('**options');
  const doc = docstring(op.summary, '        ');
  return (
    `    def ${snake(op.operationId)}(\n${args.map((a) => `        ${a},\n`).join('')}    ) -> ${returns}:\n` +
    doc +
    `        answer = self._send(\n${call.map((c) => `            ${c},\n`).join('')}        )\n` +
    `        return cast(${returns}, answer)\n`
  );
}

/** `from module import a, b`, one name a line when they do not fit on one. */
function fromImport(module: string, names: string[]): string {
  const line = `from ${module} import ${names.join(', ')}`;
  return line.length <= WIDTH
    ? `${line}\n`
    : `from ${module} import (\n${names.map((n) => `    ${n},\n`).join('')})\n`;
}

/** `requestElevation` → `request_elevation`. */
function snake(name: string): string {
  const out = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .toLowerCase();
  return PYTHON_KEYWORDS.has(out) ? `${out}_` : out;
}

function pythonName(component: string): string {
  return RENAMED[component] ?? component;
}

/** `ElevationStatus` → `ELEVATION_STATUS_VALUES`. */
function valuesName(name: string): string {
  return `${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_VALUES`;
}

function isStringEnum(schema: JsonSchema): boolean {
  return Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string');
}

/** `schema` with its `$ref`s to renamed components pointing at the new names. */
function renameRefs(schema: unknown): JsonSchema {
  if (Array.isArray(schema)) return schema.map(renameRefs) as unknown as JsonSchema;
  if (!schema || typeof schema !== 'object') return schema as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    const name = key === '$ref' ? refName({ $ref: value }) : undefined;
    out[key] = name !== undefined ? `${SCHEMA_REF_PREFIX}${pythonName(name)}` : renameRefs(value);
  }
  return out;
}

/** A line too long for {@link WIDTH}: a class's bases on a line of their own, a `Literal[...]`'s values one a line. */
function fitLine(line: string): string {
  const header = /^class (\w+)\((.*)\):$/.exec(line);
  if (line.length > WIDTH && header) return `class ${header[1]}(\n    ${header[2]}\n):`;
  const match = /^(\s*)(.*?Literal\[)([^[\]]*)(\].*)$/.exec(line);
  if (line.length <= WIDTH || !match) return line;
  const [, indent, head, values, tail] = match as unknown as [string, string, string, string, string];
  const items = values.split(', ').map((v) => `${indent}    ${v},\n`);
  return `${indent}${head}\n${items.join('')}${indent}${tail}`;
}

function isObjectWithProperties(schema: JsonSchema): boolean {
  return (
    (schema.type === 'object' || schema.type === undefined) &&
    typeof schema.properties === 'object' &&
    schema.properties !== null &&
    Object.keys(schema.properties).length > 0
  );
}

function isIdentifier(key: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && !PYTHON_KEYWORDS.has(key);
}

/** A variant of a union: named after its string `const` discriminator if it has one. */
function variantName(variant: JsonSchema, index: number): string {
  const properties = (variant.properties ?? {}) as Record<string, JsonSchema>;
  for (const property of Object.values(properties)) {
    if (typeof property.const === 'string') return pascal(property.const);
  }
  return String(index + 1);
}

function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

function pythonValue(value: unknown): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  // A JSON string or number is also a Python literal of the same value.
  return JSON.stringify(value);
}

function describe(schema: JsonSchema): string | undefined {
  return typeof schema.description === 'string' ? schema.description : undefined;
}

/** Words of `text` in lines of at most `WIDTH` columns, each starting with `prefix`. */
function wrap(text: string, prefix: string, width = WIDTH): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split(/\n+/)) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && prefix.length + line.length + 1 + word.length > width) {
        lines.push(prefix + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(prefix + line);
  }
  return lines;
}

function docstring(text: string | undefined, indent: string): string {
  if (!text) return '';
  const safe = text.replaceAll('\\', '\\\\').replaceAll('"""', '\\"\\"\\"');
  // The quotes share the first line (and, for a one-line docstring, the closing ones too).
  const lines = wrap(safe, indent, WIDTH - 6);
  return `${indent}"""${lines.join('\n').slice(indent.length)}${lines.length > 1 ? `\n${indent}` : ''}"""\n`;
}

function comment(text: string | undefined, indent: string): string {
  if (!text) return '';
  return wrap(text, `${indent}#: `)
    .map((l) => `${l}\n`)
    .join('');
}
