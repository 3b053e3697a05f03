/**
 * An anomaly continuous detection found, as posted in the security channel: what kind, which
 * bot (or fleet), how serious, the sentence that says it, the numbers behind it, and what to do.
 * Pure, like `messages.ts`. The sentence quotes names from the policy (a team, an owner's
 * address), so it is escaped and cut like every other text from outside.
 */
import type { Block, KnownBlock } from '@slack/types';
import type { AnomalyKind } from '../../core/model/anomaly.js';
import type { RiskLevel } from '../../core/model/risk.js';
import type { AnomalyAlert } from '../../core/ports/notifier.js';
import {
  LIMITS,
  code,
  context,
  escapeMrkdwn,
  fieldsSection,
  formatTime,
  header,
  oneLine,
  section,
  truncate,
} from './block-kit.js';
import type { SlackContent } from './slack-client.js';

/** Each kind in a few words, for the header and the fallback text. */
const KIND_WORDS: Record<AnomalyKind, string> = {
  fleet_rate_spike: 'Rate spike across a fleet',
  credential_refusals: 'Repeated credential refusals',
  grants_run_to_expiry: 'Grants no longer given back early',
  dormant: 'Dormant bot',
  orphaned: 'Orphaned bot',
};

/** What someone should do next, per kind. */
const NEXT_STEP: Record<AnomalyKind, string> = {
  fleet_rate_spike:
    'Ask the owners whether a change explains it; if not, look at the bots’ recent elevations in the console and lock down the ones that should not be asking.',
  credential_refusals:
    'Credentials are handed over once: ask the owner whether the bot retries on purpose; if not, rotate its key and look at where the refused calls came from.',
  grants_run_to_expiry:
    'Ask the owner whether the bot’s job changed; if not, its key may be used by someone else: look at its recent elevations.',
  dormant: 'Take away the roles it no longer needs in the policy, or the bot if it is retired.',
  orphaned: 'Give the bot a new owner in the policy, or retire it.',
};

const SEVERITY_EMOJI: Record<RiskLevel, string> = {
  low: ':large_blue_circle:',
  medium: ':large_yellow_circle:',
  high: ':large_orange_circle:',
  critical: ':red_circle:',
};

/** Longest sentence shown, escaped. */
const TEXT_MAX = 1500;

/** The alert about one anomaly, for the security channel. */
export function renderAnomalyAlert(alert: AnomalyAlert): SlackContent {
  const f = alert.finding;
  const about = f.fleet ? `${f.fleet.by} ${f.fleet.id}` : f.botId;
  const evidence = Object.entries(f.evidence)
    .map(([name, value]) => `${escapeMrkdwn(name)}: ${value}`)
    .join(' · ');
  const fields = [
    `*Kind*\n${code(f.kind)}`,
    `*Severity*\n${SEVERITY_EMOJI[f.severity]} ${f.severity}`,
    `*Bot*\n${code(f.botId)}`,
    `*Found*\n${formatTime(alert.at)}`,
  ];
  if (f.fleet) {
    fields.push(`*Fleet*\n${escapeMrkdwn(truncate(oneLine(`${f.fleet.by} ${f.fleet.id}`), 300))}`);
    fields.push(`*Bots*\n${escapeMrkdwn(truncate(f.fleet.bots.join(', '), 500))}`);
  } else if (alert.owner !== undefined) {
    fields.push(`*Owner*\n${escapeMrkdwn(truncate(oneLine(alert.owner), 300))}`);
    if (alert.team !== undefined) fields.push(`*Team*\n${escapeMrkdwn(truncate(oneLine(alert.team), 300))}`);
  }
  const blocks: (KnownBlock | Block)[] = [
    header(`${KIND_WORDS[f.kind]}: ${about}`),
    section(`:mag: ${truncate(escapeMrkdwn(oneLine(f.text)), TEXT_MAX)}.`),
    fieldsSection(fields),
  ];
  if (evidence) blocks.push(section(`*Evidence*\n${truncate(evidence, 1000)}`));
  blocks.push(
    section(`*What to do*\n${NEXT_STEP[f.kind]}`),
    context(
      `Found by continuous detection · recorded in the audit trail as \`anomaly.detected\` (${escapeMrkdwn(
        truncate(alert.eventId, 200),
      )}) · listed in the console under Anomalies`,
    ),
  );
  return {
    text: truncate(
      `${KIND_WORDS[f.kind]} (${f.severity}): ${escapeMrkdwn(oneLine(f.text))}`,
      LIMITS.fallbackText,
    ),
    blocks: blocks.slice(0, LIMITS.blocks),
  };
}
