/**
 * Background load for the fault runs: a few bots that each keep one short elevation in flight,
 * one after another, so that every fault also lands on elevations other than the one aimed at.
 */
import { randomUUID } from 'node:crypto';
import { FINAL_STATUSES, type ElevationView } from '../../core/model/elevation.js';
import { sleep } from './fault-settings.js';

export interface LoadOptions {
  bots: string[];
  roles: string[];
  /** Window lengths, in seconds, drawn between these. */
  durationSeconds: [number, number];
  /** The bot's request (retried by the caller across outages). */
  request: (
    botId: string,
    body: { role: string; durationSeconds: number; requestId: string },
  ) => Promise<ElevationView>;
  /** The elevation as stored, if it is. */
  stored: (id: string) => Promise<ElevationView | undefined>;
  random: () => number;
}

export class BackgroundLoad {
  /** Every elevation the load started, with when its request was accepted. */
  readonly started: { id: string; at: number }[] = [];
  failedRequests = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: LoadOptions) {}

  start(): void {
    this.running = true;
    this.loops = this.opts.bots.map((bot) => this.loop(bot));
  }

  /** Stops starting new elevations (those in flight go on). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(bot: string): Promise<void> {
    const {
      roles,
      durationSeconds: [min, max],
      random,
    } = this.opts;
    while (this.running) {
      const body = {
        role: roles[Math.floor(random() * roles.length)]!,
        durationSeconds: min + Math.floor(random() * (max - min + 1)),
        requestId: randomUUID(),
      };
      let view: ElevationView;
      try {
        view = await this.opts.request(bot, body);
      } catch {
        this.failedRequests += 1;
        await sleep(500);
        continue;
      }
      this.started.push({ id: view.id, at: Date.now() });
      // One at a time per bot: wait for the end (or give up waiting; the end check counts it).
      const deadline = Date.now() + (body.durationSeconds + 90) * 1000;
      while (this.running && Date.now() < deadline) {
        const v = await this.opts.stored(view.id).catch(() => undefined);
        if (v && FINAL_STATUSES.includes(v.status)) break;
        await sleep(500);
      }
      await sleep(random() * 1000);
    }
  }
}
