/**
 * An owner attestation as sent to the bot's owner in a direct message: which bot, its roles,
 * the deadline and what happens at it, and a Review button that opens the MFA login (a link:
 * the owner proves who they are there, not in Slack). Pure, like `messages.ts`.
 */
import type { KnownBlock } from '@slack/types';
import type { AttestationRequest } from '../../core/model/attestation.js';
import { code, context, formatTime, header, section } from './block-kit.js';
import type { SlackContent } from './slack-client.js';

/** `action_id` of the Review link button (Slack reports the click; it needs only an acknowledgement). */
export const ATTEST_REVIEW_ACTION = 'attestation_review';

/** The direct message asking the owner to review the bot's roles. */
export function renderAttestationRequest(r: AttestationRequest): SlackContent {
  const roles = r.roles
    .map((role) => `• ${code(role)}${r.trimmed.includes(role) ? ' (trimmed earlier)' : ''}`)
    .join('\n');
  const blocks: KnownBlock[] = [
    header(`Review the roles of bot ${r.botId}`),
    section(
      `You own bot ${code(r.botId)}. Confirm which of its roles it still needs; untick the others and its requests for them are refused.\n${roles}`,
    ),
    section(
      `Answer by ${formatTime(r.deadline)}. Without an answer the bot is suspended: all its requests are refused until you attest.`,
    ),
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ATTEST_REVIEW_ACTION,
          text: { type: 'plain_text', text: 'Review' },
          style: 'primary',
          url: r.reviewUrl,
        },
      ],
    },
    context(`You log in with MFA first. Attestation ${code(r.attestationId)}.`),
  ];
  return { text: `Review the roles of bot ${r.botId} by ${r.deadline}`, blocks };
}
