/**
 * Slack's requests to Elevate: served by Bolt, and registered by it (`server/slack-app.ts`), not
 * by `http/routes.ts`. Bolt's receiver verifies the signature over the raw body before anything
 * may read it, and then parses the body itself, so a form reader and schema ahead of it would
 * break the very check that authenticates the request.
 */
import { z } from 'zod';
import { slackAcknowledgementSchema } from '../../response-schemas.js';
import { slackInteractionFormSchema } from '../request-docs.js';
import type { ApiRoute } from '../route-spec.js';

export const SLACK_ROUTES: readonly ApiRoute[] = [
  {
    method: 'post',
    path: '/slack/events',
    operationId: 'receiveSlackInteraction',
    tag: 'slack',
    summary: 'Slack’s interactivity request URL',
    description:
      'Served in Slack HTTP mode only. Bolt verifies the v0 signature over the raw body and refuses requests older than five minutes; each refusal is audited as `auth.refused`. A validly signed interaction seen before is acknowledged and ignored.',
    security: 'slack',
    headers: {
      'x-slack-request-timestamp': {
        schema: z.string().regex(/^[0-9]+$/),
        required: true,
        description: 'When Slack sent the request (Unix seconds); at most five minutes old.',
      },
    },
    body: {
      schema: slackInteractionFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
    },
    responses: {
      200: {
        description:
          'Acknowledged: an empty body, or, for a deny submission that was refused, the errors to show in the modal; for Slack’s URL verification, its challenge.',
        json: slackAcknowledgementSchema,
      },
      400: { description: 'The body could not be read.' },
      401: {
        description: 'A signature header missing, a timestamp too old, or a signature that does not match.',
      },
      413: { description: 'The body is too large.' },
      415: { description: 'A compressed body (`content-encoding` other than identity).' },
    },
  },
];
