/**
 * The pieces an end-to-end test over HTTP puts around a test stack: the API served on a free
 * loopback port, and the worker telling approvers through the Slack stand-in.
 */
import type { Server } from 'node:http';
import type { SlackStub } from '../../dev/slack-api-stub.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { SlackNotifier } from '../../integrations/slack/slack-notifier.js';
import { createApp } from '../../server/app.js';
import { testLogger, type Stack, type StackOptions } from './stack.js';

/** The API of `stack` on 127.0.0.1: its base URL, and how to stop it. */
export async function serveApi(stack: Stack): Promise<{ base: string; close: () => void }> {
  const app = createApp({ services: stack.services, healthChecks: {}, logger: testLogger() });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { base: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** A stack's `notifier` posting approval requests to `channel` through the Slack stand-in. */
export function slackNotifierOn(slack: SlackStub, channel: string): NonNullable<StackOptions['notifier']> {
  return ({ stores, directory, logger }) =>
    new SlackNotifier({
      slack: new SlackClient({ token: slack.token, apiUrl: slack.url, logger }),
      singleUse: stores.singleUse,
      elevations: stores.elevations,
      directory,
      channel,
      logger,
    });
}
