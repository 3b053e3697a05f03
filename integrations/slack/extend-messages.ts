/**
 * What an extension says in Slack: the line in the approval message's thread (who extended the
 * elevation, by how much, why, and its new end) and, through `renderOwnerNotice`, the same line
 * to the bot's owner. Pure, like `messages.ts`; everything the requester controls is escaped.
 */
import type { ExtensionNote } from '../../core/model/extend.js';
import { code, escapeMrkdwn, formatDuration, formatTime, oneLine, truncate } from './block-kit.js';
import type { ApprovalRequestDetails } from './messages.js';

/** The longest justification quoted in the thread line (the audit trail keeps all of it). */
const MAX_JUSTIFICATION = 300;

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
