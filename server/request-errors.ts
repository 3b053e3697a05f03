/**
 * What the error handler answers for an error that is not an {@link ApiError}: those of Express
 * itself and of its body parsers (body-parser, raw-body, zlib), which describe a request the
 * server could not read. Each is the caller's doing, so each is a 4xx naming what was wrong;
 * only an error nobody recognises is ours (500).
 */
import * as zlib from 'node:zlib';
import { ApiError } from '../domain/errors.js';

/** The content codings the JSON parser inflates (body-parser 2: zstd only where Node has it). */
const CODINGS =
  'createZstdDecompress' in zlib ? 'identity, gzip, deflate, br or zstd' : 'identity, gzip, deflate or br';

/** The `type` body-parser and raw-body give their errors, when it has one. */
function typeOf(err: unknown): string | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

/** The HTTP status an error carries (`http-errors`, or one Express's router set), if any. */
function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** A zlib or brotli error: the body's `content-encoding` says compressed, the bytes are not. */
function isDecompressionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const errno = (err as { errno?: unknown } | null)?.errno;
  return (
    typeof code === 'string' &&
    (code.startsWith('Z_') ||
      code.startsWith('ERR_BROTLI') ||
      (code.startsWith('ERR__') && typeof errno === 'number'))
  );
}

/**
 * True when the client went away while sending its body: there is nobody to answer, and
 * nothing went wrong on the server (log it at info, never as a failure).
 */
export function isClientAbort(err: unknown): boolean {
  return typeOf(err) === 'request.aborted';
}

/** The {@link ApiError} to answer with for `err`. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  switch (typeOf(err)) {
    case 'entity.too.large':
      return new ApiError(
        'payload_too_large',
        'the body must be at most 16 KiB (after decompression)',
        'body',
      );
    case 'entity.parse.failed':
      return new ApiError('invalid_json', 'the body is not valid JSON', 'body');
    case 'charset.unsupported':
      return new ApiError('unsupported_media_type', 'the body must be UTF-8 JSON', 'content-type');
    case 'encoding.unsupported':
      return new ApiError(
        'unsupported_media_type',
        `content-encoding must be ${CODINGS}`,
        'content-encoding',
      );
    case 'request.aborted':
      return new ApiError('invalid_body', 'the request was aborted before its body arrived', 'body');
    case 'request.size.invalid':
      return new ApiError('invalid_body', 'the body is not as long as content-length says', 'body');
    case 'entity.verify.failed':
      return new ApiError('invalid_body', 'the body was refused', 'body');
  }
  if (isDecompressionError(err)) {
    return new ApiError('invalid_body', 'the body is not valid for its content-encoding', 'body');
  }
  const status = statusOf(err);
  if (err instanceof URIError && status === 400) {
    return new ApiError('invalid_request', 'the path is not valid percent-encoded UTF-8', 'path');
  }
  if (status === 413) return new ApiError('payload_too_large', 'the body is too large', 'body');
  if (status === 415)
    return new ApiError('unsupported_media_type', 'the body’s media type is not supported', 'content-type');
  // Any other error that says it is the caller's (a 4xx from a parser) stays a 4xx.
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError('invalid_request', 'the request could not be read', 'body');
  }
  return new ApiError('internal', 'internal error');
}
