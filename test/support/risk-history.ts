/**
 * A bot's past requests, as the audit log would hold them after weeks of normal use: one
 * `elevation.requested` a day, from the same network and client, at the same hour. Risk scoring
 * builds the bot's baseline from them (appended with past times, they are folded like any event).
 */
import { randomUUID } from 'node:crypto';
import type { Stack } from './stack.js';

/** Where and with what the seeded history's requests came. */
export const USUAL = { ip: '203.0.113.7', userAgent: 'batch-runner/2.1' } as const;

/** Appends `days` days of requests by `botId`, one a day, cycling through `roles`. */
export async function seedRequestHistory(
  stack: Pick<Stack, 'stores' | 'policy'>,
  botId: string,
  roles: string[],
  days = 20,
): Promise<void> {
  const now = Date.now();
  for (let day = days; day >= 1; day--) {
    const roleId = roles[day % roles.length]!;
    const role = stack.policy.roles.find((r) => r.id === roleId)!;
    await stack.stores.auditLog.append({
      id: randomUUID(),
      elevationId: `hist-${botId}-${day}`,
      type: 'elevation.requested',
      at: new Date(now - day * 86_400_000).toISOString(),
      actor: { kind: 'bot', id: botId },
      data: {
        bot: { id: botId },
        role: { id: roleId, target: role.target, approval: role.approval },
        durationSeconds: 60,
        justification: 'nightly report',
        source: { ...USUAL, authMethod: 'api_key' },
      },
    });
  }
}
