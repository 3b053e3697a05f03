/**
 * A break-glass activation in Slack: the loud alert posted in the security channel, sent to the
 * bot's owner, and sent to each reviewer with a Review button that opens the MFA login (a link:
 * the reviewer proves who they are there, not in Slack). Pure, like `messages.ts`; the
 * justification comes from the bot, so it is quoted and cut like every other text from outside.
 */
import type { KnownBlock } from '@slack/types';
import type { BreakGlassAlert } from '../../core/model/break-glass.js';
import {
  code,
  context,
  fieldsSection,
  formatDuration,
  formatTime,
  header,
  quote,
  section,
} from './block-kit.js';
import type { SlackContent } from './slack-client.js';

/** `action_id` of the Review link button (Slack reports the click; it needs only an acknowledgement). */
export const BREAK_GLASS_REVIEW_ACTION = 'breakglass_review';

/** Who the alert is for: the channel, the bot's owner, or a named reviewer (who gets the button). */
export type BreakGlassAudience = 'channel' | 'owner' | 'reviewer';

const JUSTIFICATION_MAX = 1000;

/** The alert about one activation, for `audience`. */
export function renderBreakGlassAlert(a: BreakGlassAlert, audience: BreakGlassAudience): SlackContent {
  const { elevation, bot, role, breakGlass } = a;
  const lead =
    audience === 'owner'
      ? `Your bot ${code(bot.id)} broke the glass: it holds role ${code(role.id)} without approval.`
      : audience === 'reviewer'
        ? `Bot ${code(bot.id)} broke the glass on role ${code(role.id)}, and you are a named reviewer: confirm or reject it with MFA.`
        : `Bot ${code(bot.id)} was granted role ${code(role.id)} without approval, on its emergency path.`;
  const blocks: KnownBlock[] = [
    header(`:rotating_light: Break-glass: ${bot.id} → ${role.id}`),
    section(lead),
    fieldsSection([
      `*Owner*\n${bot.owner}`,
      `*Window*\n${formatDuration(elevation.durationSeconds)} (cap ${formatDuration(breakGlass.maxSeconds)})`,
      `*Review due*\n${formatTime(breakGlass.reviewDeadline)}`,
      `*Reviewers*\n${breakGlass.reviewers.join(', ')}`,
    ]),
    section(`*Justification*\n${quote(elevation.justification, JUSTIFICATION_MAX)}`),
    section(
      `Unless a reviewer confirms it by ${formatTime(breakGlass.reviewDeadline)}, the role is revoked and bot ${code(bot.id)} is locked down.`,
    ),
  ];
  if (audience === 'reviewer') {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: BREAK_GLASS_REVIEW_ACTION,
          text: { type: 'plain_text', text: 'Review' },
          style: 'danger',
          url: a.reviewUrl,
        },
      ],
    });
  }
  blocks.push(context(`Elevation ${code(elevation.id)}. Review: ${a.reviewUrl}`));
  return {
    text: `Break-glass: bot ${bot.id} was granted role ${role.id} without approval; review due ${breakGlass.reviewDeadline}`,
    blocks,
  };
}
