/**
 * What an extension says in Slack: the line in the approval message's thread (who extended the
 * elevation, by how much, why, and its new end) and, through `renderOwnerNotice`, the same line
 * to the bot's owner. Pure, like `messages.ts`; everything the requester controls is escaped.
 *
 * An extension that needs approvers (`roles[].extend.approval: same-as-request`) is asked for in
 * the approval message's thread, with its own Approve extension / Deny extension buttons: their
 * `value` names the elevation and the extension's number (`<elevation id>:<number>`), so a click
 * can only ever count for the extension it was shown for. Its approvals, and how it closed, are
 * replies in the same thread.
 */
import type { ActionsBlock, Block, KnownBlock, View } from '@slack/types';
import type { Actor } from '../../core/model/elevation.js';
import type { ClosedExtensionNote, ExtensionNote, PendingExtension } from '../../core/model/extend.js';
import {
  LIMITS,
  code,
  context,
  escapeMrkdwn,
  fieldsSection,
  formatDuration,
  formatTime,
  oneLine,
  quote,
  section,
  truncate,
} from './block-kit.js';
import {
  DENY_REASON_ACTION,
  DENY_REASON_BLOCK,
  DENY_REASON_MAX_LENGTH,
  verifyButton,
  type ApprovalRequestDetails,
} from './messages.js';
import type { SlackContent } from './slack-client.js';

/** The longest justification quoted in the thread line (the audit trail keeps all of it). */
const MAX_JUSTIFICATION = 300;

/** `action_id` of the Approve extension button; its `value` is {@link extensionButtonValue}. */
export const APPROVE_EXTENSION_ACTION = 'elevate_approve_extension';
/** `action_id` of the Deny extension button; its `value` is {@link extensionButtonValue}. */
export const DENY_EXTENSION_ACTION = 'elevate_deny_extension';
/**
 * `callback_id` of the modal asking why an extension is denied; its `private_metadata` is
 * {@link extensionButtonValue}, its reason input the deny modal's (`reason`/`reason`).
 */
export const DENY_EXTENSION_CALLBACK = 'elevate_deny_extension_reason';
/** `block_id` of an extension request's buttons. */
export const EXTENSION_ACTIONS_BLOCK_ID = 'elevate_extension_actions';

/** What a button, or a modal's metadata, carries for extension `extension` of an elevation. */
export function extensionButtonValue(elevationId: string, extension: number): string {
  return `${elevationId}:${extension}`;
}

/**
 * The elevation id and extension number in a button's value or a modal's metadata, or undefined
 * when it is not one {@link extensionButtonValue} makes. The id is not checked here: the caller
 * checks it as it checks every elevation id.
 */
export function parseExtensionButtonValue(
  value: unknown,
): { elevationId: string; extension: number } | undefined {
  if (typeof value !== 'string' || value.length > LIMITS.buttonValue) return undefined;
  const match = /^([^:]+):([1-9][0-9]{0,8})$/.exec(value);
  if (!match) return undefined;
  return { elevationId: match[1]!, extension: Number(match[2]) };
}

/**
 * The thread line of an extension: the role's new end, how far it was extended and how often,
 * and, when the workflow passed them on (`note`), who asked and why.
 */
export function renderExtensionReply(d: ApprovalRequestDetails, note?: ExtensionNote): string {
  const v = d.elevation;
  const by = note ? ` by ${note.by.kind} ${code(note.by.id)}` : '';
  const amount = note ? ` by ${formatDuration(note.durationSeconds)}` : '';
  const count = v.extensions ?? 0;
  const total = v.extendedSeconds ? `, ${formatDuration(v.extendedSeconds)} in all` : '';
  const why = note?.justification
    ? `: “${escapeMrkdwn(truncate(oneLine(note.justification), MAX_JUSTIFICATION))}”`
    : '';
  const ends = v.expiresAt ? `; it now expires ${formatTime(v.expiresAt)}` : '';
  return `:hourglass_flowing_sand: ${code(d.role.id)} extended${amount}${by}${why} (extension ${count}${total})${ends}.`;
}

/**
 * The reply asking the approvers to decide on extension `pending` (`extension.requested`): who
 * asks, for how long, why, the new end, until when they can decide and the quorum, with the
 * Approve extension and Deny extension buttons.
 */
export function renderExtensionRequest(d: ApprovalRequestDetails, pending: PendingExtension): SlackContent {
  const v = d.elevation;
  const n = pending.number;
  const value = truncate(extensionButtonValue(v.id, n), LIMITS.buttonValue);
  const newEnd = newEndOf(v.expiresAt, pending.durationSeconds);
  const blocks: (KnownBlock | Block)[] = [
    section(
      `:hourglass_flowing_sand: *Extension ${n} waits for your decision*: ${actorWords(pending.requestedBy)} asks to keep ` +
        `${code(d.role.id)} for ${code(d.bot.id)} ${formatDuration(pending.durationSeconds)} longer.`,
    ),
    fieldsSection([
      `*Asked by*\n${actorWords(pending.requestedBy)}`,
      `*Extend by*\n${formatDuration(pending.durationSeconds)}`,
      `*Now ends*\n${v.expiresAt ? formatTime(v.expiresAt) : '—'}`,
      `*Would end*\n${newEnd ? formatTime(newEnd) : '—'}`,
      `*Decide by*\n${formatTime(pending.deadline)}`,
      `*Needs*\n${quorumWords(pending)}`,
    ]),
    section(
      `*Justification*\n${
        pending.justification ? quote(pending.justification, LIMITS.sectionText - 20) : '_None given._'
      }`,
    ),
  ];
  const actions: ActionsBlock = {
    type: 'actions',
    block_id: EXTENSION_ACTIONS_BLOCK_ID,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_EXTENSION_ACTION,
        text: { type: 'plain_text', text: 'Approve extension', emoji: true },
        style: 'primary',
        value,
      },
      {
        type: 'button',
        action_id: DENY_EXTENSION_ACTION,
        text: { type: 'plain_text', text: 'Deny extension', emoji: true },
        style: 'danger',
        value,
      },
    ],
  };
  blocks.push(
    actions,
    context(
      'Approving needs a fresh MFA login, as for the request; approvals of the request do not count for ' +
        `the extension. Without ${pending.quorum === 1 ? 'an approval' : 'enough approvals'} by the deadline ` +
        'the elevation ends when it was due to.',
    ),
  );
  return {
    text: truncate(
      `Extension ${n} of ${escapeMrkdwn(oneLine(d.role.id))} for ${escapeMrkdwn(oneLine(d.bot.id))}: ` +
        `${formatDuration(pending.durationSeconds)} more, waiting for approval`,
      LIMITS.fallbackText,
    ),
    blocks,
  };
}

/** The thread line of an approval of extension `pending` (`approval.accepted`), with the progress. */
export function renderExtensionApprovalReply(pending: PendingExtension): string {
  const latest = pending.approvals[pending.approvals.length - 1];
  const progress = `(${pending.approvals.length} of ${pending.quorum})`;
  if (!latest)
    return `:ballot_box_with_check: Extension ${pending.number}: an approval was accepted ${progress}.`;
  return oneLine(
    `:ballot_box_with_check: Extension ${pending.number} approved by ${escapeMrkdwn(truncate(latest.approver, 200))} ` +
      `${progress} at ${formatTime(latest.at)}.`,
  );
}

/**
 * The thread line of an extension that closed without moving the window (`extension.closed`):
 * denied (by whom, why), expired without its quorum, or failed (why). Without the workflow's
 * note only that it closed is known.
 */
export function renderExtensionClosedReply(d: ApprovalRequestDetails, closed?: ClosedExtensionNote): string {
  const v = d.elevation;
  const stays = v.expiresAt ? `; ${code(d.role.id)} still ends ${formatTime(v.expiresAt)}` : '';
  if (!closed) return `:heavy_minus_sign: The extension asked for was not made${stays}.`;
  const n = closed.number;
  const reason = closed.reason
    ? `: ${escapeMrkdwn(truncate(oneLine(closed.reason), MAX_JUSTIFICATION))}`
    : '';
  switch (closed.outcome) {
    case 'denied':
      return `:no_entry: Extension ${n} denied by ${escapeMrkdwn(truncate(oneLine(closed.by.id), 200))}${reason}${stays}.`;
    case 'expired': {
      const had = `${closed.approvals} approval${closed.approvals === 1 ? '' : 's'}`;
      return `:hourglass: Extension ${n} expired without its quorum (${had})${stays}.`;
    }
    case 'failed':
      return `:warning: Extension ${n} was approved but could not be put in force${reason}${stays}.`;
  }
}

/**
 * The modal an approver sees after clicking Approve extension: like the request's, approving
 * needs a fresh MFA login, which the "Verify with MFA" button starts, and is confirmed on the page
 * that follows it. It says which extension, so nobody takes it for the request.
 */
export function renderExtensionApproveModal(
  elevationId: string,
  extension: number,
  loginUrl: string,
  pending?: PendingExtension,
): View {
  const blocks: (KnownBlock | Block)[] = [
    section(
      `:closed_lock_with_key: You are approving *extension ${extension}* of elevation ${code(elevationId)}` +
        `${pending ? `: ${formatDuration(pending.durationSeconds)} more` : ''}, not a new request. ` +
        'Approving needs a *fresh MFA login*: sign in with your identity provider using the button below, ' +
        'then confirm on the page that opens. Nothing is approved until you confirm.',
    ),
    verifyButton(loginUrl, extensionButtonValue(elevationId, extension)),
    context(`Elevation \`${escapeMrkdwn(elevationId)}\` · extension ${extension}`),
  ];
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Approve extension' },
    close: { type: 'plain_text', text: 'Close' },
    private_metadata: extensionButtonValue(elevationId, extension),
    blocks,
  };
}

/**
 * The modal asking why an extension is denied. On submit, Slack sends a `view_submission` with
 * `callback_id` {@link DENY_EXTENSION_CALLBACK}, {@link extensionButtonValue} in
 * `private_metadata` and the reason at `state.values.reason.reason.value`.
 */
export function renderExtensionDenyModal(elevationId: string, extension: number): View {
  return {
    type: 'modal',
    callback_id: DENY_EXTENSION_CALLBACK,
    private_metadata: extensionButtonValue(elevationId, extension),
    title: { type: 'plain_text', text: 'Deny extension' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `Extension ${extension} is not made: the elevation ends when it was due to. Your reason is recorded ` +
          `in the audit trail. Elevation \`${escapeMrkdwn(elevationId)}\`.`,
      ),
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        optional: false,
        label: { type: 'plain_text', text: 'Reason' },
        element: {
          type: 'plain_text_input',
          action_id: DENY_REASON_ACTION,
          multiline: true,
          max_length: DENY_REASON_MAX_LENGTH,
          placeholder: { type: 'plain_text', text: 'Why should the bot not keep the role longer?' },
        },
      },
    ],
  };
}

/** `bot \`ci-bot\`` or `admin \`ops@…\``: who asked, escaped. */
function actorWords(actor: Actor): string {
  return `${actor.kind} ${code(actor.id)}`;
}

/** `2 approvals (security 1 of 1, sre 0 of 1)`: the extension's quorum and each group's progress. */
function quorumWords(pending: PendingExtension): string {
  const n = pending.quorum;
  const groups =
    pending.groups.length > 1
      ? ` (${pending.groups.map((g) => `${escapeMrkdwn(truncate(g.name, 100))} ${g.approved} of ${g.quorum}`).join(', ')})`
      : '';
  return `${n} approval${n === 1 ? '' : 's'}${groups}`;
}

/** The window's end were the extension made, or undefined without a current end. */
function newEndOf(expiresAt: string | undefined, seconds: number): string | undefined {
  const ms = expiresAt ? Date.parse(expiresAt) : NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms + seconds * 1000).toISOString();
}
