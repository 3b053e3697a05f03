/**
 * Starts owner attestations: for each bot of the policy that is due (`core/rules/attestation.ts`),
 * an `attestationWorkflow` with the id `attestation-<botId>-<day>`, under an id policy that
 * refuses a duplicate, so a re-run of the daily sweep (or two workers running it) starts each
 * one once. Called by the sweep's activity; tests call {@link AttestationStarter.start} directly
 * with a short deadline.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { BotPolicy, Policy } from '../../config/policy.js';
import type { AttestationInput, AttestationSettings } from '../../core/model/attestation.js';
import { attestationDeadline, attestationDue, attestationIdFor } from '../../core/rules/attestation.js';
import type { BotStates } from '../../store/bot-state.js';
import type { attestationWorkflow } from '../../workflows/attestation-workflow.js';

export interface AttestationStarterDeps {
  policy: Pick<Policy, 'bots' | 'detection'>;
  botStates: Pick<BotStates, 'listBotStates' | 'getBotState'>;
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  /** The page an owner opens to review a bot's roles. */
  reviewUrl: (attestationId: string) => string;
  logger: Pick<Logger, 'info' | 'warn'>;
  clock?: () => Date;
}

export class AttestationStarter {
  private readonly clock: () => Date;

  constructor(private readonly deps: AttestationStarterDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** The policy's attestation settings; undefined when attestation is off. */
  get settings(): AttestationSettings | undefined {
    return this.deps.policy.detection?.attestation;
  }

  /** Start an attestation for every bot that is due now; returns the ids started. */
  async startDue(): Promise<{ started: string[]; due: number }> {
    const settings = this.settings;
    if (!settings) return { started: [], due: 0 };
    const now = this.clock();
    const states = new Map((await this.deps.botStates.listBotStates()).map((s) => [s.botId, s]));
    const due = this.deps.policy.bots.filter(
      (b) => b.roles.length > 0 && attestationDue(states.get(b.id)?.attestation, settings, now),
    );
    const started: string[] = [];
    for (const bot of due) {
      const id = await this.start(bot, { now, deadline: attestationDeadline(now, settings) });
      if (id) started.push(id);
    }
    if (due.length > 0) this.deps.logger.info({ due: due.length, started }, 'owner attestations started');
    return { started, due: due.length };
  }

  /**
   * Start the attestation of `bot` (asked on `now`'s day, answered by `deadline`); undefined
   * when the one of that day already exists.
   */
  async start(bot: BotPolicy, opts: { now?: Date; deadline: Date }): Promise<string | undefined> {
    const now = opts.now ?? this.clock();
    const state = await this.deps.botStates.getBotState(bot.id);
    const attestationId = attestationIdFor(bot.id, now);
    const trimmed = (state?.attestation?.trimmedRoles ?? []).filter((r) => bot.roles.includes(r));
    const input: AttestationInput = {
      attestationId,
      botId: bot.id,
      owner: bot.owner,
      roles: [...bot.roles],
      trimmed,
      requestedAt: now.toISOString(),
      deadline: opts.deadline.toISOString(),
      reviewUrl: this.deps.reviewUrl(attestationId),
    };
    try {
      await this.deps.temporal.workflow.start<typeof attestationWorkflow>('attestationWorkflow', {
        workflowId: attestationId,
        taskQueue: this.deps.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return attestationId;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      throw err;
    }
  }
}
