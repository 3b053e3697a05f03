/**
 * The audit trail for admins, and the one place refusals and admin actions are recorded: the
 * elevation lists, one elevation's timeline, exports, evidence packs, verification of the hash
 * chain; every refused attempt (before authentication bounded and aggregated, see
 * `refusal-aggregator.ts`) and every admin action that is not an elevation's own event.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  AuditEvent,
  ChainAnchor,
  TypedAuditAppender,
  VerifyResult,
} from '../../core/model/audit-record.js';
import type { Actor, ElevationView } from '../../core/model/elevation.js';
import type { BotChangeEventType, EventDataOf, RefusalEventType } from '../../core/model/event-data.js';
import { exportAudit, InvalidExportError, type ExportOptions } from '../../integrations/audit/export.js';
import {
  buildEvidenceBody,
  evidenceDigest,
  exportEventData,
  type EvidencePack,
  type EvidenceVia,
} from '../../integrations/audit/evidence-pack.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { ElevationIndex, ElevationPage, ElevationQuery } from '../../store/elevation-index.js';
import { InvalidCursorError, InvalidQueryError } from '../../store/errors.js';
import { ApiError, unavailable, type RefusalReceipt } from '../errors.js';
import type { LeastPrivilegeReporter } from '../bots/least-privilege.js';
import type { ElevationReader } from '../elevations/elevation-reader.js';
import { RefusalAggregator, boundRefusalData, type RefusalAggregatorOptions } from './refusal-aggregator.js';

/** What admins do that is recorded apart from any elevation's own events. */
export type AdminEventType = BotChangeEventType | 'audit.exported' | 'admin.signed_in' | 'admin.action';

export interface AuditServiceDeps {
  /** The audit log; what the service appends is checked against each event's type. */
  auditLog: Pick<AuditLog, 'listEvents' | 'verify' | 'readEvents'> & TypedAuditAppender;
  elevations: Pick<ElevationIndex, 'listElevations'>;
  reader: Pick<ElevationReader, 'get'>;
  /** The least-privilege report: each evidence pack carries its bot's (without it, no section). */
  leastPrivilege?: Pick<LeastPrivilegeReporter, 'report'>;
  logger: Pick<Logger, 'error'>;
  clock?: () => Date;
  /**
   * How refusals before authentication (anonymous actor, no elevation) are aggregated: window
   * length, keys per window, whether a timer writes summaries (see {@link RefusalAggregator}).
   */
  refusalAggregation?: Pick<RefusalAggregatorOptions, 'windowMs' | 'maxKeys' | 'timer'>;
  /** Told of every refusal before authentication, recorded or only counted (the metrics counter). */
  onPreAuthRefusal?: (reason: string) => void;
}

/** Who a refusal before authentication is recorded as (and its summaries). */
const ANONYMOUS_ACTOR: Actor = { kind: 'anonymous', id: 'unknown' };

export class AuditService {
  private readonly clock: () => Date;
  /** Refusals before authentication: recorded once per key and window, the rest counted. */
  private readonly preAuthRefusals: RefusalAggregator;

  constructor(private readonly deps: AuditServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.preAuthRefusals = new RefusalAggregator({
      ...deps.refusalAggregation,
      clock: this.clock,
      summarize: ({ of, ...data }) =>
        this.appendRefusal('refusals.summarized', null, ANONYMOUS_ACTOR, { of, ...data }),
    });
  }

  // ---- reading the trail --------------------------------------------------------------------

  /** A page of elevation summaries; a bad cursor or filter is `invalid_request` naming it. */
  async list(query: ElevationQuery): Promise<ElevationPage> {
    try {
      return await this.deps.elevations.listElevations(query);
    } catch (err) {
      if (err instanceof InvalidCursorError || err instanceof InvalidQueryError) {
        throw new ApiError('invalid_request', `${err.field}: ${err.message}`, err.field);
      }
      throw unavailable(this.deps.logger, err, 'read the audit store');
    }
  }

  /** One elevation and every event it has recorded, for an admin. */
  async timeline(id: string): Promise<{ elevation: ElevationView; events: AuditEvent[] }> {
    const elevation = await this.deps.reader.get(id, { kind: 'admin' });
    const events = await this.deps.auditLog.listEvents(id).catch((err: unknown) => {
      throw unavailable(this.deps.logger, err, 'read the audit store');
    });
    return { elevation, events };
  }

  /**
   * The audit trail as a stream of text chunks in `opts.format`, for an admin. Bad options fail
   * before the first chunk (400); the export itself is recorded as `audit.exported` first, so
   * even an export that fails half-way is on record.
   */
  async exportAudit(opts: ExportOptions, by: Actor): Promise<AsyncGenerator<string>> {
    let chunks: AsyncGenerator<string>;
    try {
      chunks = exportAudit(this.deps.auditLog, opts);
    } catch (err) {
      if (err instanceof InvalidExportError) throw new ApiError('invalid_request', err.message, err.field);
      throw err;
    }
    await this.recordAdminAction(
      'audit.exported',
      null,
      by,
      { format: opts.format, since: opts.since ?? null, until: opts.until ?? null },
      'record the export',
    );
    return chunks;
  }

  /**
   * The evidence pack of one elevation, for an admin (see `integrations/audit/evidence-pack.ts`):
   * the elevation, its events with their chain fields, the whole chain verified now, and the
   * pack's digest, recorded as an `audit.exported` event of the elevation (format `evidence`)
   * before the pack is handed out.
   */
  async evidencePack(id: string, by: Actor, via: EvidenceVia): Promise<EvidencePack> {
    const { elevation, events } = await this.timeline(id);
    const verify = await this.verifyAudit();
    const exportedAt = this.clock().toISOString();
    const leastPrivilege = await this.leastPrivilegeOf(elevation.botId);
    const body = buildEvidenceBody({
      elevation,
      events,
      verify,
      exportedAt,
      exportedBy: by,
      via,
      ...(leastPrivilege !== undefined ? { leastPrivilege } : {}),
    });
    const digest = evidenceDigest(body);
    const exportEvent = await this.recordAdminAction(
      'audit.exported',
      id,
      by,
      exportEventData(body, digest),
      'record the export',
      exportedAt,
    );
    return { ...body, digest, exportEvent };
  }

  /**
   * The evidence pack's least-privilege section: the bot's report, null when the policy no longer
   * lists the bot, undefined when this service was built without a reporter.
   */
  private async leastPrivilegeOf(botId: string) {
    if (!this.deps.leastPrivilege) return undefined;
    try {
      return await this.deps.leastPrivilege.report({ botId });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not_found') return null;
      throw err;
    }
  }

  /** Verify the audit chain, also against anchors an admin recorded from earlier runs. */
  verifyAudit(anchors: ChainAnchor[] = []): Promise<VerifyResult> {
    return this.deps.auditLog.verify({ anchors }).catch((err: unknown) => {
      throw unavailable(this.deps.logger, err, 'read the audit store');
    });
  }

  // ---- recording ----------------------------------------------------------------------------

  /**
   * Record an attempt that was refused (bad credentials, bad input, a refused update, a locked
   * bot). Never throws: failing to audit a refusal must not turn the caller's 4xx into a 500,
   * but it is logged loudly. The receipt it returns is what an `AuditedRefusal` is made
   * from, so the refusal is not recorded a second time where it is answered.
   */
  async recordRefusal<T extends RefusalEventType>(
    type: T,
    elevationId: string | null,
    actor: Actor,
    data: EventDataOf<T>,
  ): Promise<RefusalReceipt> {
    // The one place a receipt is made: the brand exists only in the type.
    const receipt = { type } as RefusalReceipt;
    // Before authentication anyone can be refused any number of times with data of their
    // choosing: bounded, and recorded once per key and window, the rest only counted.
    if (actor.kind === 'anonymous' && elevationId === null) {
      const bounded = boundRefusalData(data);
      const reason = bounded.reason ?? bounded.code;
      this.deps.onPreAuthRefusal?.(typeof reason === 'string' ? reason : 'other');
      if (!this.preAuthRefusals.admit(type, bounded)) return receipt;
      // Still a refusal of its type: bounding cuts strings and lists, drops fields and nested
      // values, and refusal fields are optional strings or shallow objects.
      data = bounded as EventDataOf<T>;
    }
    await this.appendRefusal(type, elevationId, actor, data);
    return receipt;
  }

  /** Write the summaries of refusals counted but not yet summarised (on shutdown). */
  flushRefusals(): Promise<void> {
    return this.preAuthRefusals.flush();
  }

  /**
   * Record what an admin did (a change to a bot, an export, a console sign-in or action). Unlike
   * a refusal, an action that cannot be recorded is answered with 503 (`failure` says what could
   * not be done), so nothing an admin does goes unrecorded silently.
   */
  recordAdminAction<T extends AdminEventType>(
    type: T,
    elevationId: string | null,
    by: Actor,
    data: EventDataOf<T>,
    failure = 'record the change (it was made: repeat it to record it)',
    at = this.clock().toISOString(),
  ): Promise<AuditEvent> {
    return this.deps.auditLog
      .append({ id: randomUUID(), elevationId, type, at, actor: by, data })
      .catch((err: unknown) => {
        throw unavailable(this.deps.logger, err, failure);
      });
  }

  private async appendRefusal<T extends RefusalEventType | 'refusals.summarized'>(
    type: T,
    elevationId: string | null,
    actor: Actor,
    data: EventDataOf<T>,
  ): Promise<void> {
    try {
      await this.deps.auditLog.append({
        id: randomUUID(),
        elevationId,
        type,
        at: this.clock().toISOString(),
        actor,
        data,
      });
    } catch (err) {
      this.deps.logger.error(
        { err: (err as Error).message, type, elevationId },
        'could not record a refused attempt',
      );
    }
  }
}
