/**
 * Who is on call in an Opsgenie schedule: `GET /v2/schedules/{id}/on-calls?flat=true` at the
 * instant asked, whose `onCallRecipients` are the users' e-mail addresses (their usernames).
 */
import { z } from 'zod';
import { OnCallUnavailableError } from '../../core/ports/oncall-directory.js';

export const OPSGENIE_API_URL = 'https://api.opsgenie.com';

export interface OpsgenieOptions {
  /** An API key of an integration with read access (`GenieKey`). */
  apiKey: string;
  /** Default {@link OPSGENIE_API_URL} (`https://api.eu.opsgenie.com` in the EU); a stand-in in tests. */
  apiUrl?: string;
  timeoutMs?: number;
}

const OnCallsSchema = z.object({ data: z.object({ onCallRecipients: z.array(z.string()).default([]) }) });

export class OpsgenieOnCall {
  private readonly apiUrl: string;

  constructor(private readonly options: OpsgenieOptions) {
    this.apiUrl = (options.apiUrl ?? OPSGENIE_API_URL).replace(/\/+$/, '');
  }

  /** The e-mail addresses on call in schedule `scheduleId` at `at`, lower case, each once. */
  async onCall(scheduleId: string, at: Date): Promise<string[]> {
    const url = new URL(`${this.apiUrl}/v2/schedules/${encodeURIComponent(scheduleId)}/on-calls`);
    url.searchParams.set('scheduleIdentifierType', 'id');
    url.searchParams.set('flat', 'true');
    url.searchParams.set('date', at.toISOString());
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: `GenieKey ${this.options.apiKey}` },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
    } catch (err) {
      throw new OnCallUnavailableError(`Opsgenie cannot be reached: ${(err as Error).message}`);
    }
    if (!res.ok) {
      throw new OnCallUnavailableError(`Opsgenie answered ${res.status} for schedule ${scheduleId}`);
    }
    const parsed = OnCallsSchema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new OnCallUnavailableError('Opsgenie answered with an unexpected body');
    return [...new Set(parsed.data.data.onCallRecipients.map((e) => e.toLowerCase()))];
  }
}
