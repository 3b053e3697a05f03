/**
 * Elevate's audit events as OCSF 1.5.0 events (the `ocsf` export, see `export.ts`): which class,
 * activity, severity and status each event type becomes ({@link toOcsf}). Each event's data is
 * read once with its type's schema (`core/model/event-data.ts`), so the mapping works on typed
 * data. The classes and the OCSF objects built from Elevate's values are in `ocsf-objects.ts`.
 */
import {
  isEventType,
  parseEventData,
  type BotChangeEventType,
  type EventDataOf,
} from '../../core/model/event-data.js';
import type { AwsIamCredentialsTargetRef, TargetRef } from '../../core/model/targets.js';
import { denyPolicyName, policyName, sessionName } from '../../core/crypto/aws-names.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { eventRecord } from '../../core/crypto/hash-chain.js';
import {
  CLASSES,
  SEVERITY,
  STATUS,
  actorOf,
  actorUser,
  auditTrailEntity,
  awsUser,
  compact,
  credentialsEntity,
  describeTarget,
  elevationEntity,
  endpoint,
  errorText,
  firstRdnValue,
  httpRequest,
  isTargetRef,
  principalUser,
  targetGroup,
  targetResource,
  text,
  finding,
  type Mapping,
  type Severity,
  type Status,
} from './ocsf-objects.js';
import {
  findingSeverity,
  requestSeverity,
  riskAttributes,
  riskDetails,
  riskEntityData,
  riskWords,
} from './ocsf-risk.js';
import { anomalyDetails, anomalyFinding, anomalyMessage } from './ocsf-anomaly.js';
import { attestationMapping } from './ocsf-attestation.js';
import { lifecycleMapping } from './ocsf-lifecycle.js';

export { OCSF_CLASS_UIDS } from './ocsf-objects.js';

/** The OCSF schema version the `ocsf` export follows (`metadata.version` of every event). */
export const OCSF_VERSION = '1.5.0';

/*
 * What OCSF allows is checked, not restated here: the tests validate every exported event
 * against a JSON Schema compiled from the OCSF 1.5.0 schema's own definitions
 * (`test/fixtures/ocsf/1.5.0/`, made by `scripts/compile-ocsf-schema.ts`): each class's and
 * object's attributes and no others, none deprecated, the required ones, OCSF's types and enum
 * values. The export applies no OCSF profile (`metadata.profiles`), so the attributes profiles
 * add are not used either: the Base Event and Detection Finding have no `actor`.
 */

/** Detection Finding titles, types and severities of what someone did around Elevate's API. */
const FINDINGS = {
  'decision.refused': ['Forged decision sent to an elevation', 'Temporal access without approval', 'high'],
  'request.unverified': ['Elevation started around the API', 'Temporal access without approval', 'high'],
  'lease.orphaned': ['Grant outlived its elevation', 'Orphaned grant', 'medium'],
} as const;

/** The Detection Finding title and type of a request the risk score denied (severity: its level). */
const RISK_DENIAL = ['Elevation request denied by its risk score', 'Risky privilege request'] as const;

/**
 * Maps one audit event to an OCSF 1.5.0 event (see {@link OCSF_VERSION}):
 *
 * - `grant.confirmed`: Group Management 3006 (Add User) for an LDAP group or PostgreSQL role;
 *   Account Change 3001 (Attach Policy, the policy in `policies`) for AWS IAM attach mode;
 *   Authorize Session 3003 (Assign Privileges) for the session issued in AWS credentials mode.
 * - `elevation.revoked` that removed the grant, and `drift.reverted`: Group Management 3006
 *   (Remove User) or Account Change 3001 (Detach Policy); for delivered AWS credentials that
 *   were still valid, Account Change 3001 (Attach Policy) of the policy denying the session.
 * - `drift.detected`: Detection Finding 2004 (Create), finding status New.
 * - `decision.refused`, `request.unverified` (someone sent a decision or started an elevation
 *   straight through Temporal, around the API's signature), and `lease.orphaned` (a grant whose
 *   workflow ended without revoking it): Detection Finding 2004 (Create), finding status New.
 * - an admin's change to a bot (`bot.locked`, `bot.unlocked`, `bot.disabled`, `bot.enabled`,
 *   `bot.key_rotated`): Account Change 3001 (Lock, Unlock, Disable, Enable, Password Reset) of
 *   the bot as the user; the admin's reason is in the message (the class has no `comment`).
 * - `auth.refused`: Authentication 3002 (Logon), Failure.
 * - `refusals.summarized`: Authentication 3002 (Logon), Failure, with `count`: the refusals
 *   before authentication of one kind that a window saw (only the first was recorded in full).
 * - `admin.signed_in`: Authentication 3002 (Logon), Success, MFA.
 * - `admin.action`: Entity Management 3004: Read of the audit trail for a verification (Failure
 *   when the chain is broken), Update of the elevation for anything else (a revocation asked for
 *   in the console).
 * - `elevation.requested`: Entity Management 3004 (Create) of the elevation; with a risk score,
 *   its level sets the severity and the bot's `actor.user` carries it (see `ocsf-risk.ts`).
 * - `elevation.denied` by the risk score: Detection Finding 2004 (Create) with `risk_score`,
 *   `risk_level`, `risk_level_id` and `risk_details`.
 * - `anomaly.detected` (continuous detection): Detection Finding 2004 (Create), see `ocsf-anomaly.ts`.
 * - owner attestation (`attestation.*`): Entity Management 3004 (Update) of the bot's role
 *   list; an unanswered one Account Change 3001 (Disable) of the bot, see `ocsf-attestation.ts`.
 * - `request.refused`: Entity Management 3004, Create, Read or Update by HTTP method, Failure.
 * - `credentials.delivered` / `credentials.refused`: Entity Management 3004 (Read) of the
 *   session's credentials, Success / Failure.
 * - `audit.exported`: Entity Management 3004 (Read) of the audit trail.
 * - the rest of the elevation's lifecycle (`approval.accepted`, `elevation.approved`,
 *   `elevation.denied`, `elevation.expired`, `grant.failed`, `elevation.failed`, `revoke.started`,
 *   `revoke.failed`, the refusals `approval`/`deny`/`revoke`/`extend`/`breakglass.refused`, and
 *   reminders, escalation, extensions, break-glass and bundles in `ocsf-lifecycle.ts`):
 *   Entity Management 3004 (Update) of the elevation; refusals, denials, approval timeouts and
 *   failures with status Failure. A comment or justification goes in `comment`, which Entity
 *   Management defines.
 * - **any other type** (one recorded by a newer Elevate): a Base Event 0, activity 99 Other,
 *   Failure when the type ends in `.refused` or `.failed` and Unknown otherwise (see
 *   {@link unmappedEvent}).
 * - an event of a known type whose data does not match its type's schema
 *   (`core/model/event-data.ts`): an Entity Management 3004 update, status Failure or Unknown
 *   likewise (see {@link unreadableEvent}).
 *
 * An `elevation.revoked` that changed nothing in the target (other elevations still hold the
 * membership, the elevation was never granted, AWS credentials destroyed before delivery or
 * left to expire) is an Entity Management update, not a removal.
 *
 * Every event carries the base attributes (`class_uid`, `category_uid`, `activity_id`,
 * `type_uid` = class_uid × 100 + activity_id, `severity_id`, `time` in epoch milliseconds,
 * `metadata` with the OCSF version, the product, the event id as `uid`, the elevation id as
 * `correlation_uid` and the chain position as `sequence`), `status_id`, a `message`, the actor
 * in the classes that define one (not the Base Event nor the Detection Finding), and under
 * `unmapped` the Elevate event exactly as the `jsonl` export writes it, which keeps whatever
 * has no OCSF attribute of its own. Only attributes OCSF 1.5.0 defines for the class are used.
 * The data is read once, with its type's schema; what the schema leaves optional is mapped when
 * present. Never throws: an event whose data does not say what its class needs (an unreadable
 * one, a receipt without a principal, a change to a bot without its id) falls back to an
 * Entity Management update.
 */
export function toOcsf(event: AuditEvent): Record<string, unknown> {
  const m = mapEvent(event);
  const activityName = m.cls.activities[m.activity] ?? 'Other';
  const [severityId, severity] = SEVERITY[m.severity];
  const [statusId, status] = STATUS[m.status];
  const time = Date.parse(event.at);
  return compact({
    class_uid: m.cls.uid,
    class_name: m.cls.name,
    category_uid: m.cls.categoryUid,
    category_name: m.cls.categoryName,
    activity_id: m.activity,
    activity_name: activityName,
    type_uid: m.cls.uid * 100 + m.activity,
    type_name: `${m.cls.name}: ${activityName}`,
    severity_id: severityId,
    severity,
    status_id: statusId,
    status,
    status_code: m.statusCode,
    status_detail: m.statusDetail,
    // A stored `at` is always a valid instant; 0 keeps a damaged one from becoming null.
    time: Number.isFinite(time) ? time : 0,
    message: m.message,
    metadata: compact({
      version: OCSF_VERSION,
      product: { name: 'Elevate', vendor_name: 'Elevate' },
      uid: event.id,
      correlation_uid: event.elevationId ?? undefined,
      sequence: event.position,
      event_code: event.type,
      log_name: 'audit',
      original_time: event.at,
    }),
    actor: m.cls.actor ? actorOf(event.actor) : undefined,
    ...m.fields,
    unmapped: eventRecord(event),
  });
}

function mapEvent(event: AuditEvent): Mapping {
  const parsed = parseEventData(event.type, event.data);
  if (!parsed.ok) return isEventType(parsed.type) ? unreadableEvent(event) : unmappedEvent(event);
  const id = event.elevationId ?? 'unknown';
  const update = (severity: Severity, status: Status, message: string, extra: Partial<Mapping> = {}) =>
    ({
      cls: CLASSES.entityManagement,
      activity: 3,
      severity,
      status,
      message,
      fields: { entity: elevationEntity(event) },
      ...extra,
    }) satisfies Mapping;

  switch (parsed.type) {
    case 'elevation.requested': {
      const d = parsed.data;
      const bot = text(d.bot.id) ?? event.actor.id;
      const role = text(d.role.id) ?? '?';
      const justification = text(d.justification);
      const { risk } = d;
      return {
        cls: CLASSES.entityManagement,
        activity: 1,
        severity: requestSeverity(risk),
        status: 'success',
        message: `Bot ${bot} requested role ${role} for ${d.durationSeconds} s (elevation ${id}${risk ? `, ${riskWords(risk)}` : ''})${justification ? `: ${justification}` : ''}`,
        fields: {
          // The score is the requesting bot's, at this request: OCSF's user has a place for it.
          ...(risk && event.actor.kind === 'bot'
            ? { actor: { user: { ...actorUser(event.actor), ...riskAttributes(risk) } } }
            : {}),
          entity: elevationEntity(event, {
            bot,
            role,
            durationSeconds: d.durationSeconds,
            justification,
            ticket: text(d.ticket),
            requestId: text(d.requestId),
            risk: risk ? riskEntityData(risk) : undefined,
          }),
          comment: justification,
          src_endpoint: endpoint(d.source?.ip),
          http_request: httpRequest('POST', '/v1/elevations', text(d.source?.userAgent)),
        },
      };
    }
    case 'approval.accepted': {
      const { count } = parsed.data;
      return update(
        'informational',
        'success',
        `${text(parsed.data.approver) ?? event.actor.id} approved elevation ${id} (${count} approval${count === 1 ? '' : 's'} so far)`,
        { fields: { entity: elevationEntity(event), comment: text(parsed.data.comment) } },
      );
    }
    case 'approval.reminded':
    case 'approval.escalated':
    case 'elevation.extended':
    case 'extension.requested':
    case 'extension.closed':
    case 'breakglass.activated':
    case 'breakglass.reviewed':
    case 'breakglass.review_missed':
    case 'bundle.granted':
      return lifecycleMapping(event, parsed, update);
    case 'elevation.approved': {
      const approvers = parsed.data.approvers ?? [];
      return update(
        'informational',
        'success',
        parsed.data.rule === 'auto'
          ? `Elevation ${id} approved automatically by its role's policy`
          : `Elevation ${id} approved${approvers.length > 0 ? ` by ${approvers.join(', ')}` : ''}`,
      );
    }
    case 'elevation.denied': {
      const reason = text(parsed.data.reason);
      const { risk } = parsed.data;
      if (risk) {
        const message = `Elevation ${id} denied by its risk score (${riskWords(risk)})${reason ? `: ${reason}` : ''}`;
        return finding(event, [...RISK_DENIAL, findingSeverity(risk)], message, {
          ...riskAttributes(risk),
          risk_details: riskDetails(risk),
        });
      }
      return update(
        'low',
        'failure',
        `${event.actor.id} denied elevation ${id}${reason ? `: ${reason}` : ''}`,
        {
          statusDetail: reason ? `denied: ${reason}` : 'denied',
        },
      );
    }
    case 'elevation.expired':
      return update('low', 'failure', `Elevation ${id} expired: nobody decided within the approval window`, {
        statusDetail: 'approval_timeout',
      });
    case 'grant.failed': {
      const error = errorText(parsed.data.error);
      return update('medium', 'failure', `Granting elevation ${id} failed${error ? `: ${error}` : ''}`, {
        statusDetail: error,
      });
    }
    case 'grant.confirmed': {
      const { receipt } = parsed.data;
      const principal = text(receipt.principal);
      const change = principal && membershipChange(event, receipt.target, principal, 'add', receipt.session);
      if (!principal || !change)
        return update('informational', 'success', `Grant of elevation ${id} confirmed`);
      const shared = receipt.alreadyPresent === true ? ' (already a member: the membership is shared)' : '';
      return {
        ...change,
        severity: 'informational',
        status: 'success',
        message: `Granted ${describeTarget(receipt.target, event.elevationId)} to ${principal} for elevation ${id}${shared}`,
      };
    }
    case 'elevation.failed': {
      const why = text(parsed.data.error) ?? text(parsed.data.reason);
      return update('medium', 'failure', `Elevation ${id} failed${why ? `: ${why}` : ''}`, {
        statusDetail: why,
      });
    }
    case 'revoke.started': {
      const reason = text(parsed.data.reason);
      return update(
        'informational',
        'success',
        `Revocation of elevation ${id} started${reason ? ` (${reason})` : ''}`,
        { fields: { entity: elevationEntity(event), comment: text(parsed.data.comment) } },
      );
    }
    case 'revoke.failed': {
      const error = errorText(parsed.data.error);
      return update(
        'high',
        'failure',
        `Revocation attempt ${parsed.data.attempt} of elevation ${id} failed${error ? `: ${error}` : ''}; it is retried until the target confirms it`,
        { statusDetail: error },
      );
    }
    case 'elevation.revoked':
      return revokedEvent(event, parsed.data, update);
    case 'approval.refused':
    case 'deny.refused':
    case 'revoke.refused':
    case 'extend.refused':
    case 'breakglass.refused': {
      const what = {
        'approval.refused': 'approval',
        'deny.refused': 'denial',
        'revoke.refused': 'revocation',
        'extend.refused': 'extension',
        'breakglass.refused': 'break-glass review',
      }[parsed.type];
      const code = text(parsed.data.code);
      const detail = text(parsed.data.message);
      return update(
        'low',
        'failure',
        `Refused ${what} of elevation ${id} by ${event.actor.kind} ${event.actor.id}${code ? `: ${code}` : ''}${detail ? ` (${detail})` : ''}`,
        { statusCode: code, statusDetail: detail ?? code },
      );
    }
    case 'request.refused': {
      const d = parsed.data;
      const method = text(d.method)?.toUpperCase();
      const path = text(d.path);
      const code = text(d.code);
      const detail = text(d.message);
      const activity = method === 'GET' ? 2 : method === 'POST' && event.elevationId === null ? 1 : 3;
      return update(
        'low',
        'failure',
        `Refused ${method ?? 'request'} ${path ?? ''} from ${event.actor.kind} ${event.actor.id}${code ? `: ${code}` : ''}${detail ? ` (${detail})` : ''}`,
        {
          activity,
          statusCode: code,
          statusDetail: detail ?? code,
          fields: {
            entity: elevationEntity(event),
            http_request: httpRequest(method, path, text(d.userAgent)),
            src_endpoint: endpoint(d.ip),
          },
        },
      );
    }
    case 'credentials.delivered': {
      const session = text(parsed.data.sessionName);
      const expiration = text(parsed.data.expiration);
      return update(
        'informational',
        'success',
        `Temporary AWS credentials of elevation ${id}${session ? ` (session ${session}${expiration ? `, until ${expiration}` : ''})` : ''} delivered to ${event.actor.kind} ${event.actor.id}`,
        {
          activity: 2,
          fields: {
            entity: credentialsEntity(event, session, expiration),
            src_endpoint: endpoint(parsed.data.ip),
          },
        },
      );
    }
    case 'credentials.refused': {
      const { session } = parsed.data;
      const reason = text(parsed.data.reason);
      return update(
        // A second fetch of delivered credentials may be a copied bot key or a replay.
        reason === 'already_delivered' ? 'medium' : 'low',
        'failure',
        `Refused the temporary AWS credentials of elevation ${id} to ${event.actor.kind} ${event.actor.id}${reason ? `: ${reason}` : ''}`,
        {
          activity: 2,
          statusCode: reason,
          statusDetail: reason,
          fields: {
            entity: credentialsEntity(event, text(session?.sessionName), text(session?.expiration)),
            src_endpoint: endpoint(parsed.data.ip),
          },
        },
      );
    }
    case 'audit.exported': {
      const format = text(parsed.data.format);
      const since = text(parsed.data.since);
      const until = text(parsed.data.until);
      return update(
        'informational',
        'success',
        `Audit trail exported${format ? ` as ${format}` : ''} by ${event.actor.kind} ${event.actor.id}${since ? ` since ${since}` : ''}${until ? ` until ${until}` : ''}`,
        { activity: 2, fields: { entity: auditTrailEntity({ format, since, until }) } },
      );
    }
    case 'auth.refused': {
      const d = parsed.data;
      const reason = text(d.reason);
      const method = text(d.method)?.toUpperCase();
      const path = text(d.path);
      const ip = text(d.ip);
      return {
        cls: CLASSES.authentication,
        activity: 1,
        severity: 'medium',
        status: 'failure',
        statusDetail: reason,
        message: `Refused credentials${reason ? ` (${reason})` : ''}${method || path ? ` for ${method ?? ''} ${path ?? ''}` : ''}${ip ? ` from ${ip}` : ''}`,
        fields: {
          user: compact({ ...actorUser(event.actor), credential_uid: text(d.credential) }),
          service: { name: 'Elevate' },
          src_endpoint: endpoint(ip),
          http_request: httpRequest(method, path, text(d.userAgent)),
        },
      };
    }
    case 'refusals.summarized': {
      const d = parsed.data;
      const reason = text(d.reason);
      const route = text(d.route);
      const network = text(d.network);
      const from = text(d.from);
      return {
        cls: CLASSES.authentication,
        activity: 1,
        severity: 'medium',
        status: 'failure',
        statusDetail: reason,
        message: `Refused ${d.count} ${text(d.of) ?? 'auth.refused'} attempts${reason ? ` (${reason})` : ''}${route ? ` for ${route}` : ''}${network ? ` from ${network}` : ''}${from ? ` between ${from} and ${text(d.to) ?? '?'}` : ''}`,
        fields: {
          user: compact({ ...actorUser(event.actor), credential_uid: text(d.credential) }),
          service: { name: 'Elevate' },
          ...(Number.isInteger(d.count) && d.count >= 0 ? { count: d.count } : {}),
        },
      };
    }
    case 'drift.detected': {
      const d = parsed.data;
      const target = isTargetRef(d.target) ? d.target : undefined;
      const principal = text(d.principal) ?? '?';
      const role = text(d.role) ?? '?';
      const where = target ? describeTarget(target, null) : `role ${role}`;
      const message = `${principal} holds role ${role} (${where}) but no elevation explains it${d.action === 'revert' ? '; it is being removed' : ''}`;
      return finding(event, [`Unexplained member of role ${role}`, 'Privilege drift', 'high'], message, {
        resources: target ? [targetResource(target, role)] : undefined,
      });
    }
    case 'anomaly.detected':
      return finding(event, anomalyFinding(parsed.data), anomalyMessage(parsed.data), {
        risk_details: anomalyDetails(parsed.data),
      });
    case 'attestation.requested':
    case 'attestation.confirmed':
    case 'attestation.expired':
    case 'attestation.refused':
      return attestationMapping(event, parsed);
    case 'decision.refused': {
      const d = parsed.data;
      const message = `Refused a ${text(d.decision) ?? ''} decision for elevation ${id} sent around Elevate's API (${text(d.code) ?? '?'}): ${text(d.message) ?? ''}`;
      return finding(event, FINDINGS[parsed.type], message);
    }
    case 'request.unverified': {
      const d = parsed.data;
      const message = `Refused an elevation workflow started around Elevate's API (${text(d.code) ?? '?'}): ${text(d.message) ?? ''}`;
      return finding(event, FINDINGS[parsed.type], message);
    }
    case 'lease.orphaned': {
      const d = parsed.data;
      const message = `The grant of elevation ${id} outlived its workflow ${text(d.workflowId) ?? ''} (${text(d.workflowStatus) ?? 'not running'}); reconciliation revokes it`;
      return finding(event, FINDINGS[parsed.type], message);
    }
    case 'drift.reverted': {
      const d = parsed.data;
      const target = isTargetRef(d.target) ? d.target : undefined;
      const principal = text(d.principal);
      const role = text(d.role) ?? '?';
      const change = target && principal ? membershipChange(event, target, principal, 'remove') : undefined;
      const message = `Removed ${principal ?? 'a member'} that no elevation explained from ${target ? describeTarget(target, null) : `role ${role}`}`;
      if (change) return { ...change, severity: 'medium', status: 'success', message };
      return update('medium', 'success', message);
    }
    case 'bot.locked':
    case 'bot.unlocked':
    case 'bot.disabled':
    case 'bot.enabled':
    case 'bot.key_rotated': {
      const [activity, verb, severity] = BOT_CHANGES[parsed.type];
      const bot = text(parsed.data.botId);
      const reason = text(parsed.data.reason);
      const because = reason ? `: ${reason}` : '';
      const revoked = parsed.type === 'bot.locked' ? parsed.data.revoked.length : undefined;
      const tail = revoked !== undefined ? ` (${revoked} elevation${revoked === 1 ? '' : 's'} revoked)` : '';
      const message = `${event.actor.kind} ${event.actor.id} ${verb} bot ${bot ?? '?'}${because}${tail}`;
      if (!bot) return update(severity, 'success', message);
      return {
        cls: CLASSES.accountChange,
        activity,
        severity,
        status: 'success',
        message,
        // Account Change has no `comment`: the reason is in the message (and under `unmapped`).
        fields: { user: { uid: bot, name: bot, type: 'Bot', type_id: 99 } },
      };
    }
    case 'admin.signed_in': {
      const ip = text(parsed.data.ip);
      const method = text(parsed.data.mfaMethod);
      return {
        cls: CLASSES.authentication,
        activity: 1,
        severity: 'informational',
        status: 'success',
        message: `${event.actor.id} signed in to the admin console${method ? ` with MFA (${method})` : ''}${ip ? ` from ${ip}` : ''}`,
        fields: {
          user: compact({ ...actorUser(event.actor), uid_alt: text(parsed.data.subject) }),
          service: { name: 'Elevate admin console' },
          src_endpoint: endpoint(ip),
          is_mfa: true,
        },
      };
    }
    case 'admin.action': {
      const d = parsed.data;
      const action = text(d.action) ?? 'action';
      const via = text(d.via);
      const by = `${event.actor.kind} ${event.actor.id}${via ? ` (${via})` : ''}`;
      if (action === 'verify_audit') {
        const ok = d.ok === true;
        return update(
          ok ? 'informational' : 'high',
          ok ? 'success' : 'failure',
          `Audit chain verified by ${by}: ${ok ? 'intact' : 'broken'}`,
          {
            activity: 2,
            fields: {
              entity: auditTrailEntity({
                ok: d.ok,
                checked: d.checked,
                head: d.head,
                firstBroken: d.firstBroken,
              }),
            },
          },
        );
      }
      const reason = text(d.reason);
      return update(
        'low',
        'success',
        `${by} asked to ${action.replace(/_/g, ' ')}${event.elevationId ? ` ${event.elevationId}` : ''}${reason ? `: ${reason}` : ''}`,
        { fields: { entity: elevationEntity(event), comment: reason } },
      );
    }
  }
}

/**
 * `elevation.revoked`: a removal from the target (or, for delivered AWS credentials still
 * valid, the policy denying the session) when the grant was taken away, otherwise an update of
 * the elevation saying why nothing changed in the target.
 */
function revokedEvent(
  event: AuditEvent,
  d: EventDataOf<'elevation.revoked'>,
  update: (severity: Severity, status: Status, message: string, extra?: Partial<Mapping>) => Mapping,
): Mapping {
  const id = event.elevationId ?? 'unknown';
  const reason = text(d.reason);
  const because = reason ? ` (${reason})` : '';
  const { receipt } = d;
  const principal = text(receipt?.principal);
  if (receipt && principal && receipt.removed === true) {
    const { target } = receipt;
    const change = membershipChange(event, target, principal, 'remove', receipt.session);
    if (change) {
      return {
        ...change,
        severity: 'informational',
        status: 'success',
        message:
          target.type === 'aws-iam' && target.mode === 'credentials'
            ? `Denied AWS session ${text(receipt.session?.sessionName) ?? '?'} of ${target.roleArn} until it expires: elevation ${id} ended${because}`
            : `Removed ${principal} from ${describeTarget(target, event.elevationId)}: elevation ${id} ended${because}`,
      };
    }
  }
  const stillHeldBy = receipt?.stillHeldBy ?? [];
  const session = receipt?.session;
  const why =
    receipt && principal && receipt.removed === false && stillHeldBy.length > 0
      ? `; ${principal} stays in ${describeTarget(receipt.target, event.elevationId)} for ${stillHeldBy.join(', ')}`
      : d.granted === false
        ? ' before it was granted'
        : session?.delivered === false
          ? '; its undelivered AWS credentials were destroyed'
          : session?.delivered === true
            ? '; its AWS session was left to expire'
            : '';
  return update('informational', 'success', `Elevation ${id} ended${because}${why}`, {
    fields: { entity: elevationEntity(event), comment: text(d.comment) },
  });
}

/**
 * An event of a type this version does not know (one recorded by a newer Elevate): a Base
 * Event (class 0), activity 99 Other, severity Informational. Its status is Failure when the type
 * ends in `.refused` or `.failed` (how Elevate names refusals and failures), Unknown otherwise.
 * The Base Event has no `actor`, so the message names who did it; the event itself is under
 * `unmapped` like every other, and its elevation in `metadata.correlation_uid`.
 */
function unmappedEvent(event: AuditEvent): Mapping {
  const type = String(event.type);
  const refusedOrFailed = /\.(refused|failed)$/.test(type);
  return {
    cls: CLASSES.base,
    activity: 99,
    severity: 'informational',
    status: refusedOrFailed ? 'failure' : 'unknown',
    message: `Elevate event ${type}${event.elevationId ? ` of elevation ${event.elevationId}` : ''} recorded for ${event.actor.kind} ${event.actor.id}`,
    fields: {},
  };
}

/**
 * An event of a known type whose data is not in the shape its type's schema describes (a
 * damaged row, or one written by other means): an Entity Management update of the elevation,
 * with the actor, severity Informational, status Failure when the type names a refusal or a
 * failure and Unknown otherwise. The event itself is under `unmapped`, as for every event.
 */
function unreadableEvent(event: AuditEvent): Mapping {
  return {
    cls: CLASSES.entityManagement,
    activity: 3,
    severity: 'informational',
    status: /\.(refused|failed)$/.test(event.type) ? 'failure' : 'unknown',
    message: `Elevate event ${event.type}${event.elevationId ? ` of elevation ${event.elevationId}` : ''} recorded for ${event.actor.kind} ${event.actor.id}, with data in a shape this version does not read`,
    fields: { entity: elevationEntity(event) },
  };
}

/** An admin's change to a bot: its Account Change activity, the verb for the message, the severity. */
const BOT_CHANGES: Record<BotChangeEventType, [number, string, Severity]> = {
  'bot.locked': [9, 'locked down', 'medium'],
  'bot.unlocked': [12, 'unlocked', 'low'],
  'bot.disabled': [5, 'disabled', 'low'],
  'bot.enabled': [2, 'enabled', 'informational'],
  'bot.key_rotated': [4, 'rotated the API key of', 'low'],
};

/** What a receipt says about an AWS credentials-mode session. */
interface RecordedSession {
  sessionName: string;
  expiration: string;
  /** On revocation: whether a policy now denies the session (the bot had its credentials). */
  denied?: boolean;
}

/**
 * The class, activity and attributes of a membership change in a target, when a class fits;
 * `session` is the receipt's AWS session, if any.
 */
function membershipChange(
  event: AuditEvent,
  target: TargetRef,
  principal: string,
  change: 'add' | 'remove',
  session?: RecordedSession,
): Pick<Mapping, 'cls' | 'activity' | 'fields'> | undefined {
  const add = change === 'add';
  switch (target.type) {
    case 'ldap':
      return {
        cls: CLASSES.groupManagement,
        activity: add ? 3 : 4,
        fields: {
          group: targetGroup(target),
          user: principalUser(principal, firstRdnValue(principal)),
        },
      };
    case 'postgres':
      return {
        cls: CLASSES.groupManagement,
        activity: add ? 3 : 4,
        fields: {
          group: targetGroup(target),
          user: { ...principalUser(principal, principal), domain: target.server },
        },
      };
    case 'aws-iam':
      if (target.mode === 'attach') {
        return {
          cls: CLASSES.accountChange,
          activity: add ? 7 : 8,
          fields: {
            user: awsUser(principal),
            policies: event.elevationId
              ? [
                  {
                    name: policyName(event.elevationId),
                    desc: `Elevate policy of elevation ${event.elevationId}`,
                  },
                ]
              : undefined,
          },
        };
      }
      return credentialsChange(event, target, principal, change, session);
  }
}

/**
 * AWS credentials mode. Issuing the session assigns the role's privileges to it (Authorize
 * Session). Taking them back is a change only when the bot had the credentials and they were
 * still valid: then a policy denying the session is put on the role (Account Change, Attach
 * Policy); credentials destroyed before delivery, or left to expire, changed nothing in AWS.
 */
function credentialsChange(
  event: AuditEvent,
  target: AwsIamCredentialsTargetRef,
  principal: string,
  change: 'add' | 'remove',
  session: RecordedSession | undefined,
): Pick<Mapping, 'cls' | 'activity' | 'fields'> | undefined {
  const name = text(session?.sessionName) ?? (event.elevationId ? sessionName(event.elevationId) : undefined);
  if (change === 'add') {
    const expires = Date.parse(text(session?.expiration) ?? '');
    return {
      cls: CLASSES.authorizeSession,
      activity: 1,
      fields: {
        user: awsUser(principal),
        privileges: [target.roleArn],
        session: name
          ? compact({ uid: name, expiration_time: Number.isFinite(expires) ? expires : undefined })
          : undefined,
      },
    };
  }
  if (session?.denied !== true) return undefined;
  return {
    cls: CLASSES.accountChange,
    activity: 7,
    fields: {
      user: awsUser(target.roleArn),
      // A policy needs a name or uid; without the elevation id there is none to give.
      policies: event.elevationId
        ? [
            {
              name: denyPolicyName(event.elevationId),
              desc: `Denies AWS session ${name ?? '?'} until it expires`,
            },
          ]
        : undefined,
    },
  };
}
