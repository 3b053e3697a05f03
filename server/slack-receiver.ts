/**
 * Bolt's Express receiver, with answers of its own where Bolt's would be wrong for Elevate:
 *
 * - A validly signed request that no listener acknowledges (an action, view or shortcut Elevate
 *   has no listener for, such as a button of a message an older version posted, or a body that
 *   is no interaction at all) is acknowledged with an empty 200 once Bolt has run every
 *   listener. Bolt would wait out Slack's three seconds, then answer 404 and log an error; Slack
 *   shows the user a warning either way, and there is nothing left to wait for.
 * - A validly signed body Bolt cannot process (`payload=null`, an `event` that is no object, a
 *   `channel` of null) is answered 400, as a body that cannot be read is. Bolt would answer 500,
 *   which Slack retries. Only Bolt's own reading of the body throws to here: what a listener or
 *   middleware throws goes to the app's error handler instead.
 */
import { ExpressReceiver, HTTPModuleFunctions, type ExpressReceiverOptions } from '@slack/bolt';
import type { Request, Response } from 'express';

export class AcknowledgingReceiver extends ExpressReceiver {
  constructor(options: ExpressReceiverOptions) {
    super({
      // Bolt's own answer after three seconds, unless the request has been answered meanwhile.
      unhandledRequestHandler: (args) => {
        if (!args.response.headersSent) HTTPModuleFunctions.defaultUnhandledRequestHandler(args);
      },
      processEventErrorHandler: ({ error, logger, response }) => {
        logger.warn(`a signed Slack request could not be processed: ${error.message}`);
        if (response.headersSent) return Promise.resolve(false);
        response.writeHead(400);
        response.end();
        return Promise.resolve(true);
      },
      ...options,
    });
  }

  /** Bolt's handling, then an acknowledgement if no listener gave one. */
  override async requestHandler(req: Request, res: Response): Promise<void> {
    await super.requestHandler(req, res);
    if (!res.headersSent) res.status(200).end();
  }
}
