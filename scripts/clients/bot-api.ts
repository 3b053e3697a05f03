/**
 * The part of Elevate's OpenAPI document the client libraries are generated from: the bot
 * operations (the `bots` tag) and every component schema they reach. Each emitter
 * (`typescript-emitter.ts`, `python-emitter.ts`) turns this one picture into its language, so the
 * clients agree with each other and with the server: a field added to a request or response
 * schema on the server changes the document, and the clients-in-sync test fails until the
 * generated files are written again (`npm run clients:generate`).
 *
 * The document is built in-process, as the server builds it, without a running server and
 * without a policy (so `role` is any role id, not the `enum` of one instance's roles).
 */
import { buildOpenApi } from '../../server/openapi/build-document.js';
import type {
  HttpMethod,
  JsonSchema,
  OpenApiDocument,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiRef,
} from '../../server/openapi/document-types.js';

export type { JsonSchema } from '../../server/openapi/document-types.js';

/** The prefix of a `$ref` to a component schema. */
export const SCHEMA_REF_PREFIX = '#/components/schemas/';

/** A path or query parameter of an operation. */
export interface BotParameter {
  name: string;
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** One answer of an operation: its status, what it means, and its JSON body's schema, if any. */
export interface BotResponse {
  status: number;
  description: string;
  /** A `$ref` to a component, or an inline schema. */
  schema?: JsonSchema;
}

/** One bot operation, as the clients need it. */
export interface BotOperation {
  /** The document's `operationId`, e.g. `requestElevation`. */
  operationId: string;
  method: HttpMethod;
  /** The path template, e.g. `/v1/elevations/{id}`. */
  path: string;
  summary: string;
  description: string;
  pathParams: BotParameter[];
  queryParams: BotParameter[];
  /** The JSON request body, if the operation takes one. */
  body?: { required: boolean; description?: string; schema: JsonSchema };
  /** Every documented answer, in ascending status order. */
  responses: BotResponse[];
}

/** What the clients are generated from. */
export interface BotApi {
  /** The operations, in the document's order. */
  operations: BotOperation[];
  /** Every component schema the operations reach (directly or through other components), by name, sorted. */
  schemas: Record<string, JsonSchema>;
}

/** The component name of a `$ref` schema (`{$ref: '#/components/schemas/X'}` → `X`), else undefined. */
export function refName(schema: JsonSchema | undefined): string | undefined {
  const ref = schema?.$ref;
  return typeof ref === 'string' && ref.startsWith(SCHEMA_REF_PREFIX)
    ? ref.slice(SCHEMA_REF_PREFIX.length)
    : undefined;
}

/** The OpenAPI document as the server builds it, with no policy (version fixed: it is not part of the clients). */
export function clientDocument(): OpenApiDocument {
  return buildOpenApi({ version: '0' });
}

/**
 * The bot operations of `doc` (those tagged `tag`) and the component schemas they reach.
 *
 * @throws when an operation has no `operationId`, or a `$ref` names no component
 */
export function botApiOf(doc: OpenApiDocument, tag = 'bots'): BotApi {
  const operations: BotOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item) as [HttpMethod, OpenApiOperation][]) {
      if (op.tags.includes(tag)) operations.push(operationOf(path, method, op));
    }
  }
  const names = new Set<string>();
  const visit = (schema: unknown): void => {
    if (Array.isArray(schema)) return schema.forEach(visit);
    if (!schema || typeof schema !== 'object') return;
    const name = refName(schema as JsonSchema);
    if (name !== undefined) {
      if (names.has(name)) return;
      const component = doc.components.schemas[name];
      if (!component) throw new Error(`$ref ${SCHEMA_REF_PREFIX}${name} names no component schema`);
      names.add(name);
      return visit(component);
    }
    for (const [key, value] of Object.entries(schema)) {
      // Data, not schemas: nothing in them is a reference.
      if (key !== 'enum' && key !== 'const' && key !== 'default' && key !== 'examples') visit(value);
    }
  };
  for (const op of operations) {
    for (const p of [...op.pathParams, ...op.queryParams]) visit(p.schema);
    visit(op.body?.schema);
    for (const r of op.responses) visit(r.schema);
  }
  const schemas: Record<string, JsonSchema> = {};
  for (const name of [...names].sort()) schemas[name] = doc.components.schemas[name]!;
  return { operations, schemas };
}

/** The bot API of the document the server builds ({@link clientDocument}). */
export function botApi(): BotApi {
  return botApiOf(clientDocument());
}

function operationOf(path: string, method: HttpMethod, op: OpenApiOperation): BotOperation {
  if (!op.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
  const params = op.parameters.filter((p): p is OpenApiParameter => !isRef(p));
  const paramOf = (p: OpenApiParameter): BotParameter => ({
    name: p.name,
    required: p.required,
    ...(p.description !== undefined ? { description: p.description } : {}),
    schema: p.schema,
  });
  const json = op.requestBody?.content['application/json'];
  return {
    operationId: op.operationId,
    method,
    path,
    summary: op.summary,
    description: op.description,
    pathParams: params.filter((p) => p.in === 'path').map(paramOf),
    queryParams: params.filter((p) => p.in === 'query').map(paramOf),
    ...(op.requestBody && json
      ? {
          body: {
            required: op.requestBody.required,
            ...(op.requestBody.description !== undefined ? { description: op.requestBody.description } : {}),
            schema: json.schema,
          },
        }
      : {}),
    responses: Object.entries(op.responses)
      .map(([status, r]) => {
        const schema = r.content?.['application/json']?.schema;
        return { status: Number(status), description: r.description, ...(schema ? { schema } : {}) };
      })
      .sort((a, b) => a.status - b.status),
  };
}

function isRef(p: OpenApiParameter | OpenApiRef): p is OpenApiRef {
  return '$ref' in p;
}
