/**
 * Reading one elevation: its summary in the store, or, before the workflow's first event is
 * stored, the running workflow's `status` Query. Every capability that names an elevation by id
 * reads it here.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { workflowIdFor, type ElevationView } from '../../core/model/elevation.js';
import type { ElevationIndex } from '../../store/elevation-index.js';
import { statusQuery } from '../../workflows/definitions.js';
import { ApiError, unavailable } from '../errors.js';
import type { Scope } from '../scope.js';

export interface ElevationReaderDeps {
  elevations: Pick<ElevationIndex, 'getElevation'>;
  temporal: Pick<Client, 'workflow'>;
  logger: Pick<Logger, 'error'>;
}

export class ElevationReader {
  constructor(private readonly deps: ElevationReaderDeps) {}

  /** The elevation's workflow handle. */
  handle(id: string) {
    return this.deps.temporal.workflow.getHandle(workflowIdFor(id));
  }

  /** The elevation's summary in the store (503 when the store cannot be read). */
  stored(id: string): Promise<ElevationView | undefined> {
    return this.deps.elevations.getElevation(id).catch((err: unknown) => {
      throw unavailable(this.deps.logger, err, 'read the audit store');
    });
  }

  /**
   * The store's summary, or the live workflow's state before its first event is stored
   * (a workflow that was started but has not recorded anything yet is found this way).
   */
  async find(id: string): Promise<ElevationView | undefined> {
    const stored = await this.stored(id);
    if (stored) return stored;
    try {
      return await this.handle(id).query(statusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw unavailable(this.deps.logger, err, 'read the elevation');
    }
  }

  /** One elevation, if the scope may see it; otherwise `not_found` (existence is not leaked). */
  async get(id: string, scope: Scope): Promise<ElevationView> {
    const view = await this.find(id);
    if (!view || (scope.kind === 'bot' && view.botId !== scope.botId)) {
      throw new ApiError('not_found', `elevation ${id} not found`, 'id');
    }
    return view;
  }
}
