/**
 * The OCSF 1.5.0 vocabulary the `ocsf` export maps Elevate's events to (see `ocsf.ts`): the
 * classes it uses with their activities, severities and statuses, and the OCSF objects built
 * from Elevate's values (the elevation as a managed entity, users, groups, targets, endpoints).
 */
import { isIP } from 'node:net';
import type { Actor } from '../../core/model/elevation.js';
import type { LdapTargetRef, PostgresTargetRef, TargetRef } from '../../core/model/targets.js';
import { policyName } from '../../core/crypto/aws-names.js';
import type { AuditEvent } from '../../core/model/audit-record.js';

/** An OCSF event class the export produces, with the activities of it that the export uses. */
export interface OcsfClass {
  uid: number;
  name: string;
  categoryUid: number;
  categoryName: string;
  /** The activities of the class that the export uses, by id. */
  activities: Record<number, string>;
  /** Whether the class defines `actor` without a profile (the IAM classes do). */
  actor: boolean;
}

const IAM = 'Identity & Access Management';
/** Every OCSF class the export produces. */
export const CLASSES = {
  base: {
    uid: 0,
    name: 'Base Event',
    categoryUid: 0,
    categoryName: 'Uncategorized',
    activities: { 99: 'Other' },
    actor: false,
  },
  detectionFinding: {
    uid: 2004,
    name: 'Detection Finding',
    categoryUid: 2,
    categoryName: 'Findings',
    activities: { 1: 'Create' },
    actor: false,
  },
  accountChange: {
    uid: 3001,
    name: 'Account Change',
    categoryUid: 3,
    categoryName: IAM,
    activities: {
      2: 'Enable',
      4: 'Password Reset',
      5: 'Disable',
      7: 'Attach Policy',
      8: 'Detach Policy',
      9: 'Lock',
      12: 'Unlock',
    },
    actor: true,
  },
  authentication: {
    uid: 3002,
    name: 'Authentication',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 1: 'Logon' },
    actor: true,
  },
  authorizeSession: {
    uid: 3003,
    name: 'Authorize Session',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 1: 'Assign Privileges' },
    actor: true,
  },
  entityManagement: {
    uid: 3004,
    name: 'Entity Management',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 1: 'Create', 2: 'Read', 3: 'Update' },
    actor: true,
  },
  groupManagement: {
    uid: 3006,
    name: 'Group Management',
    categoryUid: 3,
    categoryName: IAM,
    activities: { 3: 'Add User', 4: 'Remove User' },
    actor: true,
  },
} satisfies Record<string, OcsfClass>;

/**
 * The `class_uid` of every OCSF class `toOcsf` can produce. `scripts/compile-ocsf-schema.ts`
 * compiles these classes into the schema the tests validate the export against.
 */
export const OCSF_CLASS_UIDS: readonly number[] = Object.values(CLASSES).map((c) => c.uid);

/** `severity_id` and `severity`. */
export const SEVERITY = {
  informational: [1, 'Informational'],
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
} as const;
/** A severity by name. */
export type Severity = keyof typeof SEVERITY;

/** `status_id` and `status`; findings use their own scale, where a new finding is `New`. */
export const STATUS = {
  unknown: [0, 'Unknown'],
  success: [1, 'Success'],
  failure: [2, 'Failure'],
  new: [1, 'New'],
} as const;
/** A status by name. */
export type Status = keyof typeof STATUS;

/** What one Elevate event becomes, before the attributes every OCSF event shares are added. */
export interface Mapping {
  cls: OcsfClass;
  activity: number;
  severity: Severity;
  status: Status;
  message: string;
  /** The source's own code for the outcome (a refusal code). */
  statusCode?: string;
  /** Why it turned out as it did, in words. */
  statusDetail?: string;
  /** The class's own attributes. */
  fields: Record<string, unknown>;
}

/** The target in words, for messages. */
export function describeTarget(target: TargetRef, elevationId: string | null): string {
  switch (target.type) {
    case 'ldap':
      return `LDAP group ${target.groupDn}`;
    case 'postgres':
      return `PostgreSQL role ${target.role} on ${target.server}`;
    case 'aws-iam':
      return target.mode === 'attach'
        ? `AWS IAM policy ${elevationId ? policyName(elevationId) : '(elevation policy)'}`
        : `temporary AWS credentials for ${target.roleArn}`;
  }
}

/** An LDAP group or PostgreSQL role as OCSF names it: a Group Management `group`, a finding's resource. */
export function targetGroup(target: LdapTargetRef | PostgresTargetRef): Record<string, unknown> {
  return target.type === 'ldap'
    ? { uid: target.groupDn, name: firstRdnValue(target.groupDn), type: 'LDAP group' }
    : { uid: `${target.server}/${target.role}`, name: target.role, type: 'PostgreSQL role' };
}

/** A Detection Finding's affected resource: the role's target. */
export function targetResource(target: TargetRef, role: string): Record<string, unknown> {
  switch (target.type) {
    case 'ldap':
    case 'postgres':
      return { ...targetGroup(target), data: { role } };
    case 'aws-iam':
      return target.mode === 'attach'
        ? { name: role, type: 'AWS IAM policy', data: { role } }
        : { uid: target.roleArn, name: role, type: 'AWS IAM role', data: { role } };
  }
}

/** The elevation as OCSF's managed entity (`type_id` 99: Other, a type of Elevate's own). */
export function elevationEntity(event: AuditEvent, data?: Record<string, unknown>): Record<string, unknown> {
  return compact({
    uid: event.elevationId ?? undefined,
    name: event.elevationId ?? 'elevation',
    type: 'Elevation',
    type_id: 99,
    data: data ? compact(data) : undefined,
  });
}

/** The audit trail itself as a managed entity (an export, a verification), with `data` about it. */
export function auditTrailEntity(data: Record<string, unknown>): Record<string, unknown> {
  return { name: 'audit trail', type: 'Audit trail', type_id: 99, data: compact(data) };
}

/** The temporary credentials of an elevation's AWS session, as a managed entity. */
export function credentialsEntity(
  event: AuditEvent,
  session: string | undefined,
  expiration: string | undefined,
): Record<string, unknown> {
  return compact({
    uid: session,
    name: session ?? `credentials of ${event.elevationId ?? 'an unknown elevation'}`,
    type: 'AWS session credentials',
    type_id: 99,
    data: compact({ elevationId: event.elevationId ?? undefined, expiration }),
  });
}

/**
 * The caller's address as an OCSF network endpoint, when recorded and an IP address as OCSF's
 * `ip_t` has it (at most 40 characters); anything else stays only under `unmapped`.
 */
export function endpoint(ip: string | null | undefined): Record<string, unknown> | undefined {
  return typeof ip === 'string' && isIP(ip) !== 0 && ip.length <= 40 ? { ip } : undefined;
}

/** OCSF 1.5.0's pattern of an e-mail address (`email_t`), so `email_addr` holds only what it allows. */
const OCSF_EMAIL = /^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;

/** OCSF `user.type_id`: 0 Unknown, 1 User, 2 Admin, 3 System, 99 Other. */
export function actorUser(actor: Actor): Record<string, unknown> {
  switch (actor.kind) {
    case 'human':
      return compact({
        name: actor.id,
        uid: actor.id,
        email_addr: OCSF_EMAIL.test(actor.id) ? actor.id : undefined,
        type: 'User',
        type_id: 1,
      });
    case 'admin':
      return { name: actor.id, uid: actor.id, type: 'Admin', type_id: 2 };
    case 'system':
      return { name: actor.id, uid: actor.id, type: 'System', type_id: 3 };
    case 'bot':
      return { name: actor.id, uid: actor.id, type: 'Bot', type_id: 99 };
    default:
      return { name: actor.id, type: 'Unknown', type_id: 0 };
  }
}

/** An actor as OCSF's `actor`: the user, and the app when it is Elevate itself. */
export function actorOf(actor: Actor): Record<string, unknown> {
  return actor.kind === 'system'
    ? { app_name: 'Elevate', user: actorUser(actor) }
    : { user: actorUser(actor) };
}

/** A bot as the user a target grants to: its identity there. */
export function principalUser(principal: string, name: string): Record<string, unknown> {
  return { uid: principal, name, type: 'Bot', type_id: 99 };
}

/** An IAM role or user ARN as an OCSF user (name: the part after the last `/`). */
export function awsUser(arn: string): Record<string, unknown> {
  const kind = /:role\//.test(arn) ? 'AWS IAM Role' : /:user\//.test(arn) ? 'AWS IAM User' : 'AWS principal';
  return { uid: arn, name: arn.slice(arn.lastIndexOf('/') + 1) || arn, type: kind, type_id: 99 };
}

/** A request's method, route and user agent as OCSF's `http_request`, when any is known. */
export function httpRequest(
  method: string | undefined,
  path: string | undefined,
  userAgent?: string,
): Record<string, unknown> | undefined {
  if (!method && !path && !userAgent) return undefined;
  return compact({ http_method: method, url: path ? { path } : undefined, user_agent: userAgent });
}

/** The value of a DN's first RDN (`ops` of `cn=ops,ou=groups,...`), for display; the DN otherwise. */
export function firstRdnValue(dn: string): string {
  let end = dn.length;
  for (let i = 0; i < dn.length; i += 1) {
    if (dn[i] === '\\') i += 1;
    else if (dn[i] === ',' || dn[i] === '+') {
      end = i;
      break;
    }
  }
  const rdn = dn.slice(0, end);
  const eq = rdn.indexOf('=');
  const value = eq >= 0 ? rdn.slice(eq + 1).trim() : '';
  return value || dn;
}

/** Whether a drift's target is a role's target, not the placeholder of drift on an AWS principal. */
export function isTargetRef(
  target: TargetRef | { type: 'aws-iam'; mode: 'attach'; policyDocument?: undefined },
): target is TargetRef {
  return !(target.type === 'aws-iam' && target.mode === 'attach' && target.policyDocument === undefined);
}

/** `type: message` of a recorded error summary. */
export function errorText(error: { type: string; message: string }): string | undefined {
  const type = text(error.type);
  const message = text(error.message);
  return type && message ? `${type}: ${message}` : (message ?? type);
}

/** A recorded string for display: absent when empty. */
export function text(value: string | null | undefined): string | undefined {
  return value || undefined;
}

/** The object without its undefined attributes, so absent means absent in code as in JSON. */
export function compact(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/** A Detection Finding (Create, finding status New) with its title, type and severity. */
export function finding(
  event: AuditEvent,
  [title, type, severity]: readonly [string, string, Severity],
  message: string,
  fields: Record<string, unknown> = {},
): Mapping {
  return {
    cls: CLASSES.detectionFinding,
    activity: 1,
    severity,
    status: 'new',
    message,
    fields: {
      finding_info: {
        uid: event.id,
        title,
        desc: message,
        types: [type],
        created_time: Date.parse(event.at) || 0,
      },
      ...fields,
      is_alert: true,
    },
  };
}
