/**
 * The TypeScript client's generated module (`clients/typescript/src/generated.ts`): one type per
 * component schema the bot operations reach, a list of the values of each string enum, and the
 * operations' methods, paths and bodies. Written from {@link BotApi} only, so it says what the
 * server's schemas say; the hand-written client (`client.ts`) builds on these names.
 *
 * The JSON Schema subset the document uses is translated: objects (properties, `required`,
 * `additionalProperties`), arrays, string `enum` and `const`, `oneOf`/`anyOf` as unions,
 * `allOf` as intersections, `$ref` by name. Anything else becomes `unknown` rather than a guess.
 */
import type { BotApi, BotOperation, JsonSchema } from './bot-api.js';
import { refName } from './bot-api.js';

/** Where the generated module goes, relative to the project root. */
export const TYPESCRIPT_CLIENT_FILE = 'clients/typescript/src/generated.ts';

/** Component names that would shadow a global in TypeScript, and the names used instead. */
const RENAMED: Record<string, string> = { Error: 'ErrorBody' };

/** The TypeScript name of a component schema. */
export function typeName(component: string): string {
  return RENAMED[component] ?? component;
}

/** `ElevationStatus` → `ELEVATION_STATUS_VALUES`: the constant listing a string enum's values. */
export function valuesConstName(component: string): string {
  return `${typeName(component)
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()}_VALUES`;
}

/** A JSDoc block of `text` at `indent`, or nothing. `*\/` in the text cannot end the comment early. */
function doc(text: string | undefined, indent = ''): string {
  if (!text) return '';
  const lines = text.replaceAll('*/', '*\\/').split('\n');
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l}` : ''}`).join('\n')}\n${indent} */\n`;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function key(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function literal(value: unknown): string {
  return JSON.stringify(value);
}

function union(types: string[]): string {
  const unique = [...new Set(types)];
  if (unique.includes('unknown')) return 'unknown';
  return unique.length === 0 ? 'never' : unique.join(' | ');
}

/** Parenthesise a union or intersection where it is the element of an array. */
function element(type: string): string {
  return /[|&]/.test(type) ? `(${type})[]` : `${type}[]`;
}

/** The TypeScript type of `schema`, inline. */
export function typeOf(schema: JsonSchema | undefined, indent = ''): string {
  if (!schema) return 'unknown';
  const ref = refName(schema);
  if (ref !== undefined) return typeName(ref);
  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return union(schema.enum.map(literal));
  for (const combinator of ['oneOf', 'anyOf'] as const) {
    const options = schema[combinator];
    if (Array.isArray(options)) return union(options.map((s) => typeOf(s as JsonSchema, indent)));
  }
  if (Array.isArray(schema.allOf)) {
    return (schema.allOf as JsonSchema[]).map((s) => typeOf(s, indent)).join(' & ');
  }
  const type = schema.type;
  if (Array.isArray(type)) return union(type.map((t) => typeOf({ ...schema, type: t as string }, indent)));
  switch (type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const items = schema.items as JsonSchema | undefined;
      return element(items ? typeOf(items, indent) : 'unknown');
    }
    case 'object':
      return objectType(schema, indent);
    default:
      return 'unknown';
  }
}

/** An object schema as an inline type: its properties, or a record of its additional properties. */
function objectType(schema: JsonSchema, indent: string): string {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const names = Object.keys(properties);
  const extra = schema.additionalProperties;
  const extraType =
    extra === undefined || extra === true
      ? 'unknown'
      : extra === false
        ? undefined
        : typeOf(extra as JsonSchema, indent);
  if (names.length === 0) {
    return extraType === undefined ? 'Record<string, never>' : `Record<string, ${extraType}>`;
  }
  return `{\n${members(schema, `${indent}  `)}${indent}}`;
}

/** The members of an object schema, one per line, each with its description. */
function members(schema: JsonSchema, indent: string): string {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties)
    .map(([name, property]) => {
      const description = typeof property.description === 'string' ? property.description : undefined;
      const optional = required.has(name) ? '' : '?';
      return `${doc(description, indent)}${indent}${key(name)}${optional}: ${typeOf(property, indent)};\n`;
    })
    .join('');
}

/** One component: an interface for an object with properties, else a type alias (and an enum's values). */
function component(name: string, schema: JsonSchema): string {
  const description = typeof schema.description === 'string' ? schema.description : undefined;
  const ts = typeName(name);
  if (schema.type === 'object' && schema.properties && schema.additionalProperties !== true) {
    return `${doc(description)}export interface ${ts} {\n${members(schema, '  ')}}\n`;
  }
  let out = `${doc(description)}export type ${ts} = ${typeOf(schema)};\n`;
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string')) {
    out += `\n/** Every value of {@link ${ts}}, in the document's order. */\n`;
    out += `export const ${valuesConstName(name)} = [${schema.enum.map(literal).join(', ')}] as const satisfies readonly ${ts}[];\n`;
  }
  return out;
}

/** The parameters of one kind as an object type (`Record<string, never>` when there are none). */
function paramsType(params: BotOperation['pathParams']): string {
  if (params.length === 0) return 'Record<string, never>';
  const schema: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(
      params.map((p) => [p.name, p.description ? { ...p.schema, description: p.description } : p.schema]),
    ),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
  return typeOf(schema, '    ');
}

function operationTypes(op: BotOperation): string {
  const success = op.responses.filter((r) => r.status >= 200 && r.status < 300);
  const failure = op.responses.filter((r) => r.status >= 400 && r.schema);
  const body = op.body ? `${typeOf(op.body.schema)}${op.body.required ? '' : ' | undefined'}` : 'undefined';
  return [
    `${doc(op.summary, '  ')}  ${op.operationId}: {`,
    `    pathParams: ${paramsType(op.pathParams)};`,
    `    query: ${paramsType(op.queryParams)};`,
    `    body: ${body};`,
    `    response: ${union(success.map((r) => typeOf(r.schema)))};`,
    `    error: ${union(failure.map((r) => typeOf(r.schema)))};`,
    '  };',
  ].join('\n');
}

function operationEntry(op: BotOperation): string {
  const success = op.responses.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.status);
  return `  ${op.operationId}: { method: ${literal(op.method.toUpperCase())}, path: ${literal(op.path)}, success: [${success.join(', ')}] },`;
}

/**
 * The generated module's text (not yet formatted: the generator runs Prettier over it, as over
 * every file of the repository).
 */
export function emitTypeScript(api: BotApi): string {
  const parts = [
    `/**
 * Generated by \`npm run clients:generate\` (scripts/generate-clients.ts) from Elevate's OpenAPI
 * document: the bot operations and the schemas of what they take and answer. Do not edit by
 * hand; test/unit/clients-in-sync.test.ts fails when this file and the server disagree.
 */
`,
    ...Object.entries(api.schemas).map(([name, schema]) => component(name, schema)),
    `/** The bot API's operations: method, path template and the statuses that mean success. */
export const OPERATIONS = {
${api.operations.map(operationEntry).join('\n')}
} as const;
`,
    `/** The name of a bot operation (its \`operationId\`). */
export type OperationId = keyof typeof OPERATIONS;
`,
    `/** What each operation takes (path parameters, query, JSON body) and answers (success and error bodies). */
export interface OperationTypes {
${api.operations.map(operationTypes).join('\n')}
}
`,
  ];
  return parts.join('\n');
}
