/**
 * What `POST /slack/events` checks before Bolt reads a byte of the body: Slack's signature
 * can only be verified over the whole body, so an unauthenticated client could otherwise make
 * the API buffer as much as it liked (Bolt reads up to 4 MB by default) before being refused.
 *
 * - No `X-Slack-Signature` / `X-Slack-Request-Timestamp`, or a timestamp more than five minutes
 *   from now (in the past: a replay; in the future: a request signed ahead of time), answers 401
 *   at once, without reading the body.
 * - A declared `Content-Length` over {@link SLACK_BODY_LIMIT_BYTES} answers 413 at once; a body
 *   that grows past it while streaming answers 413 when it does.
 * - Otherwise the body is read (at most the limit; a compressed one is refused, 415) and
 *   handed to Bolt as `req.rawBody`, which it verifies and parses.
 *
 * Refusals close the connection, so the rest of a large body is neither read nor waited for.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * The largest body accepted: Slack's interaction payloads (a button click carries the message
 * it is on, URL-encoded) stay well under it.
 */
export const SLACK_BODY_LIMIT_BYTES = 256 * 1024;

/** How far a request's timestamp may be from now, either way (Slack's and Bolt's five minutes). */
export const SLACK_TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

/** Why a request's signature headers are refused before its body is read. */
export type SlackHeaderRefusal =
  'slack_signature_missing' | 'slack_timestamp_too_old' | 'slack_timestamp_in_future';

/**
 * Whether the signature headers can be checked at all: both present and a timestamp within
 * {@link SLACK_TIMESTAMP_TOLERANCE_SECONDS} of now. `undefined` when the HMAC must decide.
 */
export function headerRefusal(
  req: Pick<Request, 'get'>,
  nowSeconds = Math.floor(Date.now() / 1000),
): SlackHeaderRefusal | undefined {
  const signature = req.get('x-slack-signature');
  const timestamp = req.get('x-slack-request-timestamp');
  if (!signature || !timestamp) return 'slack_signature_missing';
  const ts = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || ts < nowSeconds - SLACK_TIMESTAMP_TOLERANCE_SECONDS) {
    return 'slack_timestamp_too_old';
  }
  if (ts > nowSeconds + SLACK_TIMESTAMP_TOLERANCE_SECONDS) return 'slack_timestamp_in_future';
  return undefined;
}

/** Answer now and close the connection: the unread rest of the body is dropped with it. */
function refuse(res: Response, status: number, code: string, message: string, field: string): void {
  res.set('connection', 'close');
  res.status(status).json({ error: { code, message, field } });
}

const HEADER_MESSAGES: Record<SlackHeaderRefusal, string> = {
  slack_signature_missing: 'the Slack request signature headers are missing',
  slack_timestamp_too_old: 'the Slack request timestamp is more than five minutes old',
  slack_timestamp_in_future: 'the Slack request timestamp is more than five minutes ahead',
};

const TOO_LARGE = `the body must be at most ${SLACK_BODY_LIMIT_BYTES / 1024} KiB`;

/**
 * Reads a request body of at most `limit` bytes. Past the limit it stops reading at once
 * (unlike body-parser, which reads the rest to the end before answering) and resolves
 * `undefined`; the caller answers and closes the connection.
 */
function readLimited(req: Request, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanUp = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanUp();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanUp();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanUp();
      reject(err);
    };
    const onClose = () => {
      cleanUp();
      reject(new Error('the client closed the request'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The middleware in front of Bolt's receiver (see the module comment). */
export function slackRequestGate(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const refusal = headerRefusal(req);
    if (refusal) {
      const field = refusal === 'slack_signature_missing' ? 'x-slack-signature' : 'x-slack-request-timestamp';
      refuse(res, 401, 'unauthenticated', HEADER_MESSAGES[refusal], field);
      return;
    }
    if (req.get('content-encoding') && req.get('content-encoding') !== 'identity') {
      refuse(res, 415, 'unsupported_media_type', 'the body must not be compressed', 'content-encoding');
      return;
    }
    if (Number(req.get('content-length') ?? 0) > SLACK_BODY_LIMIT_BYTES) {
      refuse(res, 413, 'payload_too_large', TOO_LARGE, 'body');
      return;
    }
    readLimited(req, SLACK_BODY_LIMIT_BYTES).then(
      (body) => {
        if (!body) {
          refuse(res, 413, 'payload_too_large', TOO_LARGE, 'body');
          return;
        }
        // Bolt verifies and parses a pre-read raw body instead of reading the stream itself.
        (req as Request & { rawBody?: Buffer }).rawBody = body;
        next();
      },
      () => {
        // The client went away or the connection broke: there is nobody to answer.
        req.socket.destroy();
      },
    );
  };
}
