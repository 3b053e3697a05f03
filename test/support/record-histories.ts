/**
 * Records workflow histories for the replay test (`npm run histories:record -- <generation>`),
 * one per path through the elevation workflow, on the real stack, into
 * `test/histories/<generation>/`. Earlier generations stay: the replay test runs them all, so a
 * change made compatible with `patched()` is checked against both the old and the new paths.
 *
 * A revocation that continues as new is recorded as its two runs (`revoke-continued-as-new`, the
 * run that hands over, and `revoke-carried-on`, the run that finishes), on a second stack whose
 * Temporal server suggests continue-as-new early: on the first, that setting would change the
 * other paths (a long revocation there must not continue as new).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client as LdapClient } from 'ldapts';
import { groupDn } from '../../dev/ldap-seed.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { findTemporalCli } from '../../dev/temporal-cli.js';
import { approveUpdate, reloadDecisionKeysUpdate } from '../../workflows/definitions.js';
import { workflowIdFor, type ElevationInput } from '../../core/model/elevation.js';
import { breakGlassReviewIdFor } from '../../core/model/break-glass.js';
import { seedRequestHistory } from './risk-history.js';
import { botOf, startStack, SUFFIX, type Stack } from './stack.js';

const generation = process.argv[2];
if (!generation || !/^[a-z0-9-]+$/.test(generation)) {
  console.error('usage: npm run histories:record -- <generation>   (a folder name under test/histories)');
  process.exit(2);
}
const out = path.resolve(import.meta.dirname, '..', 'histories', generation);
mkdirSync(out, { recursive: true });

const stack = await startStack({
  bots: [
    {
      id: 'rec-bot',
      roles: [
        'auto',
        'quorum',
        'short-window',
        'missing',
        'nudged',
        'extendable',
        'glass',
        'glass-reviewed',
        'ask-again',
        'ask-brief',
      ],
    },
  ],
  roles: [
    { id: 'auto' },
    {
      id: 'quorum',
      approval: { mode: 'approvers', approvers: ['ann@example.org', 'ben@example.org'], quorum: 2 },
    },
    {
      id: 'short-window',
      approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 10 },
    },
    { id: 'missing' },
    // Extended once (the workflow's end moves), then expires at the new end.
    {
      id: 'extendable',
      maxDurationSeconds: 30,
      extend: { maxTotalSeconds: 60, maxExtensions: 2, approval: 'none' },
    },
    // Extensions the approvers decide: with the request's window (600 s), and with a 10 s one, so
    // an extension nobody answers closes at its own deadline before the elevation's end.
    {
      id: 'ask-again',
      maxDurationSeconds: 30,
      approval: { mode: 'approvers', approvers: ['ann@example.org'] },
      extend: { maxTotalSeconds: 60, maxExtensions: 2, approval: 'same-as-request' },
    },
    {
      id: 'ask-brief',
      maxDurationSeconds: 30,
      approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 10 },
      extend: { maxTotalSeconds: 60, maxExtensions: 2, approval: 'same-as-request' },
    },
    // Break-glass: granted at once although the role needs approval. `glass` must be reviewed
    // within 2 s (nobody does: the window ends then); `glass-reviewed` within a day (it expires first).
    {
      id: 'glass',
      approval: { mode: 'approvers', approvers: ['ann@example.org'] },
      breakGlass: { bots: ['rec-bot'], reviewers: ['ann@example.org'], reviewDeadlineSeconds: 2 },
    },
    {
      id: 'glass-reviewed',
      approval: { mode: 'approvers', approvers: ['ann@example.org'] },
      breakGlass: { bots: ['rec-bot'], reviewers: ['ann@example.org'] },
    },
    {
      // Escalates 2 s in, reminds 4 s in (6 s before its 10 s window closes).
      id: 'nudged',
      approval: {
        mode: 'approvers',
        approvers: ['ann@example.org'],
        windowSeconds: 10,
        remindBeforeSeconds: [6],
        escalation: { afterSeconds: 2, groups: [{ name: 'oncall', members: ['ona@example.org'] }] },
      },
    },
  ],
  timing: { revokeRetryMaxSeconds: 1 },
});
const ask = (role: string, durationSeconds = 30, on: Stack = stack) =>
  on.services.requests
    .request(botOf(on, 'rec-bot'), { role, durationSeconds, justification: 'recording' })
    .then((r) => r.elevation.id);
/** A scheduled request (`startsAt`) `leadSeconds` from now, held for 2 s. */
const askAt = (role: string, leadSeconds: number) =>
  stack.services.requests
    .request(botOf(stack, 'rec-bot'), {
      role,
      durationSeconds: 2,
      justification: 'recording',
      startsAt: new Date(Date.now() + leadSeconds * 1000).toISOString(),
    })
    .then((r) => r.elevation.id);
/**
 * Saves the history of the elevation's workflow (or of `workflowId`): its latest run once it has
 * completed (so the history holds the whole path, its last messages and its end included), or
 * the closed run `runId`.
 */
const save = async (
  name: string,
  id: string,
  on: Stack = stack,
  runId?: string,
  workflowId = workflowIdFor(id),
) => {
  if (runId === undefined) await on.env.client.workflow.getHandle(workflowId).result();
  // The CLI writes the history as proto3 JSON, the form historyFromJSON reads back.
  const json = execFileSync(
    findTemporalCli()!,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--address',
      on.env.address,
      '--output',
      'json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  writeFileSync(path.join(out, `${name}.json`), json);
  console.log(`recorded ${name}`);
};
const byBot = { kind: 'bot', botId: 'rec-bot' } as const;

/**
 * An elevation of `role` (whose extensions go to the approvers) approved, active, and an
 * extension of 2 s asked for: the extension waits for approvers.
 */
async function extensionAsked(role: string, seconds: number): Promise<string> {
  const id = await ask(role, seconds);
  await stack.services.approvals.approve(id, { approver: { id: 'ann@example.org' } });
  await stack.waitFor(id, (v) => v.status === 'active');
  await stack.services.requests.extend(id, { kind: 'bot', id: 'rec-bot' }, byBot, {
    durationSeconds: 2,
    justification: 'recording',
  });
  return id;
}
/** A break-glass request: granted without approval, its review started beside it. */
const askGlass = (role: string, durationSeconds: number) =>
  stack.services.requests
    .request(botOf(stack, 'rec-bot'), { role, durationSeconds, justification: 'recording', breakGlass: true })
    .then((r) => r.elevation.id);

try {
  const scenarios: [string, () => Promise<string>][] = [
    [
      'auto-expired',
      async () => {
        const id = await ask('auto', 2);
        await stack.waitFor(id, (v) => v.status === 'revoked');
        return id;
      },
    ],
    [
      'quorum-approved-given-back',
      async () => {
        const id = await ask('quorum');
        await stack.waitFor(id, (v) => v.status === 'pending_approval');
        await stack.services.approvals.approve(id, { approver: { id: 'ann@example.org' } });
        await stack.services.approvals
          .approve(id, { approver: { id: 'ann@example.org' } })
          .catch(() => undefined);
        await stack.services.approvals.approve(id, {
          approver: { id: 'ben@example.org' },
          evidence: { amr: ['otp'] },
        });
        await stack.waitFor(id, (v) => v.status === 'active');
        await stack.services.requests.revoke(id, { kind: 'bot', id: 'rec-bot' }, byBot, 'done');
        await stack.waitFor(id, (v) => v.status === 'revoked');
        return id;
      },
    ],
    [
      'denied',
      async () => {
        const id = await ask('quorum');
        await stack.waitFor(id, (v) => v.status === 'pending_approval');
        await stack.services.approvals.deny(id, {
          by: { kind: 'human', id: 'ben@example.org' },
          reason: 'no',
        });
        return id;
      },
    ],
    [
      'approval-expired',
      async () => {
        const id = await ask('short-window');
        await stack.waitFor(id, (v) => v.status === 'expired', 30_000);
        return id;
      },
    ],
    [
      'withdrawn',
      async () => {
        const id = await ask('quorum');
        await stack.waitFor(id, (v) => v.status === 'pending_approval');
        await stack.services.requests.revoke(id, { kind: 'bot', id: 'rec-bot' }, byBot);
        return id;
      },
    ],
    [
      'revoke-retried',
      async () => {
        const id = await ask('auto', 2);
        await stack.waitFor(id, (v) => v.status === 'active');
        await stack.slapd.stop();
        await stack.waitFor(id, (v) => v.revokeAttempts >= 2, 30_000);
        await stack.slapd.restart();
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
    [
      'grant-failed',
      async () => {
        const ldap = new LdapClient({ url: stack.slapd.url });
        await ldap.bind(stack.slapd.rootDn, stack.slapd.rootPassword);
        await ldap.del(groupDn(SUFFIX, 'missing'));
        await ldap.unbind();
        const id = await ask('missing');
        await stack.waitFor(id, (v) => v.status === 'failed', 30_000);
        return id;
      },
    ],
    [
      'request-unverified',
      async () => {
        // Started around the API, without its signature: refused before anything happens.
        const id = await ask('auto', 30);
        await stack.waitFor(id, (v) => v.status === 'active');
        await stack.services.requests.revoke(id, { kind: 'bot', id: 'rec-bot' }, byBot);
        await stack.waitFor(id, (v) => v.status === 'revoked');
        const history = await stack.env.client.workflow.getHandle(`elevation-${id}`).fetchHistory();
        const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        const input = defaultPayloadConverter.fromPayload<ElevationInput>(payload!);
        const { signature: _signature, ...unsigned } = { ...input, elevationId: `${id}-copy` };
        const handle = await stack.env.client.workflow.start('elevationWorkflow', {
          workflowId: `elevation-${unsigned.elevationId}`,
          taskQueue: stack.taskQueue,
          args: [unsigned],
        });
        await handle.result();
        return unsigned.elevationId;
      },
    ],
    [
      'keys-reloaded',
      async () => {
        // A forged approval is refused (never in history); the keys are reloaded (an update
        // with a local activity), then two signed approvals grant, and the bot gives it back.
        const id = await ask('quorum');
        await stack.waitFor(id, (v) => v.status === 'pending_approval');
        const handle = stack.env.client.workflow.getHandle(`elevation-${id}`);
        await handle
          .executeUpdate(approveUpdate, {
            args: [{ approver: { id: 'ann@example.org' }, groups: ['approvers'] }],
          })
          .catch(() => undefined);
        await handle.executeUpdate(reloadDecisionKeysUpdate);
        await stack.services.approvals.approve(id, { approver: { id: 'ann@example.org' } });
        await stack.services.approvals.approve(id, {
          approver: { id: 'ben@example.org' },
          evidence: { amr: ['otp'] },
        });
        await stack.waitFor(id, (v) => v.status === 'active');
        await stack.services.requests.revoke(id, { kind: 'bot', id: 'rec-bot' }, byBot, 'done');
        await stack.waitFor(id, (v) => v.status === 'revoked');
        return id;
      },
    ],
    [
      'admin-revoked',
      async () => {
        const id = await ask('auto', 60);
        await stack.waitFor(id, (v) => v.status === 'active');
        await stack.services.requests.revoke(
          id,
          { kind: 'admin', id: 'test-admin' },
          { kind: 'admin' },
          'incident',
        );
        await stack.waitFor(id, (v) => v.status === 'revoked');
        return id;
      },
    ],
    [
      // Approved ahead, granted by the workflow's timer at `startsAt`, expired at its end.
      'scheduled-granted',
      async () => {
        const id = await askAt('auto', 3);
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
    [
      // Given back while it waits for its start: ends withdrawn, nothing granted.
      'scheduled-withdrawn',
      async () => {
        const id = await askAt('auto', 120);
        await stack.waitFor(id, (v) => v.status === 'approved');
        await stack.services.requests.revoke(id, { kind: 'bot', id: 'rec-bot' }, byBot, 'change moved');
        await stack.waitFor(id, (v) => v.status === 'revoked');
        return id;
      },
    ],
    [
      // Escalated, then reminded (the escalation group too); approved by the escalation group.
      'reminded-escalated-approved',
      async () => {
        const id = await ask('nudged', 2);
        const deadline = Date.now() + 30_000;
        while (!(await stack.stores.auditLog.listEvents(id)).some((e) => e.type === 'approval.reminded')) {
          if (Date.now() > deadline) throw new Error('no reminder within 30 s');
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        await stack.services.approvals.approve(id, { approver: { id: 'ona@example.org' } });
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
    [
      // Extended by the bot (refused once over the cap, which never enters history), then by an
      // admin, and expired at the moved end.
      'extended-expired',
      async () => {
        const id = await ask('extendable', 3);
        await stack.waitFor(id, (v) => v.status === 'active');
        const bot = { kind: 'bot', id: 'rec-bot' } as const;
        await stack.services.requests
          .extend(id, bot, byBot, { durationSeconds: 600, justification: 'too long' })
          .catch(() => undefined);
        await stack.services.requests.extend(id, bot, byBot, {
          durationSeconds: 2,
          justification: 'recording',
        });
        await stack.services.requests.extend(
          id,
          { kind: 'admin', id: 'test-admin' },
          { kind: 'admin' },
          { durationSeconds: 1, justification: 'recording' },
        );
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
    [
      // An extension put before the approvers (a request approval sent for it is refused, never
      // in history), approved, and expired at the moved end.
      'extension-approved-expired',
      async () => {
        const id = await extensionAsked('ask-again', 3);
        await stack.services.approvals
          .approve(id, { approver: { id: 'ann@example.org' } })
          .catch(() => undefined);
        await stack.services.approvals.approve(id, { approver: { id: 'ann@example.org' }, extension: 1 });
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
    [
      // One extension denied, the next unanswered until its 10 s deadline; expired at the original end.
      'extension-denied-lapsed',
      async () => {
        const id = await extensionAsked('ask-brief', 14);
        await stack.services.approvals.deny(id, {
          by: { kind: 'human', id: 'ann@example.org' },
          reason: 'recording',
          extension: 1,
        });
        await stack.services.requests.extend(id, { kind: 'bot', id: 'rec-bot' }, byBot, {
          durationSeconds: 2,
          justification: 'again',
        });
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
    [
      // An extension still waiting when the window ends: closed, and the role revoked on time.
      'extension-lapsed-at-end',
      async () => {
        const id = await extensionAsked('ask-again', 3);
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
    // Last: the missed review locks rec-bot down.
    [
      'break-glass-reviewed-expired',
      async () => {
        const id = await askGlass('glass-reviewed', 3);
        await stack.waitFor(id, (v) => v.status === 'active');
        // The review takes answers once it has loaded the decision keys (before it alerts anyone).
        for (let tries = 0; ; tries += 1) {
          try {
            await stack.services.breakGlassReviews.review(id, {
              reviewer: 'ann@example.org',
              outcome: 'confirmed',
              evidence: {},
            });
            break;
          } catch (err) {
            if (tries >= 50) throw err;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        // The review workflow's own path: alerted, confirmed in time, recorded.
        await save('break-glass-review-confirmed', id, stack, undefined, breakGlassReviewIdFor(id));
        return id;
      },
    ],
    [
      'break-glass-review-missed',
      async () => {
        const id = await askGlass('glass', 30);
        await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        return id;
      },
    ],
  ];
  for (const [name, run] of scenarios) await save(name, await run());
} finally {
  await stack.close();
}

/**
 * The target stays down until Temporal suggests continue-as-new: the first run hands the
 * revocation over, the next run fails once more, then removes the grant once the target is back.
 */
const continuing = await startStack({
  bots: [{ id: 'rec-bot', roles: ['auto'] }],
  roles: [{ id: 'auto' }],
  timing: { revokeRetryMaxSeconds: 1, grantTimeoutSeconds: 30 },
  temporalConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
});
try {
  const id = await ask('auto', 2, continuing);
  await continuing.waitFor(id, (v) => v.status === 'active');
  const handle = continuing.env.client.workflow.getHandle(workflowIdFor(id));
  const firstRunId = (await handle.describe()).runId;
  await continuing.slapd.stop();
  const deadline = Date.now() + 60_000;
  const first = continuing.env.client.workflow.getHandle(workflowIdFor(id), firstRunId);
  while ((await first.describe()).status.name !== 'CONTINUED_AS_NEW') {
    if (Date.now() > deadline) throw new Error('the revocation did not continue as new within a minute');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const carried = (await continuing.waitFor(id, (v) => v.status === 'revoking')).revokeAttempts;
  await continuing.waitFor(id, (v) => v.revokeAttempts > carried, 30_000);
  await continuing.slapd.restart();
  await continuing.waitFor(id, (v) => v.status === 'revoked', 30_000);
  await save('revoke-continued-as-new', id, continuing, firstRunId);
  await save('revoke-carried-on', id, continuing);
} finally {
  await continuing.close();
}

/**
 * The risk score's own paths, on a bot with weeks of history: a request from a new network with
 * a new client escalates an automatic role to the security group (approved, granted, expired);
 * a request for a role the bot never used, from elsewhere, is denied, alerted and locks the bot.
 */
const risky = await startStack({
  bots: [{ id: 'risk-bot', roles: ['usual', 'escalating', 'guarded'] }],
  roles: [
    { id: 'usual' },
    { id: 'escalating', risk: { escalation: { name: 'security', members: ['sec@example.org'] } } },
    { id: 'guarded', risk: { lockDownOnCritical: true } },
  ],
  timing: { revokeRetryMaxSeconds: 1 },
});
try {
  await seedRequestHistory(risky, 'risk-bot', ['usual', 'escalating']);
  const askFrom = (role: string, ip: string, userAgent: string) =>
    risky.services.requests
      .request(
        botOf(risky, 'risk-bot'),
        { role, durationSeconds: 2, justification: 'recording' },
        { source: { ip, userAgent, authMethod: 'api_key' } },
      )
      .then((r) => r.elevation.id);
  const escalated = await askFrom('escalating', '198.51.100.9', 'curl/8.4.0');
  await risky.waitFor(escalated, (v) => v.status === 'pending_approval' && v.risk?.route === 'escalated');
  await risky.services.approvals.approve(escalated, { approver: { id: 'sec@example.org' } });
  await risky.waitFor(escalated, (v) => v.status === 'revoked');
  await save('risk-escalated', escalated, risky);
  const denied = await askFrom('guarded', '192.0.2.44', 'python-requests/2.32');
  await risky.waitFor(denied, (v) => v.status === 'denied' && v.risk?.route === 'denied');
  await save('risk-denied', denied, risky);
} finally {
  await risky.close();
}

/**
 * Role bundles (`role-bundles` patch): two LDAP roles granted together and expired together
 * (`bundle-granted-expired`), and a bundle whose second role's group does not exist, so the
 * first is revoked and the elevation fails (`bundle-partial-failed`).
 */
const bundled = await startStack({
  bots: [{ id: 'rec-bot', roles: ['first', 'second', 'missing'] }],
  roles: [
    { id: 'first' },
    { id: 'second' },
    { id: 'missing', target: { type: 'ldap', groupDn: groupDn(SUFFIX, 'absent') } },
  ],
  timing: { revokeRetryMaxSeconds: 1 },
});
try {
  const requests = bundled.servicesWith({
    policy: {
      ...bundled.policy,
      bundles: [
        { id: 'both', roles: ['first', 'second'] },
        { id: 'half', roles: ['first', 'missing'] },
      ],
    },
  }).requests;
  const askBundle = (bundle: string) =>
    requests
      .request(botOf(bundled, 'rec-bot'), { bundle, durationSeconds: 2, justification: 'recording' })
      .then((r) => r.elevation.id);
  const granted = await askBundle('both');
  await bundled.waitFor(granted, (v) => v.status === 'revoked', 30_000);
  await save('bundle-granted-expired', granted, bundled);
  const half = await askBundle('half');
  await bundled.waitFor(half, (v) => v.status === 'failed', 30_000);
  await save('bundle-partial-failed', half, bundled);
} finally {
  await bundled.close();
}
