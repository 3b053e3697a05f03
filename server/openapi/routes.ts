import type { ApiRoute } from './route-spec.js';
import { ADMIN_ROUTES } from './routes/admins.js';
import { APPROVAL_ROUTES } from './routes/approvals.js';
import { ATTESTATION_ROUTES } from './routes/attestations.js';
import { APPROVER_QUEUE_ROUTES } from './routes/approver-queue.js';
import { BOT_ROUTES } from './routes/bots.js';
import { BREAK_GLASS_ROUTES } from './routes/break-glass.js';
import { CONSOLE_ROUTES } from './routes/console.js';
import { OPERATION_ROUTES } from './routes/operations.js';
import { SLACK_ROUTES } from './routes/slack.js';

/** Every route the API serves, in the order the reference shows them. */
export const API_ROUTES: readonly ApiRoute[] = [
  ...BOT_ROUTES,
  ...ADMIN_ROUTES,
  ...APPROVER_QUEUE_ROUTES,
  ...APPROVAL_ROUTES,
  ...ATTESTATION_ROUTES,
  ...BREAK_GLASS_ROUTES,
  ...SLACK_ROUTES,
  ...CONSOLE_ROUTES,
  ...OPERATION_ROUTES,
];
