/**
 * Periodic owner attestation end to end, on the real stack (Temporal, slapd, the store, the
 * worker), the development identity provider and the stand-in for Slack: the daily schedule
 * asks the owner, who logs in with MFA and trims a role, after which the bot's requests for it
 * are refused and audited; an attestation nobody answers suspends the bot at its deadline; and
 * a person who is not the owner is refused and audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { attestationIdFor } from '../../core/rules/attestation.js';
import { AttestationStarter } from '../../domain/attestations/attestation-starter.js';
import { ensureAttestationSchedule } from '../../worker/attestation-schedule.js';
import { person, startApprovalStack, type ApprovalStack } from '../support/approval-stack.js';
import { botOf } from '../support/stack.js';

const olive = person('olive'); // owns the bots
const sam = person('sam'); // owns nothing

let s: ApprovalStack;

beforeAll(async () => {
  s = await startApprovalStack({
    people: [olive, sam],
    bots: [
      { id: 'etl-bot', roles: ['ops', 'reports'], owner: olive.email },
      { id: 'quiet-bot', roles: ['ops'], owner: olive.email },
    ],
    roles: [{ id: 'ops' }, { id: 'reports' }],
    detection: { attestation: { everyDays: 90, answerWithinDays: 7 } },
  });
}, 120_000);

afterAll(async () => {
  await s?.close();
});

function starter(): AttestationStarter {
  const { stack } = s;
  return new AttestationStarter({
    policy: stack.policy,
    botStates: stack.stores.botStates,
    temporal: stack.env.client,
    taskQueue: stack.taskQueue,
    reviewUrl: (id) => `${s.url}/approvals/attest/${id}`,
    logger: stack.logger,
  });
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function eventsOfType(type: string): Promise<AuditEvent[]> {
  return (await s.stack.stores.auditLog.readEvents(0, 100_000)).filter((e) => e.type === type);
}

function request(botId: string, role: string): Promise<Response> {
  return fetch(`${s.url}/v1/elevations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.stack.keys[botId]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role, durationSeconds: 60, justification: 'attestation test' }),
  });
}

describe('owner attestation', () => {
  it('when nobody answers by the deadline, then the bot is suspended and audited, until an admin enables it', async () => {
    const id = await starter().start(botOf(s.stack, 'quiet-bot'), { deadline: new Date(Date.now() + 3000) });
    expect(id).toBe(attestationIdFor('quiet-bot', new Date()));

    const state = await until('the suspension', async () => {
      const st = await s.stack.stores.botStates.getBotState('quiet-bot');
      return st?.attestation?.overdue ? st : undefined;
    });
    expect(state.attestation?.overdue?.attestationId).toBe(id);

    const refused = await request('quiet-bot', 'ops');
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('attestation_overdue');
    expect(body.error.message).toContain('attestation deadline');
    const expired = await eventsOfType('attestation.expired');
    expect(expired.map((e) => (e.data as { botId: string }).botId)).toEqual(['quiet-bot']);
    const audited = (await eventsOfType('request.refused')).filter(
      (e) => (e.data as { code?: string }).code === 'attestation_overdue',
    );
    expect(audited).toHaveLength(1);

    await s.stack.services.bots.setBotDisabled('quiet-bot', false, { kind: 'admin', id: 'test-admin' });
    expect((await s.stack.stores.botStates.getBotState('quiet-bot'))?.attestation?.overdue).toBeNull();
    expect((await request('quiet-bot', 'ops')).status).not.toBe(403);
  }, 60_000);

  it('when the schedule asks the owner, then a non-owner is refused, and the owner trims a role with MFA that is refused from then on', async () => {
    const scheduleId = `attest-${s.stack.taskQueue}`;
    await ensureAttestationSchedule(s.stack.env.client, {
      taskQueue: s.stack.taskQueue,
      enabled: true,
      scheduleId,
    });
    await s.stack.env.client.schedule.getHandle(scheduleId).trigger();
    const id = attestationIdFor('etl-bot', new Date());
    const view = await until('the attestation', async () => {
      const v = await s.stack.services.attestations.view(id);
      const st = await s.stack.stores.botStates.getBotState('etl-bot');
      return st?.attestation?.requested?.id === id ? v : undefined;
    });
    expect(view).toMatchObject({ status: 'pending', roles: ['ops', 'reports'], owner: olive.email });
    // quiet-bot was asked today already: the sweep left it alone.
    expect(
      (await eventsOfType('attestation.requested')).map((e) => (e.data as { botId: string }).botId),
    ).toEqual(['quiet-bot', 'etl-bot']);
    await s.slack.waitFor((calls) =>
      calls.some(
        (c) =>
          c.method === 'chat.postMessage' &&
          JSON.stringify(c.args).includes('Review the roles of bot etl-bot'),
      ),
    );

    const link = `${s.url}/approvals/attest/${id}`;
    const stranger = await s.browser().login(link, sam);
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).toContain('not_owner');
    const notOwner = (await eventsOfType('attestation.refused')).filter(
      (e) => (e.data as { code?: string }).code === 'not_owner',
    );
    expect(notOwner).toHaveLength(1);
    expect(notOwner[0]!.actor).toEqual({ kind: 'human', id: sam.email });

    const browser = s.browser();
    const page = await browser.login(link, olive);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('name="role" value="reports"');
    const confirmation = /name="confirmation" value="([^"]+)"/.exec(html)?.[1];
    expect(confirmation).toBeDefined();
    const done = await browser.post(`${s.url}/approvals/attest/confirm`, {
      confirmation: confirmation!,
      role: 'ops',
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Your attestation was recorded');

    const confirmed = await eventsOfType('attestation.confirmed');
    expect(confirmed).toHaveLength(1);
    expect(confirmed[0]!.data).toMatchObject({ botId: 'etl-bot', kept: ['ops'], trimmed: ['reports'] });
    expect(confirmed[0]!.actor).toEqual({ kind: 'human', id: olive.email });

    const refused = await request('etl-bot', 'reports');
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { error: { code: string; message: string; field?: string } };
    expect(body.error).toMatchObject({ code: 'role_suspended', field: 'role' });
    expect(body.error.message).toContain('role reports');
    const audited = (await eventsOfType('request.refused')).filter(
      (e) => (e.data as { code?: string }).code === 'role_suspended',
    );
    expect(audited).toHaveLength(1);
    expect((await request('etl-bot', 'ops')).status).not.toBe(403);

    // The answer is used up: the same page cannot answer twice.
    const again = await browser.post(`${s.url}/approvals/attest/confirm`, {
      confirmation: confirmation!,
      role: 'reports',
    });
    expect(again.status).toBe(400);
    await s.stack.env.client.schedule.getHandle(scheduleId).delete();
  }, 90_000);
});
