/**
 * The benchmark's approval path: `count` elevations of a role with approvers, one after another,
 * each approved as a person would — the Approve click in Slack (signed as Slack signs it, against
 * the Web API stand-in), then a login with password and TOTP at the development identity provider
 * and the confirmation page. For each:
 *
 * - approval → active: the grant receipt's `verifiedAt` (membership confirmed by read-back) minus
 *   the moment the approver's confirmation was sent;
 * - Slack acknowledgement: how long the server took to answer the signed click (Slack's deadline
 *   is 3 s).
 */
import type { BotPolicy } from '../config/policy.js';
import type { GrantReceipt } from '../core/model/elevation.js';
import { createBrowser } from '../dev/browser.js';
import type { DevAccount } from '../dev/dev-identity-provider.js';
import type { SlackStub } from '../dev/slack-api-stub.js';
import { blockActionPayload, interactionBody, signSlackRequest } from '../dev/slack-signing.js';
import { APPROVE_ACTION } from '../integrations/slack/messages.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';

export interface ApprovalOptions {
  count: number;
  services: Pick<ApiAndWorkerProcess, 'services' | 'stores'>;
  /** The bot that asks, and its role with approvers. */
  bot: BotPolicy;
  role: string;
  slack: SlackStub;
  signingSecret: string;
  /** The API's public URL (Slack's interactions and the approval pages). */
  publicUrl: string;
  /** The approver's account at the identity provider, Slack user `UAPPROVER`. */
  approver: DevAccount;
}

/** Both timings, each sorted, in milliseconds. */
export async function measureApprovals(
  o: ApprovalOptions,
): Promise<{ toActiveAfterApproval: number[]; acks: number[] }> {
  const { count: M, services, bot, role, slack, signingSecret, publicUrl, approver } = o;
  const toActiveAfterApproval: number[] = [];
  const acks: number[] = [];
  for (let i = 0; i < M; i += 1) {
    const { elevation } = await services.services.requests.request(bot, {
      role,
      durationSeconds: 1,
      justification: 'benchmark approval',
    });
    await slack.waitFor(
      (calls) =>
        calls.some((c) => c.method === 'chat.postMessage' && JSON.stringify(c.args).includes(elevation.id)),
      30_000,
    );
    const triggerId = `bench-${i}`;
    const body = interactionBody(
      blockActionPayload({
        userId: 'UAPPROVER',
        teamId: 'TBENCH',
        actionId: APPROVE_ACTION,
        value: elevation.id,
        triggerId,
      }),
    );
    const clicked = performance.now();
    const ack = await fetch(`${publicUrl}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...signSlackRequest(signingSecret, body),
      },
      body,
    });
    acks.push(performance.now() - clicked);
    if (ack.status !== 200) throw new Error(`Slack interaction: HTTP ${ack.status}`);
    await slack.waitFor(
      (calls) => calls.some((c) => c.method === 'views.open' && c.args.trigger_id === triggerId),
      10_000,
    );
    const modal = slack.calls.find((c) => c.method === 'views.open' && c.args.trigger_id === triggerId)!;
    const link = /(http:\/\/[^"]+\/approvals\/start\?ticket=[A-Za-z0-9_-]+)/.exec(
      JSON.stringify(modal.args.view),
    )?.[1];
    if (!link) throw new Error('no approval link in the modal');
    const browser = createBrowser(publicUrl);
    const page = await browser.login(link, approver);
    if (page.status !== 200) throw new Error(`login: HTTP ${page.status} ${await page.text()}`);
    const html = await page.text();
    const confirmedAt = Date.now();
    const confirmed = await browser.confirm(html);
    if (confirmed.status !== 200) throw new Error(`confirm: HTTP ${confirmed.status}`);
    let receipt: GrantReceipt | undefined;
    for (let w = 0; w < 400 && !receipt; w += 1) {
      const events = await services.stores.auditLog.listEvents(elevation.id);
      receipt = events.find((e) => e.type === 'grant.confirmed')?.data.receipt as GrantReceipt | undefined;
      if (!receipt) await new Promise((r) => setTimeout(r, 25));
    }
    if (!receipt) throw new Error(`elevation ${elevation.id} was not granted after its approval`);
    toActiveAfterApproval.push(Date.parse(receipt.verifiedAt) - confirmedAt);
  }
  toActiveAfterApproval.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  return { toActiveAfterApproval, acks };
}
