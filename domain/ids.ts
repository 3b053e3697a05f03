/**
 * Elevation ids: `el_` and 24 lowercase hex digits (96 bits). With a bot's `requestId` the id
 * is derived from (bot, requestId), so a retried request maps to the same workflow id and
 * Temporal itself refuses a second workflow.
 */
import { createHash, randomBytes } from 'node:crypto';

export const ELEVATION_ID_PATTERN = /^el_[0-9a-f]{24}$/;

export function newElevationId(): string {
  return `el_${randomBytes(12).toString('hex')}`;
}

export function elevationIdForRequest(botId: string, requestId: string): string {
  const digest = createHash('sha256')
    .update(`elevate/request/v1\n${botId}\n${requestId}`, 'utf8')
    .digest('hex');
  return `el_${digest.slice(0, 24)}`;
}
