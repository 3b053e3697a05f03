/**
 * The risk score in Slack: the "Risk" section of an approval request (and of the owner's notice
 * of a request the score denied), and the alert about a request the score denied, posted in the
 * security channel and sent to the bot's owner. Pure, like `messages.ts`.
 *
 * A reason's sentence can quote what the bot sent (its user agent, its workload's repository),
 * and a route's reason names policy values, so both are escaped and cut like every other text
 * from outside.
 */
import type { Block, KnownBlock } from '@slack/types';
import type { RiskDecision, RiskLevel, RiskRoute } from '../../core/model/risk.js';
import type { RiskAlert } from '../../core/ports/notifier.js';
import {
  LIMITS,
  code,
  context,
  escapeMrkdwn,
  fieldsSection,
  formatDuration,
  formatTime,
  header,
  linesWithin,
  oneLine,
  quote,
  section,
  truncate,
} from './block-kit.js';
import type { SlackContent } from './slack-client.js';

/** How many reasons a message lists: the highest points first, as the score orders them. */
export const RISK_REASONS_SHOWN = 5;

/**
 * Longest reason sentence or route reason shown, escaped: the route and five reasons then fit
 * in one section (3000 characters) however much of them expands when escaped.
 */
const REASON_MAX = 400;

const LEVEL_EMOJI: Record<RiskLevel, string> = {
  low: ':large_green_circle:',
  medium: ':large_yellow_circle:',
  high: ':large_orange_circle:',
  critical: ':red_circle:',
};

/** The route in a word or two, before its reason. */
const ROUTE_WORDS: Record<RiskRoute, string> = {
  auto: 'approved automatically',
  approvers: 'approvers decide',
  escalated: 'escalated',
  denied: 'denied',
};

/** `72/100 (high)`. */
export function riskScoreWords(risk: Pick<RiskDecision, 'score' | 'level'>): string {
  return `${formatPoints(risk.score)}/100 (${risk.level})`;
}

/**
 * The lines of a "Risk" section: the score, its level and route with the route's reason, then
 * the top reasons with their points, and a note when the bot had no baseline yet.
 * `:large_orange_circle: *Risk 72/100 (high)* — escalated: score 72 is above …`.
 */
export function riskLines(risk: RiskDecision): string[] {
  const lines = [
    oneLine(
      `${LEVEL_EMOJI[risk.level]} *Risk ${riskScoreWords(risk)}* — ${ROUTE_WORDS[risk.route]}: ${escaped(risk.routeReason)}`,
    ),
  ];
  const shown = risk.reasons.slice(0, RISK_REASONS_SHOWN);
  for (const r of shown) {
    lines.push(`• ${escaped(r.text)} (+${formatPoints(r.points)})`);
  }
  if (risk.reasons.length > shown.length) {
    const more = risk.reasons.length - shown.length;
    lines.push(`_…and ${more} more reason${more === 1 ? '' : 's'}, in the console_`);
  }
  if (risk.reasons.length === 0) lines.push('_Nothing unusual about this request._');
  if (!risk.baselined) {
    lines.push("_This bot's history is too short for a baseline yet: only the role and environment scored._");
  }
  return lines;
}

/** The "Risk" section block of a request message or an owner notice. */
export function riskSection(risk: RiskDecision): KnownBlock {
  return section(linesWithin(riskLines(risk), LIMITS.sectionText));
}

/** Whether the score itself denied the request (not an approver, not an admin). */
export function deniedByScore(risk: RiskDecision | undefined): risk is RiskDecision {
  return risk?.route === 'denied';
}

/**
 * The alert about a request the risk score denied, for the security channel and (with
 * `forOwner`) the bot's owner: who asked for what, the score and its reasons, whether the bot
 * was locked down, and what to do next.
 */
export function renderRiskAlert(alert: RiskAlert, forOwner = false): SlackContent {
  const v = alert.elevation;
  const risk = v.risk;
  const score = risk ? `score ${riskScoreWords(risk)}` : 'score not recorded';
  const headline = `Request denied by risk score: bot ${code(alert.bot.id)} asked for role ${code(alert.role.id)}, ${score}`;
  const lockdown = alert.lockedDown
    ? ':lock: The bot is *locked down*: its new requests are refused until an admin unlocks it in the console.'
    : 'The bot was *not* locked down: its next request is scored again.';
  const blocks: (KnownBlock | Block)[] = [
    header(`Request denied by risk score: ${alert.bot.id} → ${alert.role.id}`),
    section(
      [
        `:rotating_light: ${headline}.`,
        forOwner
          ? 'You are told because you own this bot. If you expected this request, say so to your security team; if not, its credentials may be in other hands.'
          : undefined,
        lockdown,
      ]
        .filter((s) => s !== undefined)
        .join('\n'),
    ),
    fieldsSection([
      `*Bot*\n${code(alert.bot.id)}`,
      `*Owner*\n${escapeMrkdwn(alert.bot.owner)}`,
      `*Role*\n${code(alert.role.id)}`,
      `*Environment*\n${escapeMrkdwn(v.environment)}`,
      `*Duration*\n${formatDuration(v.durationSeconds)}`,
      `*Requested*\n${formatTime(v.requestedAt)}`,
    ]),
  ];
  if (risk) blocks.push(riskSection(risk));
  blocks.push(
    section(`*Justification*\n${quote(v.justification, 1000)}`),
    context(
      `Elevation \`${escapeMrkdwn(truncate(v.id, 200))}\` · recorded in the audit trail as \`elevation.denied\`${
        alert.lockedDown ? ' and `bot.locked`' : ''
      }`,
    ),
  );
  return {
    text: truncate(
      `Request denied by risk score: bot ${escapeMrkdwn(oneLine(alert.bot.id))} asked for role ${escapeMrkdwn(
        oneLine(alert.role.id),
      )}, ${score}${alert.lockedDown ? '; the bot is locked down' : ''}`,
      LIMITS.fallbackText,
    ),
    blocks: blocks.slice(0, LIMITS.blocks),
  };
}

/** Text from outside on one line, escaped, then cut without splitting an escape. */
function escaped(text: string): string {
  return truncate(escapeMrkdwn(oneLine(text)), REASON_MAX);
}

/** Points as a person reads them: whole numbers as they are, others to one decimal. */
function formatPoints(points: number): string {
  return Number.isInteger(points) ? String(points) : points.toFixed(1);
}
