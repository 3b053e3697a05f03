/**
 * The generated API reference: the OpenAPI document is structurally valid OpenAPI 3.1 (checked
 * here strictly, as no validator package is installed), documents exactly the routes the real
 * Express app serves (registered from the same table, but for Slack's, which Bolt registers),
 * uses the request schemas the server validates with, and is served as JSON and as a
 * self-contained, escaped HTML page.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_PATTERN, MAX_ROLE_DURATION_SECONDS } from '../../config/policy.js';
import { createDomainServices } from '../../domain/domain-services.js';
import { openStores, type Stores } from '../../store/stores.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { createMetrics } from '../../integrations/metrics/prometheus.js';
import { createApp } from '../../server/app.js';
import { approvalRoutes } from '../../server/approvals.js';
import { buildOpenApi, elevateVersion } from '../../server/openapi/build-document.js';
import type { OpenApiDocument } from '../../server/openapi/document-types.js';
import { API_ROUTES } from '../../server/openapi/routes.js';
import { mountApiReference } from '../../server/openapi/serve.js';
import { SAFE_TEXT_PATTERN } from '../../server/safe-text.js';
import { elevationRequestSchema, listQuerySchema, waitQuerySchema } from '../../server/schemas.js';
import { createSlackApp } from '../../server/slack-app.js';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { buildPolicy, testDecisionKey, testLogger } from '../support/stack.js';

type Json = { [key: string]: unknown };

// ---- a strict structural check of OpenAPI 3.1 ------------------------------------------------

const KEYS = {
  root: [
    'openapi',
    'info',
    'jsonSchemaDialect',
    'servers',
    'paths',
    'webhooks',
    'components',
    'security',
    'tags',
    'externalDocs',
  ],
  info: ['title', 'summary', 'description', 'termsOfService', 'contact', 'license', 'version'],
  server: ['url', 'description', 'variables'],
  tag: ['name', 'description', 'externalDocs'],
  pathItem: [
    '$ref',
    'summary',
    'description',
    'get',
    'put',
    'post',
    'delete',
    'options',
    'head',
    'patch',
    'trace',
    'servers',
    'parameters',
  ],
  operation: [
    'tags',
    'summary',
    'description',
    'externalDocs',
    'operationId',
    'parameters',
    'requestBody',
    'responses',
    'callbacks',
    'deprecated',
    'security',
    'servers',
  ],
  parameter: [
    'name',
    'in',
    'description',
    'required',
    'deprecated',
    'allowEmptyValue',
    'style',
    'explode',
    'allowReserved',
    'schema',
    'example',
    'examples',
    'content',
  ],
  requestBody: ['description', 'content', 'required'],
  mediaType: ['schema', 'example', 'examples', 'encoding'],
  response: ['description', 'headers', 'content', 'links'],
  header: [
    'description',
    'required',
    'deprecated',
    'style',
    'explode',
    'schema',
    'example',
    'examples',
    'content',
  ],
  components: [
    'schemas',
    'responses',
    'parameters',
    'examples',
    'requestBodies',
    'headers',
    'securitySchemes',
    'links',
    'callbacks',
    'pathItems',
  ],
  securityScheme: [
    'type',
    'description',
    'name',
    'in',
    'scheme',
    'bearerFormat',
    'flows',
    'openIdConnectUrl',
  ],
  reference: ['$ref', 'summary', 'description'],
} as const;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** JSON Schema 2020-12 keywords, and those OpenAPI 3.1's base vocabulary adds. */
const SCHEMA_KEYWORDS = new Set([
  '$schema',
  '$id',
  '$ref',
  '$defs',
  '$anchor',
  '$dynamicRef',
  '$dynamicAnchor',
  '$comment',
  '$vocabulary',
  'type',
  'enum',
  'const',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxContains',
  'minContains',
  'maxProperties',
  'minProperties',
  'required',
  'dependentRequired',
  'properties',
  'patternProperties',
  'additionalProperties',
  'propertyNames',
  'items',
  'prefixItems',
  'contains',
  'unevaluatedItems',
  'unevaluatedProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'format',
  'title',
  'description',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  'examples',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
  'discriminator',
  'xml',
  'externalDocs',
  'example',
]);
const SUBSCHEMA = [
  'items',
  'additionalProperties',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
];
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const NON_NEGATIVE = [
  'maxLength',
  'minLength',
  'maxItems',
  'minItems',
  'maxContains',
  'minContains',
  'maxProperties',
  'minProperties',
];
const NUMBERS = ['multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum'];
const STRINGS = [
  '$ref',
  '$comment',
  'format',
  'title',
  'description',
  '$anchor',
  'contentEncoding',
  'contentMediaType',
];
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Everything that is wrong with `doc` as an OpenAPI 3.1 document; empty when nothing is. */
function openApiProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const fail = (at: string, what: string): void => {
    problems.push(`${at}: ${what}`);
  };

  // Plain JSON throughout: no undefined, functions, symbols, NaN, class instances.
  const plain = (v: unknown, at: string): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(at, `non-finite number ${v}`);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => plain(x, `${at}/${i}`));
      return;
    }
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      if (Object.getOwnPropertySymbols(v).length > 0) fail(at, 'symbol keys');
      for (const [k, x] of Object.entries(v)) plain(x, `${at}/${k}`);
      return;
    }
    fail(at, `not JSON: ${typeof v}`);
  };
  plain(doc, '#');
  if (!isObject(doc)) return [...problems, '#: not an object'];

  const keysOf = (v: unknown, allowed: readonly string[], at: string): v is Json => {
    if (!isObject(v)) {
      fail(at, 'not an object');
      return false;
    }
    for (const k of Object.keys(v))
      if (!allowed.includes(k) && !k.startsWith('x-')) fail(at, `unknown key "${k}"`);
    return true;
  };
  const str = (v: unknown, at: string) => typeof v === 'string' || fail(at, 'not a string');
  const resolve = (ref: string): unknown => {
    if (!ref.startsWith('#/')) return undefined;
    let node: unknown = doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      if (node === undefined) return undefined;
    }
    return node;
  };
  /** Follow a Reference Object to what it names, which must be under `components/<kind>`. */
  const deref = (v: unknown, kind: string, at: string): unknown => {
    if (!isObject(v) || typeof v.$ref !== 'string') return v;
    keysOf(v, KEYS.reference, at);
    if (!v.$ref.startsWith(`#/components/${kind}/`)) fail(at, `$ref ${v.$ref} is not a ${kind} component`);
    const target = resolve(v.$ref);
    if (target === undefined) fail(at, `$ref ${v.$ref} does not resolve`);
    return target;
  };

  const schema = (s: unknown, at: string): void => {
    if (typeof s === 'boolean') return;
    if (!isObject(s)) {
      fail(at, 'schema is not an object or boolean');
      return;
    }
    for (const [k, v] of Object.entries(s)) {
      const here = `${at}/${k}`;
      if (!SCHEMA_KEYWORDS.has(k) && !k.startsWith('x-')) fail(here, 'not a JSON Schema keyword');
      if (v === undefined) fail(here, 'undefined');
      if (SUBSCHEMA.includes(k)) schema(v, here);
      if (SCHEMA_MAPS.includes(k)) {
        if (isObject(v)) for (const [name, sub] of Object.entries(v)) schema(sub, `${here}/${name}`);
        else fail(here, 'not a map of schemas');
      }
      if (SCHEMA_LISTS.includes(k)) {
        if (Array.isArray(v) && v.length > 0) v.forEach((sub, i) => schema(sub, `${here}/${i}`));
        else fail(here, 'not a non-empty array of schemas');
      }
      if (NON_NEGATIVE.includes(k) && !(Number.isInteger(v) && (v as number) >= 0))
        fail(here, 'not a non-negative integer');
      if (NUMBERS.includes(k) && typeof v !== 'number') fail(here, 'not a number');
      if (STRINGS.includes(k)) str(v, here);
      if (k === 'pattern') {
        try {
          new RegExp(String(v), 'u');
        } catch {
          fail(here, 'not an ECMA-262 regular expression');
        }
      }
      if (k === 'type') {
        const types = Array.isArray(v) ? v : [v];
        if (
          types.length === 0 ||
          new Set(types).size !== types.length ||
          !types.every((t) => TYPES.has(String(t)))
        ) {
          fail(here, `bad type ${JSON.stringify(v)}`);
        }
      }
      if (k === 'enum' && !(Array.isArray(v) && v.length > 0)) fail(here, 'not a non-empty array');
      if (k === 'examples' && !Array.isArray(v)) fail(here, 'not an array');
      if (k === 'required') {
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string') || new Set(v).size !== v.length) {
          fail(here, 'not an array of unique strings');
        } else if (isObject(s.properties)) {
          for (const name of v)
            if (!Object.hasOwn(s.properties, name)) fail(here, `"${name}" has no property`);
        }
      }
      if (k === '$ref' && typeof v === 'string' && resolve(v) === undefined)
        fail(here, `$ref ${v} does not resolve`);
    }
  };

  const mediaMap = (content: unknown, at: string) => {
    if (!isObject(content) || Object.keys(content).length === 0) {
      fail(at, 'no content');
      return;
    }
    for (const [type, media] of Object.entries(content)) {
      if (!/^[a-z]+\/[a-z0-9.+-]+$/.test(type)) fail(`${at}/${type}`, 'not a media type');
      if (keysOf(media, KEYS.mediaType, `${at}/${type}`)) schema(media.schema, `${at}/${type}/schema`);
    }
  };
  const header = (h: unknown, at: string) => {
    const target = deref(h, 'headers', at);
    if (keysOf(target, KEYS.header, at)) schema(target.schema, `${at}/schema`);
  };
  const parameter = (p: unknown, at: string): Json | undefined => {
    const target = deref(p, 'parameters', at);
    if (!keysOf(target, KEYS.parameter, at)) return undefined;
    str(target.name, `${at}/name`);
    if (!['query', 'header', 'path', 'cookie'].includes(String(target.in))) fail(`${at}/in`, 'bad location');
    if (target.in === 'path' && target.required !== true) fail(at, 'a path parameter must be required');
    if ('schema' in target === 'content' in target) fail(at, 'needs exactly one of schema and content');
    if ('schema' in target) schema(target.schema, `${at}/schema`);
    return target;
  };

  if (keysOf(doc, KEYS.root, '#')) {
    if (doc.openapi !== '3.1.0') fail('#/openapi', `is ${String(doc.openapi)}, not 3.1.0`);
    if (keysOf(doc.info, KEYS.info, '#/info')) {
      str(doc.info.title, '#/info/title');
      str(doc.info.version, '#/info/version');
    }
    if (doc.servers !== undefined) {
      if (!Array.isArray(doc.servers)) fail('#/servers', 'not an array');
      else
        doc.servers.forEach(
          (s, i) => keysOf(s, KEYS.server, `#/servers/${i}`) && str(s.url, `#/servers/${i}/url`),
        );
    }
    const tagNames = new Set<string>();
    if (Array.isArray(doc.tags)) {
      doc.tags.forEach((t, i) => {
        if (keysOf(t, KEYS.tag, `#/tags/${i}`) && typeof t.name === 'string') {
          if (tagNames.has(t.name)) fail(`#/tags/${i}`, `tag ${t.name} twice`);
          tagNames.add(t.name);
        }
      });
    }
    const components = isObject(doc.components) ? doc.components : {};
    keysOf(components, KEYS.components, '#/components');
    for (const [kind, map] of Object.entries(components)) {
      if (!isObject(map)) continue;
      for (const name of Object.keys(map)) {
        if (!/^[a-zA-Z0-9._-]+$/.test(name)) fail(`#/components/${kind}/${name}`, 'bad component name');
      }
    }
    for (const [name, s] of Object.entries((components.schemas ?? {}) as Json))
      schema(s, `#/components/schemas/${name}`);
    for (const [name, p] of Object.entries((components.parameters ?? {}) as Json))
      parameter(p, `#/components/parameters/${name}`);
    for (const [name, h] of Object.entries((components.headers ?? {}) as Json))
      header(h, `#/components/headers/${name}`);
    const schemes = (components.securitySchemes ?? {}) as Json;
    for (const [name, s] of Object.entries(schemes)) {
      const at = `#/components/securitySchemes/${name}`;
      if (!keysOf(s, KEYS.securityScheme, at)) continue;
      if (!['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'].includes(String(s.type)))
        fail(at, 'bad type');
      if (s.type === 'http') str(s.scheme, `${at}/scheme`);
      if (s.type === 'apiKey') {
        str(s.name, `${at}/name`);
        if (!['query', 'header', 'cookie'].includes(String(s.in))) fail(`${at}/in`, 'bad location');
      }
    }

    const operationIds = new Set<string>();
    if (!isObject(doc.paths)) fail('#/paths', 'not an object');
    for (const [route, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
      const at = `#/paths/${route.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (!/^\/([^{}]|\{[A-Za-z_][A-Za-z0-9_]*\})*$/.test(route)) fail(at, 'not a path template');
      const templated = new Set([...route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));
      if (!keysOf(item, KEYS.pathItem, at)) continue;
      const shared: unknown[] = Array.isArray(item.parameters) ? item.parameters : [];
      for (const method of METHODS) {
        const op = item[method];
        if (op === undefined) continue;
        const here = `${at}/${method}`;
        if (!keysOf(op, KEYS.operation, here)) continue;
        if (typeof op.operationId !== 'string') fail(here, 'no operationId');
        else if (operationIds.has(op.operationId)) fail(here, `operationId ${op.operationId} twice`);
        else operationIds.add(op.operationId);
        if (Array.isArray(op.tags))
          for (const t of op.tags) if (!tagNames.has(String(t))) fail(here, `tag ${String(t)} not declared`);
        if (!Array.isArray(op.security)) fail(here, 'no explicit security');
        else {
          op.security.forEach((req, i) => {
            if (!isObject(req)) {
              fail(`${here}/security/${i}`, 'not an object');
              return;
            }
            for (const [name, scopes] of Object.entries(req)) {
              if (!Object.hasOwn(schemes, name)) fail(`${here}/security/${i}`, `unknown scheme ${name}`);
              if (!Array.isArray(scopes)) fail(`${here}/security/${i}/${name}`, 'not an array');
            }
          });
        }
        const own: unknown[] = Array.isArray(op.parameters) ? op.parameters : [];
        const params = [...shared, ...own]
          .map((p, i) => parameter(p, `${here}/parameters/${i}`))
          .filter((p): p is Json => p !== undefined);
        const seen = new Set<string>();
        for (const p of params) {
          const key = `${String(p.in)}:${String(p.name)}`;
          if (seen.has(key)) fail(here, `parameter ${key} twice`);
          seen.add(key);
        }
        const inPath = new Set(params.filter((p) => p.in === 'path').map((p) => String(p.name)));
        for (const name of templated)
          if (!inPath.has(name)) fail(here, `path parameter {${name}} not declared`);
        for (const name of inPath)
          if (!templated.has(name)) fail(here, `path parameter ${name} not in the path`);
        if (op.requestBody !== undefined && keysOf(op.requestBody, KEYS.requestBody, `${here}/requestBody`)) {
          mediaMap(op.requestBody.content, `${here}/requestBody/content`);
        }
        if (!isObject(op.responses) || Object.keys(op.responses).length === 0) fail(here, 'no responses');
        for (const [status, res] of Object.entries(isObject(op.responses) ? op.responses : {})) {
          const r = `${here}/responses/${status}`;
          if (!/^([1-5](\d\d|XX)|default)$/.test(status)) fail(r, 'not a status code');
          const target = deref(res, 'responses', r);
          if (!keysOf(target, KEYS.response, r)) continue;
          str(target.description, `${r}/description`);
          if (target.content !== undefined) mediaMap(target.content, `${r}/content`);
          if (isObject(target.headers))
            for (const [name, h] of Object.entries(target.headers)) header(h, `${r}/headers/${name}`);
        }
      }
    }
  }
  return problems;
}

/** Every `$ref` anywhere in `v`. */
function refsIn(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(refsIn);
  if (!isObject(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => (k === '$ref' && typeof x === 'string' ? [x] : refsIn(x)));
}

// ---- the routes an Express 5 app serves ------------------------------------------------------

interface RouterLayer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: unknown;
}

/** `METHOD /path` for every route of an Express 5 router, mounted routers included, `:id` as `{id}`. */
function servedRoutes(stack: RouterLayer[], prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? (layer.route.path as unknown[]) : [layer.route.path];
      for (const p of paths) {
        if (typeof p !== 'string' || /[*?()[\]{}]/.test(p))
          throw new Error(`cannot document route path ${String(p)}`);
        const openApiPath = `${prefix}${p}`.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
        for (const method of Object.keys(layer.route.methods)) {
          if (method === '_all') throw new Error(`${openApiPath} answers every method`);
          out.push(`${method.toUpperCase()} ${openApiPath}`);
        }
      }
      continue;
    }
    const inner = (layer.handle as { stack?: unknown }).stack;
    if (Array.isArray(inner)) {
      if (typeof layer.rawPath !== 'string') throw new Error('a router is mounted on a non-string path');
      out.push(
        ...servedRoutes(inner as RouterLayer[], layer.rawPath === '/' ? prefix : `${prefix}${layer.rawPath}`),
      );
    }
  }
  return out;
}

function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
  );
}

// ---- the tests ----------------------------------------------------------------------------------

const doc = buildOpenApi({ version: '1.2.3', serverUrl: 'https://elevate.example.org' });
const requestSchema = doc.components.schemas.ElevationRequest as Json & { properties: Record<string, Json> };

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1.0 and passes the strict structural check', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('1.2.3');
    expect(doc.servers).toEqual([{ url: 'https://elevate.example.org' }]);
    expect(openApiProblems(doc)).toEqual([]);
  });

  it('is plain JSON, with no trace of zod', () => {
    const text = JSON.stringify(doc);
    expect(JSON.parse(text)).toEqual(doc);
    expect(text).not.toMatch(/"(_zod|~standard|def|_def|\$schema|\$id)"\s*:/);
  });

  it('resolves every $ref, and refers to components that exist', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(20);
    const schemas = new Set(Object.keys(doc.components.schemas));
    for (const ref of refs) {
      if (ref.startsWith('#/components/schemas/')) expect(schemas, ref).toContain(ref.slice(21));
      else expect(ref).toMatch(/^#\/components\/(parameters|headers)\/RequestId$/);
    }
  });

  it('has one operation per route of the table, with unique operationIds', () => {
    const ids = API_ROUTES.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(documentedRoutes(doc).sort()).toEqual(
      API_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort(),
    );
  });

  it('documents every error answer with the error shape the server sends', () => {
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const op of Object.values(item)) {
        for (const [status, res] of Object.entries(op.responses)) {
          const json = res.content?.['application/json']?.schema;
          if (Number(status) >= 400 && p.startsWith('/v1/'))
            expect(json, `${p} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
    const error = doc.components.schemas.Error as Json & { properties: { error: Json } };
    expect(error.properties.error).toMatchObject({ required: ['code', 'message'] });
  });

  it('uses the request schemas the server validates with', () => {
    const post = API_ROUTES.find((r) => r.operationId === 'requestElevation');
    expect(post?.body?.schema).toBe(elevationRequestSchema);
    expect(API_ROUTES.find((r) => r.operationId === 'getElevation')?.query).toBe(waitQuerySchema);

    const duration = requestSchema.properties.durationSeconds!;
    expect(duration.maximum).toBe(MAX_ROLE_DURATION_SECONDS);
    expect(requestSchema.properties.role!.pattern).toBe(ID_PATTERN.source);
    expect(requestSchema.additionalProperties).toBe(false);
    // The documented bounds are where the server's own schema starts refusing.
    const body = { role: 'r', justification: 'j' };
    expect(elevationRequestSchema.safeParse({ ...body, durationSeconds: duration.maximum }).success).toBe(
      true,
    );
    expect(
      elevationRequestSchema.safeParse({ ...body, durationSeconds: Number(duration.maximum) + 1 }).success,
    ).toBe(false);
    expect(
      elevationRequestSchema.safeParse({ ...body, durationSeconds: Number(duration.minimum) - 1 }).success,
    ).toBe(false);

    const wait = doc.paths['/v1/elevations/{id}']?.get?.parameters.find(
      (p) => 'name' in p && p.name === 'waitSeconds',
    );
    expect(wait).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 0, maximum: 60 },
    });
  });

  it('when a text field is documented, then its pattern is the server’s rule: both refuse the same invisible and control characters', () => {
    const props = requestSchema.properties;
    for (const field of ['justification', 'ticket'])
      expect(props[field]!.pattern, field).toBe(SAFE_TEXT_PATTERN.source);
    for (const name of [
      'RevokeRequest',
      'AdminRevokeRequest',
      'BotLockRequest',
      'BotChangeRequest',
      'ConsoleConfirmation',
    ]) {
      const reason = (doc.components.schemas[name] as { properties: Record<string, Json> }).properties.reason;
      expect(reason?.pattern, name).toBe(SAFE_TEXT_PATTERN.source);
    }
    // As a JSON Schema validator reads it (ECMA-262, `u` flag), on the text the server checks.
    const documented = new RegExp(String(props.justification!.pattern), 'u');
    const samples = [
      'restart the billing job',
      'fix ❤️ 😀 and é',
      'ticket\u00a0INC-1',
      'approve this \u202egnp.exe', // right-to-left override
      'a\u2066b\u2069', // bidirectional isolates
      'zero\u200bwidth',
      'joiner\u200d',
      'b\ufeffom',
      'soft\u00adhyphen',
      'c1\u0085control',
      'line\u2028separator',
      'tab\there',
      'nul\u0000',
      'tag\u{e0041}',
      '\u3164', // a Hangul filler only: nothing visible
      '\u2800\ufe0f',
      'lone \ud800 surrogate',
    ];
    for (const text of samples) {
      const server = elevationRequestSchema.safeParse({
        role: 'r',
        durationSeconds: 1,
        justification: text,
      }).success;
      expect(documented.test(text.trim()), JSON.stringify(text)).toBe(server);
    }
    expect(samples.filter((s) => documented.test(s.trim()))).toEqual([
      'restart the billing job',
      'fix ❤️ 😀 and é',
      'ticket\u00a0INC-1',
    ]);
  });

  it('when a query parameter is a comma-separated list of statuses, then its pattern says so, as the server parses it', () => {
    const param = (path: string, name: string) =>
      doc.paths[path]?.get?.parameters.find((p) => 'name' in p && p.name === name) as { schema: Json };
    const pattern = param('/v1/admin/elevations', 'status').schema.pattern;
    expect(pattern).toMatch(/active/);
    expect(param('/v1/elevations/{id}', 'until').schema.pattern).toBe(pattern);
    const documented = new RegExp(String(pattern), 'u');
    for (const value of [
      'active',
      'active,revoking',
      'pending_approval,denied,failed',
      '',
      'active,',
      ',active',
      'active,,revoked',
      'ACTIVE',
      'active;revoked',
      'gone',
    ]) {
      expect(documented.test(value), value).toBe(listQuerySchema.safeParse({ status: value }).success);
      expect(documented.test(value), value).toBe(waitQuerySchema.safeParse({ until: value }).success);
    }
  });

  it('when no policy is given, then the request’s role has no enum; with one, exactly its role ids', () => {
    expect(requestSchema.properties.role!.enum).toBeUndefined();
    const withRoles = buildOpenApi({ version: '1.2.3', roles: ['a', 'b'] });
    const request = withRoles.components.schemas.ElevationRequest as typeof requestSchema;
    expect(request.properties.role!.enum).toEqual(['a', 'b']);
    // Filters keep taking any role id: past elevations of removed roles are still found.
    const filter = withRoles.paths['/v1/admin/elevations']?.get?.parameters.find(
      (p) => 'name' in p && p.name === 'role',
    ) as { schema: Json };
    expect(filter.schema.enum).toBeUndefined();
    expect(openApiProblems(withRoles)).toEqual([]);
  });

  it('is caught by the structural check when broken', () => {
    const broken = JSON.parse(JSON.stringify(doc)) as OpenApiDocument & Json;
    broken.openapi = '3.0.3' as '3.1.0';
    const get = broken.paths['/v1/elevations/{id}']!.get!;
    get.parameters = get.parameters.filter((p) => !('name' in p && p.name === 'id'));
    broken.paths['/v1/admin/elevations']!.get!.operationId = 'requestElevation';
    broken.paths['/healthz']!.get!.responses['200']!.content!['application/json']!.schema = {
      $ref: '#/components/schemas/Nothing',
    };
    (broken.components.schemas.Health as Json)._zod = { def: {} };
    (broken.components.schemas.Actor as Json).properties = { kind: { type: 'text' }, id: undefined };
    const problems = openApiProblems(broken);
    const expected = [
      /openapi: is 3.0.3/,
      /v1~1elevations~1\{id\}\/get: path parameter \{id\} not declared/,
      /operationId requestElevation twice/,
      /\$ref #\/components\/schemas\/Nothing does not resolve/,
      /Health\/_zod: not a JSON Schema keyword/,
      /Actor\/properties\/kind\/type: bad type/,
      /Actor\/properties\/id: not JSON: undefined/,
    ];
    for (const pattern of expected)
      expect(
        problems.some((p) => pattern.test(p)),
        String(pattern),
      ).toBe(true);
  });
});

describe('the API as served', () => {
  let dir: string;
  let store: Stores;
  let slackStub: SlackStub;
  let app: express.Express;
  let server: Server;
  let base: string;
  let botKey: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'elevate-openapi-'));
    store = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
    slackStub = await startSlackApiStub({ token: 'xoxb-openapi-test', users: [] });
    const logger = testLogger();
    const { policy, keys } = buildPolicy(
      [{ id: 'doc-bot', roles: ['doc-role'] }],
      [{ id: 'doc-role', maxDurationSeconds: 60 }],
    );
    botKey = keys['doc-bot']!;
    // The request validation and the routes need no Temporal: the client never connects here.
    const services = createDomainServices({
      policy,
      temporal: new Client(),
      signer: new DecisionSigner(testDecisionKey()),
      taskQueue: 'unused',
      ...store,
      timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
      logger,
    });
    // Composed as `elevate api` composes it: Slack in HTTP mode and the approval pages mounted.
    const slackApp = createSlackApp({
      settings: {
        botToken: slackStub.token,
        signingSecret: 'openapi-test-signing-secret',
        socketMode: false,
        apiUrl: slackStub.url,
      },
      approvals: services.approvals,
      audit: services.audit,
      slack: new SlackClient({ token: slackStub.token, apiUrl: slackStub.url, logger }),
      singleUse: store.singleUse,
      publicUrl: 'http://127.0.0.1',
      logger,
    });
    app = createApp({
      services,
      healthChecks: {},
      logger,
      metrics: createMetrics({ processMetrics: false }),
      routers: [
        slackApp.router!,
        approvalRoutes({
          ...services,
          stepUp: () => Promise.reject(new Error('no identity provider in this test')),
          singleUse: store.singleUse,
          publicUrl: 'http://127.0.0.1',
          slackBound: true,
          logger,
        }),
      ],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await slackStub?.stop();
    await store?.database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Every route is registered from the table itself but Slack's (Bolt registers it), and nothing
  // stops a route from being added by hand beside the table. Walking what Express really serves
  // covers both; the routes named first make sure the walk reaches every area.
  it('serves exactly the routes the document describes', () => {
    const stack = (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
    const served = [...new Set(servedRoutes(stack))].sort();
    for (const registered of [
      'POST /v1/elevations',
      'POST /v1/admin/bots/{id}/rotate-key',
      'GET /metrics',
      'GET /approvals/{id}',
      'POST /slack/events',
      'GET /admin',
    ])
      expect(served).toContain(registered);
    const documented = documentedRoutes(doc).sort();
    expect(served).toHaveLength(documented.length);
    expect(
      served.filter((r) => !documented.includes(r)),
      'served but not documented',
    ).toEqual([]);
    expect(
      documented.filter((r) => !served.includes(r)),
      'documented but not served',
    ).toEqual([]);
  });

  it('refuses a duration just above the documented maximum, and accepts the maximum itself', async () => {
    const max = Number(requestSchema.properties.durationSeconds!.maximum);
    const post = (durationSeconds: number) =>
      fetch(`${base}/v1/elevations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${botKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'doc-role', durationSeconds, justification: 'check the reference' }),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: { code: string; field?: string } },
      }));
    expect(await post(max + 1)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', field: 'durationSeconds' } },
    });
    // Past the schema, the role's own limit (60 s) refuses it: proof the schema let it through.
    expect(await post(max)).toMatchObject({ status: 422, body: { error: { code: 'duration_too_long' } } });
  });

  it('when a documented path is called with a method it is not documented with, then the answer is 405 with Allow listing exactly the documented ones', async () => {
    const checked: string[] = [];
    const templates = Object.entries(doc.paths).map(([template, item]) => ({
      template,
      matches: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      methods: Object.keys(item).map((m) => m.toUpperCase()),
    }));
    for (const { template } of templates) {
      const concrete = template.replace(/\{[^}]+\}/g, 'el_0123456789abcdef01234567');
      // Every documented route this path is an instance of (`/approvals/confirm` is also `/approvals/{id}`).
      const methods = [
        ...new Set(templates.filter((t) => t.matches.test(concrete)).flatMap((t) => t.methods)),
      ];
      const expected = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].sort();
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (methods.includes(method)) continue;
        const res = await fetch(base + concrete, { method, redirect: 'manual' });
        expect(res.status, `${method} ${template}`).toBe(405);
        expect(res.headers.get('allow')?.split(', ').sort(), `${method} ${template}`).toEqual(expected);
        expect(await res.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
        checked.push(`${method} ${template}`);
      }
    }
    expect(checked).toContain('DELETE /v1/elevations/{id}');
    expect(checked).toContain('GET /slack/events');
    expect(checked).toContain('PUT /admin');
  });

  it('when a path is not served at all, then the answer stays 404', async () => {
    for (const [method, route] of [
      ['GET', '/v1/nothing-here'],
      ['DELETE', '/v1/elevations/el_0123456789abcdef01234567/nothing'],
      ['POST', '/'],
    ] as const) {
      const res = await fetch(base + route, { method });
      expect(res.status, `${method} ${route}`).toBe(404);
      expect(res.headers.get('allow')).toBeNull();
      expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('serves the document at /openapi.json', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const served = (await res.json()) as OpenApiDocument;
    // Built for this instance: its policy's role ids are the request's `role` values.
    expect(served).toEqual(buildOpenApi({ version: elevateVersion(), roles: ['doc-role'] }));
    expect(served.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(openApiProblems(served)).toEqual([]);
  });

  it('serves a self-contained reference page at /docs/api', async () => {
    const res = await fetch(`${base}/docs/api`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // The one stylesheet is allowed by its hash: the page looks as intended under its own policy.
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    expect(csp).toContain(`'sha256-${createHash('sha256').update(styles[0]!).digest('base64')}'`);
    // Nothing to run, nothing fetched from elsewhere.
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/<[^>]*\s(on[a-z]+|src)=/i);
    for (const [, href] of html.matchAll(/href="([^"]*)"/g))
      expect(href).toMatch(/^(#[A-Za-z0-9_-]+|\/openapi\.json)$/);
    // Every anchor a link points to exists.
    const ids = new Set([...html.matchAll(/id="([^"]+)"/g)].map((m) => m[1]));
    for (const [, target] of html.matchAll(/href="#([^"]+)"/g)) expect(ids, target).toContain(target);
    for (const route of API_ROUTES) {
      expect(html).toContain(`id="op-${route.operationId}"`);
      expect(html).toContain(`<code>${route.path}</code>`);
    }
  });

  it('escapes what the document says', async () => {
    const hostile = JSON.parse(JSON.stringify(doc)) as OpenApiDocument;
    const op = hostile.paths['/v1/elevations']!.post!;
    op.description = 'Before <script>alert("x")</script> after';
    op.summary = '"><img src=x onerror=alert(1)>';
    hostile.info.title = '</title><script>alert(2)</script>';
    (hostile.components.schemas.Error as Json).description = '<b onclick="alert(3)">bold</b>';
    const other = express();
    mountApiReference(other, { document: hostile });
    const s = await new Promise<Server>((resolve) => {
      const srv = other.listen(0, '127.0.0.1', () => resolve(srv));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/docs/api`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).not.toMatch(/<(script|img|b)\b/i);
      expect(html).not.toMatch(/<[^>]*\son[a-z]+=/i);
      // No tag came through (above), and each text is still there, as text.
      const text = html
        .replace(/<[^>]*>/g, '')
        .replace(
          /&(lt|gt|quot|#39|amp);/g,
          (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e]!,
        );
      expect(text).toContain('Before <script>alert("x")</script> after');
      expect(text).toContain('"><img src=x onerror=alert(1)>');
      expect(text).toContain('</title><script>alert(2)</script>');
      expect(text).toContain('<b onclick="alert(3)">bold</b>');
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});
