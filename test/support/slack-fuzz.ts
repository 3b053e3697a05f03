/**
 * What the Slack fuzz suite sends and how it reads it: interactions as Slack posts them
 * (`dev/slack-signing.ts` builds the well-formed ones) and mutated, with bodies broken and
 * signatures forged in the ways {@link Signing} lists; the request, signed now; and the parts of
 * a body the suite's properties look at, read as Bolt reads them.
 *
 * Two values are put in when a case is sent, not when it is made: the trigger id ({@link TRIGGER},
 * one per request, so a modal Slack is asked to open names its request) and the elevations of the
 * world's slots ({@link slotPlaceholder}), which change as elevations are denied and replaced.
 */
import http from 'node:http';
import { parse as parseForm } from 'node:querystring';
import fc from 'fast-check';
import { blockActionPayload, signSlackRequest, viewSubmissionPayload } from '../../dev/slack-signing.js';
import { ATTEST_REVIEW_ACTION } from '../../integrations/slack/attestation-messages.js';
import { SLACK_TIMESTAMP_TOLERANCE_SECONDS } from '../../server/slack-request-gate.js';
import {
  APPROVE_EXTENSION_ACTION,
  DENY_EXTENSION_ACTION,
  DENY_EXTENSION_CALLBACK,
} from '../../integrations/slack/extend-messages.js';
import {
  APPROVE_ACTION,
  DENY_ACTION,
  DENY_CALLBACK,
  VERIFY_ACTION,
} from '../../integrations/slack/messages.js';
import { PROTOTYPE_KEYS, hostileString, hostileValue, mutated, prototypeObject } from './fuzz.js';

export type Json = Record<string, unknown>;

/** Stands for the trigger id in a generated payload; each send puts a fresh one in its place. */
export const TRIGGER = '__trigger__';

/**
 * Stands for the elevation in a slot of the world, put in when the request is sent.
 * `__ELEVATION_<n>__` is its id in upper case, a `cut` suffix the id without its last digit.
 */
export const slotPlaceholder = (slot: number) => `__elevation_${slot}__`;
const SLOT_PATTERN = /__(elevation|ELEVATION)_(\d+)__(cut)?/g;

/** `body` with the elevations now in the slots it names. */
export function fillSlots(body: string, slots: readonly string[]): string {
  return body.replace(SLOT_PATTERN, (_all, word: string, slot: string, cut?: string) => {
    const id = slots[Number(slot)] ?? 'none';
    const cased = word === 'ELEVATION' ? id.toUpperCase() : id;
    return cut ? cased.slice(0, -1) : cased;
  });
}

export const FORM = 'application/x-www-form-urlencoded';

/** An interaction as Slack posts it: `payload=` and its JSON, form-encoded. */
export const formOf = (payload: unknown) =>
  new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

/** How a request is signed (`signed`) or how its signature is wrong. */
export type Signing =
  | 'signed'
  | 'bad_signature'
  | 'other_secret'
  | 'other_body'
  | 'stale'
  | 'future'
  | 'bad_timestamp'
  | 'no_signature'
  | 'no_timestamp'
  | 'no_headers';

export interface SlackCase {
  /** What the generator meant to send, for the statistics. */
  kind: string;
  /** The body before signing, with {@link TRIGGER} and slot placeholders where they go. */
  body: string;
  contentType: string | undefined;
  signing: Signing;
  compressed: boolean;
}

/** A case as the generator makes them (with its description for counterexamples). */
export function slackCase(
  kind: string,
  body: string,
  contentType: string | undefined,
  signing: Signing,
): SlackCase {
  const c: SlackCase = { kind, body, contentType, signing, compressed: false };
  Object.defineProperty(c, fc.toStringMethod, { value: () => describeCase(c) });
  return c;
}

/** What a counterexample prints: how it was sent, and its body (a form body decoded, to be read). */
export function describeCase(c: SlackCase): string {
  const form = c.contentType === FORM ? parseForm(c.body) : undefined;
  const text = typeof form?.payload === 'string' ? `payload=${form.payload}` : c.body;
  const shown = text.length > 3_000 ? `${text.slice(0, 3_000)}…(${text.length} chars)` : text;
  return `${c.kind} signing=${c.signing} content-type=${String(c.contentType)}${
    c.compressed ? ' content-encoding=gzip' : ''
  } body=${JSON.stringify(shown)}`;
}

/** The interaction a body is, read as Bolt reads it (form `payload` field, or JSON). */
export function parsedAsBolt(body: string, contentType: string | undefined): unknown {
  try {
    if (contentType === FORM) {
      const form = parseForm(body);
      return typeof form.payload === 'string' ? JSON.parse(form.payload) : form;
    }
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first action of a `block_actions` body and who clicked, when it is shaped like one. */
export function clickOf(payload: unknown): { actionId: unknown; value: unknown; user: unknown } | undefined {
  if (!isRecord(payload) || payload.type !== 'block_actions' || !Array.isArray(payload.actions)) return;
  const action: unknown = payload.actions[0];
  if (!isRecord(action)) return;
  return {
    actionId: action.action_id,
    value: action.value,
    user: isRecord(payload.user) ? payload.user.id : undefined,
  };
}

/** The deny submission a body is: the elevation it names and who submitted it. */
export function denialOf(payload: unknown): { elevationId: unknown; user: unknown } | undefined {
  if (!isRecord(payload) || payload.type !== 'view_submission' || !isRecord(payload.view)) return;
  if (payload.view.callback_id !== DENY_CALLBACK) return;
  return {
    elevationId: payload.view.private_metadata,
    user: isRecord(payload.user) ? payload.user.id : undefined,
  };
}

/** Who and what the generated requests name. */
export interface SlackFuzzWorld {
  /** The app's workspace. */
  team: string;
  /** Slack users who may act on some elevation (approvers, the bot's owner). */
  actors: string[];
  /** Slack users who may not (no approver, a guest, a deactivated account, one Slack does not know). */
  others: string[];
  /** How many slots of pending elevations there are. */
  slots: number;
  /** An elevation that has ended. */
  ended: string;
}

/** Requests to send in `world`: well-formed, mutated and forged. */
export function slackCases(world: SlackFuzzWorld): fc.Arbitrary<SlackCase> {
  const { team } = world;
  /** Who clicks: approvers, the owner, others, accounts that may not act, and junk. */
  const userId = () =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...world.actors) },
      { weight: 2, arbitrary: fc.constantFrom(...world.others) },
      { weight: 1, arbitrary: hostileString },
    );

  /** Which elevation a payload names: pending ones mostly, an ended one, unknown and malformed ids. */
  const elevationId = () =>
    fc.oneof(
      { weight: 6, arbitrary: fc.nat(world.slots - 1).map(slotPlaceholder) },
      { weight: 1, arbitrary: fc.constant(world.ended) },
      { weight: 1, arbitrary: fc.stringMatching(/^el_[0-9a-f]{24}$/) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.nat(world.slots - 1), fc.nat(3)).map(([slot, how]) => {
          const id = slotPlaceholder(slot);
          return [id.toUpperCase(), ` ${id}`, `${id}\n`, `${id}cut`][how]!;
        }),
      },
      { weight: 1, arbitrary: hostileString },
    );

  const reason = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '   ', '\n', 'ok\u202eevil', 'a'.repeat(600)) },
    { weight: 1, arbitrary: hostileString },
  );

  const actionTs = fc.nat(1_000_000_000).map((n) => `${1_700_000_000 + (n % 100_000_000)}.${n % 999_983}`);

  /**
   * What an extension's button or deny modal carries (`<elevation id>:<n>`), well-formed or not,
   * or a bare elevation id.
   */
  const extensionValue = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(elevationId(), fc.integer({ min: 1, max: 3 })).map(([id, n]) => `${id}:${n}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(elevationId(), fc.constantFrom('0', '-1', '01', '1.5', '', 'x', '99999999999999999999'))
        .map(([id, n]) => `${id}:${n}`),
    },
    { weight: 1, arbitrary: elevationId() },
  );

  /** A button click as Slack posts it. */
  const click = fc
    .record({
      actionId: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(APPROVE_ACTION, DENY_ACTION) },
        { weight: 2, arbitrary: fc.constantFrom(APPROVE_EXTENSION_ACTION, DENY_EXTENSION_ACTION) },
        { weight: 1, arbitrary: fc.constantFrom(VERIFY_ACTION, ATTEST_REVIEW_ACTION) },
        {
          weight: 1,
          arbitrary: fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 20 })),
        },
      ),
      value: fc.oneof({ weight: 3, arbitrary: elevationId() }, { weight: 1, arbitrary: extensionValue }),
      user: userId(),
      ts: actionTs,
    })
    .map(({ actionId, value, user, ts }): Json => {
      const payload = blockActionPayload({
        userId: user,
        teamId: team,
        actionId,
        value,
        triggerId: TRIGGER,
        responseUrl: `https://hooks.slack.com/actions/${team}/1/fuzz`,
      });
      (payload.actions as Json[])[0]!.action_ts = ts;
      return payload;
    });

  /** A deny-reason modal submitted as Slack posts it. */
  const submission = fc
    .record({
      callbackId: fc.oneof(
        { weight: 6, arbitrary: fc.constant(DENY_CALLBACK) },
        { weight: 2, arbitrary: fc.constant(DENY_EXTENSION_CALLBACK) },
        {
          weight: 1,
          arbitrary: fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 20 })),
        },
      ),
      elevationId: fc.oneof(
        { weight: 3, arbitrary: elevationId() },
        { weight: 1, arbitrary: extensionValue },
      ),
      user: userId(),
      reason,
      viewId: fc.stringMatching(/^V[0-9A-Z]{10}$/),
      hash: actionTs,
    })
    .map(({ callbackId, elevationId: id, user, reason: text, viewId, hash }): Json => {
      const payload = viewSubmissionPayload({
        userId: user,
        teamId: team,
        callbackId,
        privateMetadata: id,
        values: { reason: { reason: text } },
        triggerId: TRIGGER,
        viewId,
      });
      (payload.view as Json).hash = hash;
      return payload;
    });

  const shortcut = fc
    .record({ callbackId: fc.string({ maxLength: 20 }), user: userId(), global: fc.boolean() })
    .map(({ callbackId, user, global }) => ({
      type: global ? 'shortcut' : 'message_action',
      callback_id: callbackId,
      trigger_id: TRIGGER,
      user: { id: user, team_id: team },
      team: { id: team, domain: 'example' },
      ...(global ? {} : { actions: [], channel: { id: 'C0APPROVALS' }, message: { ts: '1.2' } }),
    }));

  const eventCallback = fc
    .record({
      type: fc.oneof(
        fc.constantFrom('app_mention', 'message', 'app_home_opened', 'app_uninstalled', 'tokens_revoked'),
        fc.string({ maxLength: 12 }),
      ),
      user: userId(),
      text: hostileString,
      id: fc.stringMatching(/^Ev[0-9A-Z]{8}$/),
    })
    .map(({ type, user, text, id }) => ({
      token: 'legacy-verification-token',
      team_id: team,
      api_app_id: 'A0ELEVATE1',
      type: 'event_callback',
      event_id: id,
      event_time: 1_700_000_000,
      event: { type, user, text, channel: 'C0APPROVALS', ts: '1700000000.000100' },
    }));

  const urlVerification = fc
    .string({ maxLength: 40 })
    .map((challenge) => ({ type: 'url_verification', token: 'legacy-verification-token', challenge }));

  /** Any payload, well-formed or mutated at the top, in the action or in the view. */
  const payload: fc.Arbitrary<{ kind: string; value: unknown; json: boolean }> = fc.oneof(
    { weight: 5, arbitrary: click.map((value) => ({ kind: 'click', value, json: false })) },
    { weight: 5, arbitrary: submission.map((value) => ({ kind: 'submission', value, json: false })) },
    { weight: 1, arbitrary: shortcut.map((value) => ({ kind: 'shortcut', value, json: false })) },
    { weight: 1, arbitrary: eventCallback.map((value) => ({ kind: 'event', value, json: true })) },
    {
      weight: 1,
      arbitrary: urlVerification.map((value) => ({ kind: 'url_verification', value, json: true })),
    },
    {
      weight: 3,
      arbitrary: mutated(fc.oneof(click, submission, shortcut)).map((value) => ({
        kind: 'mutated',
        value,
        json: false,
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(click, mutated(click.map((c) => (c.actions as Json[])[0]))).map(([c, action]) => ({
        kind: 'mutated_action',
        value: { ...c, actions: [action] },
        json: false,
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(submission, mutated(submission.map((v) => v.view)))
        .map(([v, view]) => ({ kind: 'mutated_view', value: { ...v, view }, json: false })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(click, submission), prototypeObject)
        .map(([v, proto]) => ({ kind: 'prototype_keys', value: { ...proto, ...v }, json: false })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          mutated(fc.oneof(eventCallback, urlVerification)),
          fc
            .tuple(fc.oneof(eventCallback, urlVerification), hostileValue)
            .map(([v, odd]) => ({ ...v, event: odd })),
        )
        .map((value) => ({ kind: 'mutated_event', value, json: true })),
    },
    { weight: 1, arbitrary: hostileValue.map((value) => ({ kind: 'hostile', value, json: false })) },
  );

  /** The body and its content type: as Slack sends it, or broken. */
  const bodyOf = fc
    .tuple(
      payload,
      fc.oneof(
        { weight: 6, arbitrary: fc.constant('as_slack') },
        { weight: 1, arbitrary: fc.constant('broken') },
      ),
      fc.constantFrom(
        'broken_json',
        'no_payload',
        'two_payloads',
        'other_type',
        'no_type',
        'garbage',
        'oversize',
      ),
      fc.nat(),
      fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded; charset=utf-8',
        'multipart/form-data; boundary=x',
      ),
    )
    .map(([{ kind, value, json }, how, broken, cut, otherType]) => {
      const text = JSON.stringify(value) ?? 'undefined';
      const form = (t: string) => new URLSearchParams({ payload: t }).toString();
      const formType = FORM;
      if (how === 'as_slack')
        return json
          ? { kind, body: text, contentType: 'application/json' }
          : { kind, body: form(text), contentType: formType };
      switch (broken) {
        case 'broken_json':
          return {
            kind: `${kind}/broken_json`,
            body: form(text.slice(0, cut % text.length)),
            contentType: formType,
          };
        case 'no_payload':
          return {
            kind: `${kind}/no_payload`,
            body: `ssl_check=1&token=x&${form(text).slice(2)}`,
            contentType: formType,
          };
        case 'two_payloads':
          return {
            kind: `${kind}/two_payloads`,
            body: `${form(text)}&${form('{}')}`,
            contentType: formType,
          };
        case 'other_type':
          return { kind: `${kind}/other_type`, body: json ? form(text) : text, contentType: otherType };
        case 'no_type':
          return { kind: `${kind}/no_type`, body: form(text), contentType: undefined };
        case 'garbage':
          return {
            kind: `${kind}/garbage`,
            body: `payload=%E0%A4%A${text.slice(0, cut % 50)}`,
            contentType: formType,
          };
        case 'oversize':
          return {
            kind: `${kind}/oversize`,
            body: form(JSON.stringify({ ...(isRecord(value) ? value : {}), padding: 'x'.repeat(300_000) })),
            contentType: formType,
          };
      }
    });

  const signing: fc.Arbitrary<Signing> = fc.oneof(
    { weight: 12, arbitrary: fc.constant<Signing>('signed') },
    {
      weight: 4,
      arbitrary: fc.constantFrom<Signing>(
        'bad_signature',
        'other_secret',
        'other_body',
        'stale',
        'future',
        'bad_timestamp',
        'no_signature',
        'no_timestamp',
        'no_headers',
      ),
    },
  );

  const cases: fc.Arbitrary<SlackCase> = fc
    .record({
      body: bodyOf,
      signing,
      compressed: fc.oneof(
        { weight: 30, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    })
    .map(({ body, signing: how, compressed }) => {
      const c = slackCase(body.kind, body.body, body.contentType, how);
      c.compressed = compressed;
      return c;
    });
  return cases;
}

/** The headers of `c` sent with `body`: signed with `signingSecret` now, or forged as `c.signing` says. */
export function headersFor(c: SlackCase, body: string, signingSecret: string): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  // A minute past the tolerance either way: one second past it became just inside when a second
  // boundary passed before the gate looked (a loaded machine answered such a "future" one 200).
  const off = SLACK_TIMESTAMP_TOLERANCE_SECONDS + 60;
  const ts = c.signing === 'stale' ? now - off : c.signing === 'future' ? now + off : now;
  const secret = c.signing === 'other_secret' ? 'not-the-signing-secret' : signingSecret;
  const signed = signSlackRequest(secret, c.signing === 'other_body' ? `${body} ` : body, ts);
  const headers: Record<string, string> = {};
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  if (c.compressed) headers['content-encoding'] = 'gzip';
  if (c.signing !== 'no_signature' && c.signing !== 'no_headers')
    headers['x-slack-signature'] =
      c.signing === 'bad_signature' ? `v0=${'0'.repeat(64)}` : signed['x-slack-signature'];
  if (c.signing !== 'no_timestamp' && c.signing !== 'no_headers')
    headers['x-slack-request-timestamp'] = c.signing === 'bad_timestamp' ? `${ts}.5` : String(ts);
  return headers;
}

/** An answer to a request, and how long it took (from sending to its last byte). */
export interface SlackAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

/** POSTs `body` to `<base>/slack/events`; rejects when no answer comes within `timeoutMs`. */
export function postSlackEvent(
  base: string,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<SlackAnswer> {
  const { port } = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/slack/events', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    // A refusal may close the connection before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    req.end(body);
  });
}
