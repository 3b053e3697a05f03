/**
 * The evidence pack of one elevation: a single JSON document an auditor can keep, read and
 * check without access to Elevate — who asked for what and why, who approved with which MFA
 * login, what the target confirmed on grant and on revocation, and every audit event with the
 * chain fields that make it checkable.
 *
 * How it holds together:
 *
 * - every event carries `position`, `prevHash` and `hash`; the hash is recomputable from the
 *   event's own content with {@link hashEvent}, exactly as the store verifies its chain;
 * - everything else in the pack (the bot and role as recorded, approvals, receipts, workflow id)
 *   must agree with those events, and {@link verifyEvidencePack} checks that it does;
 * - `chain` records the chain head and the result of verifying the whole chain at export time;
 * - `digest` is the SHA-256 of the canonical JSON of all of the above, and the export itself is
 *   an audit event (`audit.exported`, format `evidence`) that records the digest: `exportEvent`.
 *
 * Offline, the verifier detects any edit that is not a complete, consistent recomputation. To
 * rule that out too, check the export event against the live chain: `GET
 * /v1/admin/audit/verify?anchor=<exportEvent.position>:<exportEvent.hash>` answers `ok: true`
 * only if that very event — and so this digest, and so this whole pack — is in Elevate's chain.
 */
import { createHash } from 'node:crypto';
import { workflowIdFor } from '../../core/model/elevation.js';
import { type Actor, type ApprovalRecord, type ElevationView } from '../../core/model/elevation.js';
import { eventDataOf, parseEventData, type EventDataOf } from '../../core/model/event-data.js';
import type {
  RecordedBot,
  RecordedGrantReceipt,
  RecordedRevokeReceipt,
  RecordedRole,
} from '../../core/model/event-data-records.js';
import type { AuditEvent, ChainAnchor, VerifyResult } from '../../core/model/audit-record.js';
import type { LeastPrivilegeReport } from '../../core/model/least-privilege.js';
import { canonicalJson, hashEvent } from '../../core/crypto/hash-chain.js';

/** The `format` of packs this code writes and reads. */
export const EVIDENCE_FORMAT = 'elevate-evidence/1';

/** Where an export came from: the admin API (a token) or the admin console (a person). */
export type EvidenceVia = 'api' | 'console';

/** One event's place in the chain, as the pack's proof lists it. */
export interface ChainLink {
  eventId: string;
  seq: number;
  position: number;
  prevHash: string;
  hash: string;
}

/** Everything in a pack that its digest covers. */
export interface EvidencePackBody {
  format: typeof EVIDENCE_FORMAT;
  elevationId: string;
  /** When the pack was made (ISO 8601); also the export event's `at`. */
  exportedAt: string;
  /** Who asked for it; also the export event's actor. */
  exportedBy: Actor;
  via: EvidenceVia;
  /** The elevation as Elevate shows it (its summary at export time). */
  elevation: ElevationView;
  /**
   * The bot as recorded when it asked (from `elevation.requested`), or null if never recorded
   * (or recorded in a shape this version does not read).
   */
  bot: RecordedBot | null;
  /** The role as recorded when the bot asked, or null as for `bot`. */
  role: RecordedRole | null;
  /** The Temporal workflow that ran the elevation. */
  workflowId: string;
  /** Accepted approvals, each with the evidence of the approver's MFA login. */
  approvals: ApprovalRecord[];
  /** What the target confirmed by reading it back: the last grant, and the revocation. */
  receipts: { grant: RecordedGrantReceipt | null; revoke: RecordedRevokeReceipt | null };
  /** Every audit event of the elevation, in order. */
  events: AuditEvent[];
  chain: {
    /** The last event of the whole chain when the pack was made. */
    head: ChainAnchor | null;
    /** The result of verifying the whole chain when the pack was made. */
    verify: VerifyResult;
    /** Each event's position, previous hash and hash. */
    proof: ChainLink[];
  };
  /**
   * The bot's least-privilege report at export time (its roles unused for 30/60/90 days, given
   * back within seconds, the narrower list recommended), or null when the policy no longer lists
   * the bot. Read from the elevation index, not from this elevation's events: the digest covers
   * it, the events do not prove it. Absent from packs made without it.
   */
  leastPrivilege?: LeastPrivilegeReport | null;
}

/** A complete evidence pack. */
export interface EvidencePack extends EvidencePackBody {
  /** `sha256:` and the hex SHA-256 of the canonical JSON (RFC 8785) of the body. */
  digest: string;
  /** The audit event that records this export and its digest. */
  exportEvent: AuditEvent;
}

/** What {@link buildEvidenceBody} needs. */
export interface EvidenceInput {
  elevation: ElevationView;
  events: AuditEvent[];
  verify: VerifyResult;
  exportedAt: string;
  exportedBy: Actor;
  via: EvidenceVia;
  /** The bot's least-privilege report, or null (see {@link EvidencePackBody.leastPrivilege}). */
  leastPrivilege?: LeastPrivilegeReport | null;
}

/** The result of {@link verifyEvidencePack}. */
export interface EvidenceVerification {
  ok: boolean;
  /** What does not check out, each naming the part of the pack; empty when `ok`. */
  problems: string[];
}

/** The body of a pack, from an elevation, its events and a verification of the whole chain. */
export function buildEvidenceBody(input: EvidenceInput): EvidencePackBody {
  const { elevation, events } = input;
  const derived = fromEvents(events);
  const body: EvidencePackBody = {
    format: EVIDENCE_FORMAT,
    elevationId: elevation.id,
    exportedAt: input.exportedAt,
    exportedBy: { kind: input.exportedBy.kind, id: input.exportedBy.id },
    via: input.via,
    elevation,
    bot: derived.bot,
    role: derived.role,
    workflowId: elevation.workflowId,
    approvals: elevation.approvals,
    receipts: { grant: derived.grant, revoke: derived.revoke },
    events,
    chain: { head: input.verify.head ?? null, verify: input.verify, proof: events.map(linkOf) },
    ...(input.leastPrivilege !== undefined ? { leastPrivilege: input.leastPrivilege } : {}),
  };
  // Exactly the JSON a reader will parse back, so the digest is recomputable from the file.
  return JSON.parse(JSON.stringify(body)) as EvidencePackBody;
}

/** The digest of a pack's body: `sha256:` and 64 hex digits. */
export function evidenceDigest(body: EvidencePackBody): string {
  return `sha256:${createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex')}`;
}

/** The `data` of the `audit.exported` event that records an evidence export. */
export function exportEventData(body: EvidencePackBody, digest: string): EventDataOf<'audit.exported'> {
  return { format: 'evidence', elevationId: body.elevationId, digest, via: body.via };
}

/** The body of a pack: everything but `digest` and `exportEvent`. */
function bodyOf(pack: EvidencePack): EvidencePackBody {
  const { digest: _digest, exportEvent: _event, ...body } = pack;
  return body;
}

function linkOf(e: AuditEvent): ChainLink {
  return { eventId: e.id, seq: e.seq, position: e.position, prevHash: e.prevHash, hash: e.hash };
}

/**
 * What the events say about the bot, the role and the target's receipts. An event whose data is
 * not in the shape of its type says nothing (its hash still covers it, in `events`).
 */
function fromEvents(events: AuditEvent[]): {
  requested: EventDataOf<'elevation.requested'> | undefined;
  bot: RecordedBot | null;
  role: RecordedRole | null;
  grant: RecordedGrantReceipt | null;
  revoke: RecordedRevokeReceipt | null;
} {
  const requested = eventDataOf(
    events.find((e) => e.type === 'elevation.requested'),
    'elevation.requested',
  );
  const last = (types: string[]) => [...events].reverse().find((e) => types.includes(e.type));
  const grant = eventDataOf(last(['grant.confirmed']), 'grant.confirmed');
  const ended = last(['elevation.revoked', 'elevation.failed']);
  const end = ended && parseEventData(ended.type, ended.data);
  return {
    requested,
    bot: requested?.bot ?? null,
    role: requested?.role ?? null,
    grant: grant?.receipt ?? null,
    revoke:
      end?.ok && (end.type === 'elevation.revoked' || end.type === 'elevation.failed')
        ? (end.data.receipt ?? null)
        : null,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether two JSON values are the same (canonical JSON compared). */
function same(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a ?? null) === canonicalJson(b ?? null);
  } catch {
    return false;
  }
}

/** Whether `e` is shaped like a stored audit event (so that hashing it means something). */
function isEvent(e: unknown): e is AuditEvent {
  return (
    isRecord(e) &&
    typeof e.id === 'string' &&
    (typeof e.elevationId === 'string' || e.elevationId === null) &&
    Number.isSafeInteger(e.seq) &&
    typeof e.type === 'string' &&
    typeof e.at === 'string' &&
    isRecord(e.actor) &&
    typeof e.actor.kind === 'string' &&
    typeof e.actor.id === 'string' &&
    isRecord(e.data) &&
    Number.isSafeInteger(e.position) &&
    typeof e.prevHash === 'string' &&
    typeof e.hash === 'string'
  );
}

/** Whether the event's stored hash is the hash of its content (extra fields count as tampering). */
function hashHolds(e: AuditEvent): boolean {
  const { hash, ...rest } = e;
  const known = ['id', 'elevationId', 'seq', 'type', 'at', 'actor', 'data', 'position', 'prevHash'];
  if (Object.keys(rest).some((k) => !known.includes(k))) return false;
  if (Object.keys(e.actor).some((k) => k !== 'kind' && k !== 'id')) return false;
  try {
    return hashEvent(rest) === hash;
  } catch {
    return false;
  }
}

/**
 * Checks an evidence pack (as parsed from its JSON file) on its own: the digest, the export
 * event that records it, every event's hash, the order of the events, and that the bot, role,
 * approvals, receipts, workflow id and chain proof agree with the events. Never throws: a pack
 * of the wrong shape is reported as a problem.
 *
 * A pack that passes is internally consistent; whether it is Elevate's own is shown by the
 * export event's place in the live chain (see the module comment).
 */
export function verifyEvidencePack(input: unknown): EvidenceVerification {
  const problems: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);
  if (!isRecord(input)) return { ok: false, problems: ['pack: is not a JSON object'] };
  const pack = input as unknown as EvidencePack;
  if (pack.format !== EVIDENCE_FORMAT) fail('format', `is not ${String(EVIDENCE_FORMAT)}`);

  // The digest covers every field but itself and the export event.
  let digest: string | undefined;
  try {
    digest = evidenceDigest(bodyOf(pack));
  } catch {
    fail('pack', 'cannot be read as JSON');
  }
  if (digest !== undefined && pack.digest !== digest)
    fail('digest', 'does not match the pack’s content (edited)');

  // The export event records the digest, and its own hash covers that record.
  const ex: unknown = pack.exportEvent;
  if (!isEvent(ex)) {
    fail('exportEvent', 'is missing or not an audit event');
  } else {
    if (!hashHolds(ex)) fail('exportEvent', 'its hash does not match its content (edited)');
    if (ex.type !== 'audit.exported') fail('exportEvent.type', 'is not audit.exported');
    if (ex.elevationId !== pack.elevationId) fail('exportEvent.elevationId', 'names another elevation');
    if (!same(ex.data, exportEventData(pack, pack.digest)))
      fail('exportEvent.data', 'does not record this pack’s digest, elevation and origin');
    if (!same(ex.actor, pack.exportedBy)) fail('exportEvent.actor', 'is not exportedBy');
    if (ex.at !== pack.exportedAt) fail('exportEvent.at', 'is not exportedAt');
  }

  // Every event: its own hash, this elevation, in order, listed in the proof.
  const events: unknown = pack.events;
  const list: AuditEvent[] = [];
  if (!Array.isArray(events) || events.length === 0) {
    fail('events', 'is missing or empty');
  } else {
    events.forEach((e: unknown, i) => {
      const at = `events[${i}]`;
      if (!isEvent(e)) {
        fail(at, 'is not an audit event');
        return;
      }
      list.push(e);
      if (!hashHolds(e)) fail(at, `its hash does not match its content (event ${e.id}, edited)`);
      if (e.elevationId !== pack.elevationId) fail(`${at}.elevationId`, 'names another elevation');
      if (e.seq !== i + 1) fail(`${at}.seq`, `is ${e.seq}, expected ${i + 1} (an event is missing or moved)`);
      const before = list[list.length - 2];
      if (before && !(e.position > before.position)) fail(`${at}.position`, 'is not after the event before');
      // Neighbours in the chain must link up.
      if (before && e.position === before.position + 1 && e.prevHash !== before.hash)
        fail(`${at}.prevHash`, 'is not the hash of the event before it in the chain');
    });
  }
  if (!same(pack.chain?.proof, list.map(linkOf)))
    fail('chain.proof', 'does not list the events’ chain fields');

  // The chain at export time.
  const verify: unknown = pack.chain?.verify;
  if (!isRecord(verify) || verify.ok !== true) {
    fail('chain.verify', 'the audit chain did not verify when the pack was made');
  }
  const head = pack.chain?.head;
  if (!same(head, isRecord(verify) ? (verify.head ?? null) : undefined))
    fail('chain.head', 'is not the head the verification reached');
  const lastEvent = list[list.length - 1];
  if (isRecord(head) && typeof head.position === 'number') {
    if (lastEvent && lastEvent.position > head.position) fail('chain.head', 'is before the last event');
    if (isEvent(ex) && ex.position <= head.position) fail('exportEvent.position', 'is not after chain.head');
  }

  // What the rest of the pack says must be what the events say.
  const derived = fromEvents(list);
  if (!same(pack.bot, derived.bot)) fail('bot', 'is not the bot recorded in elevation.requested');
  if (!same(pack.role, derived.role)) fail('role', 'is not the role recorded in elevation.requested');
  if (!same(pack.receipts?.grant, derived.grant))
    fail('receipts.grant', 'is not the grant.confirmed receipt');
  if (!same(pack.receipts?.revoke, derived.revoke)) fail('receipts.revoke', 'is not the revocation receipt');
  const view: unknown = pack.elevation;
  if (!isRecord(view)) {
    fail('elevation', 'is missing');
  } else {
    if (view.id !== pack.elevationId) fail('elevation.id', 'is not elevationId');
    if (typeof pack.elevationId !== 'string' || pack.workflowId !== workflowIdFor(pack.elevationId))
      fail('workflowId', 'is not the elevation’s workflow');
    if (view.workflowId !== pack.workflowId) fail('elevation.workflowId', 'is not workflowId');
    if (!same(pack.approvals, view.approvals)) fail('approvals', 'are not the elevation’s approvals');
    const report: unknown = pack.leastPrivilege;
    if (
      report != null &&
      !(
        isRecord(report) &&
        Array.isArray(report.bots) &&
        report.bots.every((b) => isRecord(b) && b.botId === view.botId)
      )
    )
      fail('leastPrivilege', 'is not a report of the elevation’s bot');
    const { bot, role, requested } = derived;
    const expected: [string, unknown][] = [
      ['botId', bot?.id],
      ['owner', bot?.owner],
      ['roleId', role?.id],
      ['environment', role?.environment],
      ['durationSeconds', requested?.durationSeconds],
      ['justification', requested?.justification],
    ];
    for (const [field, value] of expected) {
      if (value !== undefined && view[field] !== value)
        fail(`elevation.${field}`, 'disagrees with the events');
    }
    const accepted = list.filter((e) => e.type === 'approval.accepted');
    const approvals = Array.isArray(view.approvals) ? (view.approvals as unknown[]) : [];
    if (approvals.length !== accepted.length) {
      fail('approvals', `${approvals.length} listed, ${accepted.length} recorded`);
    } else {
      approvals.forEach((a, i) => {
        const d = eventDataOf(accepted[i], 'approval.accepted');
        if (
          !d ||
          !isRecord(a) ||
          a.approver !== d.approver ||
          !same(a.groups, d.groups) ||
          !same(a.evidence ?? null, d.evidence ?? null) ||
          !same(a.identity ?? null, d.identity ?? null)
        ) {
          fail(`approvals[${i}]`, 'disagrees with its approval.accepted event');
        }
      });
    }
  }
  return { ok: problems.length === 0, problems };
}
