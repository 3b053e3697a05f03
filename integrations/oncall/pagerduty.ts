/**
 * Who is on call in a PagerDuty schedule: `GET /oncalls` of PagerDuty's REST API v2, for one
 * schedule and the instant asked (`since` = `until`), with the users included so their e-mail
 * addresses come back in the same answer. Read-only: the API key needs no write access.
 */
import { z } from 'zod';
import { OnCallUnavailableError } from '../../core/ports/oncall-directory.js';

export const PAGERDUTY_API_URL = 'https://api.pagerduty.com';

export interface PagerDutyOptions {
  /** A REST API key (read-only is enough). */
  token: string;
  /** Default {@link PAGERDUTY_API_URL}; a stand-in in tests. */
  apiUrl?: string;
  /** How long one lookup may take. */
  timeoutMs?: number;
}

const OnCallsSchema = z.object({
  oncalls: z.array(
    z.object({ user: z.object({ email: z.string().optional() }).passthrough() }).passthrough(),
  ),
});

export class PagerDutyOnCall {
  private readonly apiUrl: string;

  constructor(private readonly options: PagerDutyOptions) {
    this.apiUrl = (options.apiUrl ?? PAGERDUTY_API_URL).replace(/\/+$/, '');
  }

  /** The e-mail addresses on call in schedule `scheduleId` at `at`, lower case, each once. */
  async onCall(scheduleId: string, at: Date): Promise<string[]> {
    const url = new URL(`${this.apiUrl}/oncalls`);
    url.searchParams.append('schedule_ids[]', scheduleId);
    url.searchParams.append('include[]', 'users');
    url.searchParams.set('since', at.toISOString());
    url.searchParams.set('until', at.toISOString());
    let res: Response;
    try {
      res = await fetch(url, {
        headers: {
          accept: 'application/vnd.pagerduty+json;version=2',
          authorization: `Token token=${this.options.token}`,
        },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
    } catch (err) {
      throw new OnCallUnavailableError(`PagerDuty cannot be reached: ${(err as Error).message}`);
    }
    if (!res.ok) {
      throw new OnCallUnavailableError(`PagerDuty answered ${res.status} for schedule ${scheduleId}`);
    }
    const parsed = OnCallsSchema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new OnCallUnavailableError('PagerDuty answered with an unexpected body');
    const emails = parsed.data.oncalls.flatMap((o) => (o.user.email ? [o.user.email.toLowerCase()] : []));
    return [...new Set(emails)];
  }
}
