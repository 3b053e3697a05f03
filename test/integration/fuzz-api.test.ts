/**
 * Property-based fuzzing of the HTTP API, derived from the OpenAPI document the app serves: for
 * every operation, requests with well-formed and hostile path parameters, query strings, headers
 * (missing, doubled or huge credentials) and bodies (valid, mutated, wrong types, prototype
 * keys, deep nesting, huge strings, garbage bytes) go to a real app over a real SQLite store.
 * Every answer must be below 500, documented for its operation with its status, media type and
 * schema (Ajv over the document's own schemas), and name the field where the API promises to.
 * At the end the process still answers, its heap has not grown without bound, and the audit
 * chain (thousands of refusals recorded) verifies. A share of the requests are elevation requests
 * the fuzz app's policy allows, and variations of them, so that the accepted path is fuzzed too:
 * every run has some answered 202, each with its workflow started. A route added to the table is
 * fuzzed with nothing to change here.
 *
 * Seeded: `FUZZ_SEED=<n> npx vitest run test/integration/fuzz-api.test.ts` replays a run.
 */
import http from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../core/model/elevation.js';
import type { OpenApiDocument } from '../../server/openapi/document-types.js';
import { startFuzzApp, type FuzzApp } from '../support/fuzz-app.js';
import {
  FUZZ_SEED,
  PROTOTYPE_KEYS,
  arbitraryOf,
  checkFuzz,
  fuzzParams,
  heapAfterGc,
  hostileString,
  hostileValue,
  mutated,
  resolveRef,
} from '../support/fuzz.js';

// ajv-formats is CommonJS: imported from an ES module, its plugin is the `default` property.
const addFormats = formatsModule.default;

/** Cases per run of the main property; with the warm-up, this file's share of the 10,000. */
const CASES = 6_000;
const WARM_UP = 300;
/** The share of requests that are elevation requests made to be accepted, or variations of one. */
const ACCEPTED_PATH_SHARE = 1 / 20;

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Json;
}

interface Operation {
  method: string;
  template: string;
  /** The document's pointer to the operation, for Ajv `$ref`s. */
  pointer: string;
  security: string[];
  parameters: Parameter[];
  body?: { contentType: string; schema: Json; required: boolean };
  responses: Record<string, { content?: Record<string, { schema?: Json }>; headers?: Record<string, Json> }>;
}

interface Request {
  op: Operation;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Error codes whose answer the API promises names the field at fault (`Error.field`). */
const FIELD_PROMISED = new Set([
  'invalid_request',
  'invalid_body',
  'unsupported_media_type',
  'payload_too_large',
  'unauthenticated',
  'unknown_role',
  'duration_too_long',
  'role_not_allowed',
  'role_suspended',
  'idempotency_conflict',
  'too_many_requests',
]);

const pointerPart = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Percent-encodes every byte but the unreserved ones (lone surrogates become U+FFFD's bytes). */
function pct(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The document's operations, their parameters resolved. */
function operationsOf(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item as Record<string, Json>)) {
      const parameters = ((raw.parameters ?? []) as Json[])
        .map((p) =>
          typeof p.$ref === 'string'
            ? (doc.components.parameters?.[p.$ref.split('/').pop()!] as unknown as Json | undefined)
            : p,
        )
        .filter((p): p is Json => p !== undefined) as unknown as Parameter[];
      const requestBody = raw.requestBody as
        { content: Record<string, { schema: Json }>; required?: boolean } | undefined;
      const [contentType, media] = requestBody ? Object.entries(requestBody.content)[0]! : [];
      ops.push({
        method: method.toUpperCase(),
        template,
        pointer: `#/paths/${pointerPart(template)}/${method}`,
        security: ((raw.security ?? []) as Json[]).flatMap((s) => Object.keys(s)),
        parameters,
        ...(contentType && media
          ? { body: { contentType, schema: media.schema, required: requestBody?.required === true } }
          : {}),
        responses: raw.responses as Operation['responses'],
      });
    }
  }
  return ops;
}

/** Header values Node will send: printable ASCII (and tab). */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc.constantFrom(...'\t !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~'.split('')),
    maxLength,
  });

/** A query value as text: arrays repeat the parameter, objects are sent as JSON. */
function queryValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')));
  if (typeof value === 'string') return [value];
  return [JSON.stringify(value) ?? ''];
}

/**
 * At most 1,500 characters of an encoded URL part (a cut may split a `%XX`: one more malformed
 * input). Node answers a request line and headers over 16 KiB with 431 before the app sees them.
 */
const inUrl = (encoded: string) => encoded.slice(0, 1_500);

function describeRequest({ op, path, headers, body }: Request): string {
  const shown = (s: string) => (s.length > 400 ? `${s.slice(0, 400)}…(${s.length} chars)` : s);
  return `${op.method} ${shown(path)} headers=${shown(JSON.stringify(headers))} body=${
    body ? shown(JSON.stringify(body.toString('latin1'))) : '(none)'
  }`;
}

function encodeBody(contentType: string, value: unknown): Buffer {
  if (
    contentType === 'application/x-www-form-urlencoded' &&
    value &&
    typeof value === 'object' &&
    !Array.isArray(value)
  ) {
    const pairs = Object.entries(value).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map(
        (x) => `${pct(k)}=${pct(typeof x === 'string' ? x : (JSON.stringify(x) ?? ''))}`,
      ),
    );
    return Buffer.from(pairs.join('&'));
  }
  return Buffer.from(JSON.stringify(value) ?? 'undefined');
}

describe(`fuzzing the API from its OpenAPI document (FUZZ_SEED=${FUZZ_SEED})`, () => {
  let app: FuzzApp;
  let doc: OpenApiDocument;
  let ops: Operation[];
  let validators: Map<string, ValidateFunction>;
  let ajv: Ajv2020;
  const seen = new Map<string, Set<number>>();
  const collected = new Set<string>();
  /** Elevation requests answered 202 (accepted: a workflow started). */
  let accepted = 0;

  beforeAll(async () => {
    app = await startFuzzApp();
    doc = (await (await fetch(`${app.base}/openapi.json`)).json()) as OpenApiDocument;
    ops = operationsOf(doc);
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc, 'urn:elevate:openapi', undefined, false);
    validators = new Map();
  });

  afterAll(async () => {
    await app?.close();
  });

  function send({ op, path, headers, body }: Request): Promise<Answer> {
    const { port } = new URL(app.base);
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: op.method, path, headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The credential `op` needs, by its security schemes. */
  function credentialOf(op: Operation): string | undefined {
    if (op.security.includes('botApiKey')) return `Bearer ${app.botKey}`;
    if (op.security.includes('adminToken')) return `Bearer ${app.adminToken}`;
    return undefined;
  }

  /**
   * Values for a parameter: well-formed ones (known ids among them) and hostile ones. Only reads
   * name `fuzz-bot` by its id: a change to it (its key rotated, a lockdown) would refuse every
   * later bot request, and the fuzz would no longer get past the credential.
   */
  function parameterValue(p: Parameter, op: Operation): fc.Arbitrary<unknown> {
    const valid = arbitraryOf(p.schema, doc);
    const bots = op.method === 'GET' ? ['other-bot', 'fuzz-bot'] : ['other-bot'];
    const known = p.name === 'id' || p.name === 'botId' || p.name === 'bot' ? [fc.constantFrom(...bots)] : [];
    return fc.oneof(
      { arbitrary: valid, weight: 4 },
      ...known.map((arbitrary) => ({ arbitrary, weight: 1 })),
      {
        arbitrary: hostileString,
        weight: 2,
      },
    );
  }

  function requestOf(op: Operation): fc.Arbitrary<Request> {
    const path = fc.tuple(
      ...op.parameters
        .filter((p) => p.in === 'path')
        .map((p) => parameterValue(p, op).map((v) => [p.name, v] as const)),
    );
    const query = fc.tuple(
      ...op.parameters
        .filter((p) => p.in === 'query')
        .map((p) =>
          fc.option(
            parameterValue(p, op).map((v) => [p.name, v] as const),
            { freq: 2 },
          ),
        ),
    );
    const extraQuery = fc.option(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(...PROTOTYPE_KEYS, '__proto__[polluted]', 'constructor[prototype][polluted]'),
          fc.string({ maxLength: 10 }),
        ),
        hostileString,
      ),
      { freq: 4 },
    );
    const credential = credentialOf(op);
    const wrongCredential = op.security.includes('adminToken')
      ? `Bearer ${app.botKey}`
      : `Bearer ${app.adminToken}`;
    const authorization: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
      { arbitrary: fc.constant(credential), weight: 8 },
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: fc.constant(wrongCredential), weight: 1 },
      {
        arbitrary: headerText(40).map((t): string[] =>
          credential ? [credential, `Bearer ${t}`] : [`Bearer ${t}`, 'Bearer x'],
        ),
        weight: 1,
      },
      {
        arbitrary: fc.constant<string[]>(credential ? [credential, credential] : ['Bearer a', 'Bearer a']),
        weight: 1,
      },
      { arbitrary: fc.integer({ min: 1_000, max: 8_000 }).map((n) => `Bearer ${'A'.repeat(n)}`), weight: 1 },
      { arbitrary: headerText(60), weight: 1 },
      {
        arbitrary: fc.constantFrom(
          'Basic dXNlcjpwYXNz',
          'Bearer',
          'Bearer ',
          'bearer elv_bot_x',
          'Bearer elv_adm_',
        ),
        weight: 1,
      },
    );
    const extraHeaders = fc.record(
      {
        'x-request-id': fc.oneof(fc.constant('fuzz-1'), headerText(80)),
        accept: fc.constantFrom(
          'application/json',
          'text/html',
          '*/*',
          'text/html;q=0.1, application/json',
          '',
        ),
        'x-forwarded-for': headerText(30),
        cookie: fc.oneof(
          headerText(60),
          fc.constantFrom('elevate_approval=x', 'elevate_admin=; elevate_admin=y', '__proto__=1'),
        ),
        'content-encoding': fc.constantFrom('identity', 'gzip', 'br', 'x-unknown'),
        'x-slack-signature': headerText(70),
        'x-slack-request-timestamp': fc.oneof(
          fc.constant(String(Math.floor(Date.now() / 1000))),
          headerText(14),
        ),
      },
      { requiredKeys: [] },
    );
    const contentType = fc.oneof(
      { arbitrary: fc.constant(op.body?.contentType ?? 'application/json'), weight: 5 },
      {
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'application/json; charset=latin1',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json, application/json',
        ),
        weight: 1,
      },
    );
    const bodyType = op.body?.contentType ?? 'application/json';
    const valid = op.body ? arbitraryOf(op.body.schema, doc) : fc.constant({});
    const body: fc.Arbitrary<Buffer | undefined> = fc.oneof(
      { arbitrary: valid.map((v) => encodeBody(bodyType, v)), weight: op.body ? 4 : 0 },
      { arbitrary: mutated(valid).map((v) => encodeBody(bodyType, v)), weight: op.body ? 4 : 0 },
      { arbitrary: hostileValue.map((v) => encodeBody(bodyType, v)), weight: op.body ? 2 : 1 },
      { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), weight: 1 },
      { arbitrary: fc.constant(undefined), weight: op.body ? 1 : 6 },
    );
    return fc
      .record({ path, query, extraQuery, authorization, extraHeaders, contentType, body })
      .map(
        ({
          path: pathValues,
          query: queryPairs,
          extraQuery: extra,
          authorization: auth,
          extraHeaders: more,
          contentType: type,
          body: payload,
        }) => {
          let url = op.template;
          for (const [name, value] of pathValues) {
            const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
            // An empty segment is another path (a 404 the operation does not document).
            url = url.replace(`{${name}}`, inUrl(pct(text)) || 'x');
          }
          const pairs: string[] = [];
          for (const pair of queryPairs) {
            if (pair) for (const v of queryValues(pair[1])) pairs.push(`${pct(pair[0])}=${inUrl(pct(v))}`);
          }
          if (extra)
            pairs.push(`${/^[\w[\]]+$/.test(extra[0]) ? extra[0] : pct(extra[0])}=${inUrl(pct(extra[1]))}`);
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(more))
            if (v !== undefined && (k !== 'content-encoding' || payload)) headers[k] = v;
          if (auth !== undefined) headers.authorization = auth;
          if (payload !== undefined) headers['content-type'] = type;
          const request: Request = {
            op,
            path: pairs.length > 0 ? `${url}?${pairs.slice(0, 4).join('&')}` : url,
            headers,
            ...(payload !== undefined ? { body: payload } : {}),
          };
          // What a counterexample prints: the request as sent, not the operation's whole spec.
          Object.defineProperty(request, fc.toStringMethod, { value: () => describeRequest(request) });
          return request;
        },
      );
  }

  /**
   * `POST /v1/elevations` as the fuzz app's policy allows it (the bot's own key, one of its roles,
   * a duration within the role's longest, text the schema takes), so that some are accepted, and
   * variations around it: a field dropped, replaced or added, a duration one past the longest or
   * zero, a role that does not exist or the other bot may not have, a `requestId` used again.
   */
  function elevationRequests(): fc.Arbitrary<Request> {
    const op = ops.find((o) => o.method === 'POST' && o.template === '/v1/elevations')!;
    const schema = op.body!.schema;
    const object = (typeof schema.$ref === 'string' ? resolveRef(doc, schema.$ref) : schema) as Json;
    const field = (name: string) => arbitraryOf((object.properties as Record<string, Json>)[name]!, doc);
    const valid = fc.constantFrom(...app.botRoles).chain((role) =>
      fc.record(
        {
          role: fc.constant(role.id),
          durationSeconds: fc.integer({ min: 1, max: role.maxDurationSeconds }),
          justification: field('justification'),
          ticket: field('ticket'),
          // A few keys used again and again: replays of one request, and conflicting ones.
          requestId: fc.oneof(fc.constantFrom('fuzz-request-1', 'fuzz-request-2'), field('requestId')),
        },
        { requiredKeys: ['role', 'durationSeconds', 'justification'] },
      ),
    );
    const longest = (role: string) => app.botRoles.find((r) => r.id === role)?.maxDurationSeconds ?? 0;
    const around = fc.oneof(
      mutated(valid),
      valid.map((b) => ({ ...b, durationSeconds: longest(b.role) + 1 })),
      valid.map((b) => ({ ...b, durationSeconds: 0 })),
      valid.map((b) => ({ ...b, role: 'no-such-role' })),
    );
    return fc
      .record({
        body: fc.oneof({ arbitrary: valid, weight: 2 }, { arbitrary: around, weight: 3 }),
        key: fc.oneof(
          { arbitrary: fc.constant(app.botKey), weight: 6 },
          { arbitrary: fc.constant(app.otherBotKey), weight: 1 },
        ),
      })
      .map(({ body, key }) => {
        const request: Request = {
          op,
          path: op.template,
          headers: { authorization: `Bearer ${key}`, 'content-type': op.body!.contentType },
          body: encodeBody(op.body!.contentType, body),
        };
        Object.defineProperty(request, fc.toStringMethod, { value: () => describeRequest(request) });
        return request;
      });
  }

  function validatorFor(pointer: string): ValidateFunction {
    let validate = validators.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `urn:elevate:openapi${pointer}` });
      validators.set(pointer, validate);
    }
    return validate;
  }

  /** What is wrong with `answer` to `req`, by the document; empty when nothing is. */
  function problemsOf(req: Request, answer: Answer): string[] {
    const problems: string[] = [];
    const { op } = req;
    const status = String(answer.status);
    // Refused by Node's HTTP parser before the app saw it (no request id, no body): not an
    // answer of the operation's.
    if (answer.status === 400 && answer.body.length === 0 && answer.headers['x-request-id'] === undefined)
      return [];
    if (answer.status >= 500) problems.push(`status ${status}`);
    const documented = op.responses[status];
    if (!documented) return [...problems, `status ${status} is not documented`];
    if (typeof answer.headers['x-request-id'] !== 'string') problems.push('no x-request-id');
    const pointer = `${op.pointer}/responses/${status}`;
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const value = answer.headers[name];
      if (typeof value !== 'string' || !('schema' in header) || name === 'x-request-id') continue;
      const validate = validatorFor(`${pointer}/headers/${pointerPart(name)}/schema`);
      if (!validate(value)) problems.push(`header ${name}: ${ajv.errorsText(validate.errors)}`);
    }
    const content = documented.content;
    if (!content || answer.body.length === 0) return problems;
    const type = String(answer.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    if (!(type in content))
      return [...problems, `content-type ${type} not documented (${Object.keys(content).join(', ')})`];
    if (type !== 'application/json') return problems;
    let json: unknown;
    try {
      json = JSON.parse(answer.body.toString('utf8'));
    } catch {
      return [...problems, 'a JSON answer that does not parse'];
    }
    const validate = validatorFor(`${pointer}/content/application~1json/schema`);
    if (!validate(json)) problems.push(`body: ${ajv.errorsText(validate.errors)}`);
    const error = (json as { error?: { code?: string; field?: unknown } }).error;
    if (op.template.startsWith('/v1/') && error?.code && FIELD_PROMISED.has(error.code)) {
      if (typeof error.field !== 'string' || error.field === '')
        problems.push(`${error.code} names no field`);
    }
    return problems;
  }

  const allRequests = () =>
    fc.oneof(...ops.map((op) => ({ arbitrary: requestOf(op), weight: 1 / ACCEPTED_PATH_SHARE - 1 })), {
      arbitrary: elevationRequests(),
      weight: ops.length,
    });

  async function fuzz(numRuns: number): Promise<void> {
    await checkFuzz(
      fc.asyncProperty(allRequests(), async (req) => {
        const answer = await send(req);
        const key = `${req.op.method} ${req.op.template}`;
        if (!seen.has(key)) seen.set(key, new Set());
        seen.get(key)!.add(answer.status);
        const problems = problemsOf(req, answer);
        if (key === 'POST /v1/elevations' && answer.status === 202) {
          accepted++;
          // Accepted means started: the answer names the elevation whose workflow was started.
          const { id } = JSON.parse(answer.body.toString('utf8')) as { id: string };
          if (!app.started.includes(workflowIdFor(id))) problems.push(`202 for ${id}, no workflow started`);
        }
        // A body mentioning `__proto__` must not have reached the process's prototypes.
        if (Object.keys(Object.prototype).length > 0 || ({} as Json).polluted !== undefined)
          problems.push('Object.prototype was polluted');
        const logged = app.errors.splice(0);
        if (logged.length > 0) problems.push(`logged an error: ${JSON.stringify(logged)}`);
        // FUZZ_COLLECT=1: list every kind of problem found instead of stopping at the first.
        if (problems.length > 0 && process.env.FUZZ_COLLECT) {
          for (const p of problems)
            collected.add(
              `${req.op.method} ${req.op.template}: ${p.slice(0, 1600)} ${p.includes('x-request-id') || p.includes('not documented') ? answer.body.toString('utf8').slice(0, 200) : ''}`,
            );
          return;
        }
        if (problems.length > 0) {
          throw new Error(
            `${req.op.method} ${req.path.slice(0, 300)} -> ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}\n  ${problems.join('\n  ')}`,
          );
        }
      }),
      fuzzParams(numRuns),
    );
  }

  it(`when ${CASES} well-formed and hostile requests reach every documented operation, then none is answered ≥ 500 or outside the document, and the process, its memory and the audit chain are intact`, async () => {
    expect(ops.length).toBeGreaterThan(40);
    await fuzz(WARM_UP);
    const heapBefore = heapAfterGc();
    await fuzz(CASES);
    const heapAfter = heapAfterGc();
    if (process.env.FUZZ_COLLECT) console.log([...collected].sort().join('\n'));

    // Every operation was reached, and the fuzz got past the credentials and the parsers.
    expect([...seen.keys()].sort()).toEqual(ops.map((op) => `${op.method} ${op.template}`).sort());
    const statuses = new Set([...seen.values()].flatMap((s) => [...s]));
    for (const status of [200, 400, 401, 403, 404, 415]) expect(statuses).toContain(status);
    // The accepted path was fuzzed, not only the refusals around it.
    console.log(
      `elevation requests accepted (202): ${accepted}; answers to POST /v1/elevations: ${[
        ...(seen.get('POST /v1/elevations') ?? []),
      ].join(', ')}`,
    );
    expect(accepted).toBeGreaterThan(0);

    // Loosely: what thousands of requests leave behind after a full GC is small.
    expect(heapAfter - heapBefore).toBeLessThan(64 * 1024 * 1024);

    const live = await fetch(`${app.base}/livez`);
    expect(live.status).toBe(200);
    const verify = await fetch(`${app.base}/v1/admin/audit/verify`, {
      headers: { authorization: `Bearer ${app.adminToken}` },
    });
    const result = (await verify.json()) as { ok: boolean; checked: number };
    expect(result).toMatchObject({ ok: true });
    // The refusals the fuzz caused were recorded: the chain verified is not an empty one.
    expect(result.checked).toBeGreaterThan(100);
  }, 120_000);

  it('when Slack’s request has a compressed body, then the 415 it gets is one the document lists', async () => {
    const res = await fetch(`${app.base}/slack/events`, {
      method: 'POST',
      headers: {
        'x-slack-signature': 'v0=00',
        'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
        'content-type': 'application/x-www-form-urlencoded',
        'content-encoding': 'gzip',
      },
      body: 'payload=%7B%7D',
    });
    expect(res.status).toBe(415);
    expect(doc.paths['/slack/events']?.post?.responses['415']).toBeDefined();
  });
});
