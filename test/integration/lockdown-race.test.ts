/**
 * A lockdown racing the bot's own requests, on the real Temporal dev server, worker, slapd and
 * store, with the worker's audit writes made slow so that elevations are started well before
 * their summaries reach the store: no request slips through the lock, and no timer is needed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotPolicy } from '../../config/policy.js';
import type { BotLockResult } from '../../domain/bots/bot-summary.js';
import { ApiError } from '../../domain/errors.js';
import { startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let bot: BotPolicy;

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'race-bot', roles: ['auto-role'] }],
    roles: [{ id: 'auto-role', maxDurationSeconds: 600 }],
  });
  bot = stack.policy.bots.find((b) => b.id === 'race-bot')!;
});

afterAll(async () => {
  await stack?.close();
});

/** Summaries reach the store this long after the workflow records them (every append waits). */
const LAG_MS = 1000;

type Outcome = { ok: true; id: string } | { ok: false; code: string };

function request(): Promise<Outcome> {
  return stack.services.requests
    .request(bot, { role: 'auto-role', durationSeconds: 600, justification: 'race the lock' })
    .then(
      ({ elevation }): Outcome => ({ ok: true, id: elevation.id }),
      (err: unknown): Outcome => ({ ok: false, code: err instanceof ApiError ? err.code : String(err) }),
    );
}

describe('lockdown racing requests', () => {
  it('when many requests race a lock while their summaries lag, then every admitted elevation is revoked, the rest and every later request get bot_locked', async () => {
    let lagging = true;
    stack.beforeAppend = async (event) => {
      if (lagging && event.elevationId !== null) await new Promise((r) => setTimeout(r, LAG_MS));
    };
    try {
      const accepted: string[] = [];
      const track = (p: Promise<Outcome>) =>
        p.then((o) => {
          if (o.ok) accepted.push(o.id);
          return o;
        });
      const first = Array.from({ length: 8 }, () => track(request()));
      while (accepted.length < 3) await new Promise((r) => setTimeout(r, 5));
      // The premise: elevations are running that the store does not know of yet.
      const summaries = await Promise.all(accepted.map((id) => stack.stores.elevations.getElevation(id)));
      expect(summaries).toContain(undefined);

      // The lock arrives in the middle of a second wave.
      const second = Array.from({ length: 8 }, () => track(request()));
      const lock: BotLockResult = await stack.services.bots.lockBot(
        'race-bot',
        { kind: 'admin', id: 'test-admin' },
        'INC-7 race',
      );
      const outcomes = await Promise.all([...first, ...second]);
      const after = await Promise.all(Array.from({ length: 5 }, () => request()));

      expect(lock.failed).toEqual([]);
      // Admitted before the lock: each one revoked by it, recorded or not.
      expect(lock.revoked.map((v) => v.id).sort()).toEqual([...accepted].sort());
      // The others were refused for the lock, nothing else.
      expect(outcomes.filter((o) => !o.ok)).toEqual(
        outcomes.filter((o) => !o.ok).map(() => ({ ok: false, code: 'bot_locked' })),
      );
      expect(after).toEqual(after.map(() => ({ ok: false, code: 'bot_locked' })));

      lagging = false;
      for (const id of accepted) {
        const view = await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
        expect(view.endReason).toBe('admin_revoked');
      }
      expect(await stack.isMember('race-bot', 'auto-role')).toBe(false);
      const open = await stack.stores.elevations.listElevations({
        botId: 'race-bot',
        status: ['pending_approval', 'approved', 'active', 'revoking'],
        limit: 100,
      });
      expect(open.items).toEqual([]);
    } finally {
      delete stack.beforeAppend;
    }
  }, 120_000);
});
