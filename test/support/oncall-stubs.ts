/**
 * Local stand-ins for the on-call providers' APIs (no network): PagerDuty's `GET /oncalls` and
 * Opsgenie's `GET /v2/schedules/{id}/on-calls`, answering as the real ones do for the schedules
 * given, and recording each request.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OnCallStub {
  url: string;
  /** Every request: path with query, and the authorization header. */
  requests: { url: URL; authorization: string | undefined }[];
  /** Answer every request with this HTTP status from now on (an outage), or normally again. */
  fail(status: number | false): void;
  stop(): Promise<void>;
}

async function serve(
  handle: (req: IncomingMessage, url: URL) => { status: number; body: unknown },
): Promise<OnCallStub> {
  const requests: OnCallStub['requests'] = [];
  let failing: number | false = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    requests.push({ url, authorization: req.headers.authorization });
    const { status, body } = failing ? { status: failing, body: { error: 'unavailable' } } : handle(req, url);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fail: (status) => {
      failing = status;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** PagerDuty: `schedules` maps a schedule id to the e-mail addresses on call; `token` is required. */
export function startPagerDutyStub(token: string, schedules: Record<string, string[]>): Promise<OnCallStub> {
  return serve((req, url) => {
    if (req.headers.authorization !== `Token token=${token}`) {
      return { status: 401, body: { error: { message: 'Unauthorized', code: 2006 } } };
    }
    if (url.pathname !== '/oncalls') return { status: 404, body: { error: { message: 'Not Found' } } };
    const ids = url.searchParams.getAll('schedule_ids[]');
    const withUsers = url.searchParams.getAll('include[]').includes('users');
    const oncalls = ids.flatMap((id) =>
      (schedules[id] ?? []).map((email, i) => ({
        escalation_level: 1,
        start: url.searchParams.get('since'),
        end: url.searchParams.get('until'),
        schedule: { id, type: 'schedule_reference' },
        user: withUsers
          ? { id: `PU${i}`, type: 'user', summary: email, email }
          : { id: `PU${i}`, type: 'user_reference', summary: email },
      })),
    );
    return { status: 200, body: { oncalls, limit: 25, offset: 0, more: false, total: null } };
  });
}

/** Opsgenie: `schedules` maps a schedule id to the e-mail addresses on call; `apiKey` is required. */
export function startOpsgenieStub(apiKey: string, schedules: Record<string, string[]>): Promise<OnCallStub> {
  return serve((req, url) => {
    if (req.headers.authorization !== `GenieKey ${apiKey}`) {
      return { status: 401, body: { message: 'Could not authenticate' } };
    }
    const match = /^\/v2\/schedules\/([^/]+)\/on-calls$/.exec(url.pathname);
    const id = match ? decodeURIComponent(match[1]!) : undefined;
    if (!id || !(id in schedules)) return { status: 404, body: { message: 'Schedule not found' } };
    return {
      status: 200,
      body: { data: { _parent: { id, enabled: true }, onCallRecipients: schedules[id] }, took: 0.1 },
    };
  });
}
