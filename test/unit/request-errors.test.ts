/**
 * What the error handler answers for the errors of Express and its body parsers: every one of
 * them is the caller's doing, so a 4xx naming what was wrong; only an unknown error is a 500.
 */
import { gunzipSync } from 'node:zlib';
import createError from 'http-errors';
import { httpStatusOf } from '../../server/http-status.js';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../domain/errors.js';
import { isClientAbort, toApiError } from '../../server/request-errors.js';

/** The error zlib throws for bytes that are not what their coding says. */
function zlibError(): Error {
  try {
    gunzipSync(Buffer.from('not gzip'));
  } catch (err) {
    return err as Error;
  }
  throw new Error('gunzip accepted garbage');
}

describe('toApiError', () => {
  it.each([
    ['entity.too.large', 413, 'payload_too_large', 'body'],
    ['entity.parse.failed', 400, 'invalid_json', 'body'],
    ['charset.unsupported', 415, 'unsupported_media_type', 'content-type'],
    ['encoding.unsupported', 415, 'unsupported_media_type', 'content-encoding'],
    ['request.aborted', 400, 'invalid_body', 'body'],
    ['request.size.invalid', 400, 'invalid_body', 'body'],
  ])('when body-parser fails with %s, then the answer is %i %s naming %s', (type, status, code, field) => {
    const error = toApiError(createError(status, 'from the parser', { type }));
    expect(error).toMatchObject({ code, field });
    expect(httpStatusOf(error)).toBe(status);
  });

  it('when the body is not valid for its gzip, deflate or brotli coding, then the answer is 400 invalid_body', () => {
    // As body-parser passes them on: the zlib error, given status 400.
    expect(toApiError(createError(400, zlibError()))).toMatchObject({ code: 'invalid_body', field: 'body' });
    const brotli = Object.assign(new Error('Decompression failed'), {
      code: 'ERR__ERROR_FORMAT_PADDING_1',
      errno: -14,
    });
    expect(toApiError(brotli)).toMatchObject({ code: 'invalid_body' });
    expect(httpStatusOf(toApiError(brotli))).toBe(400);
  });

  it('when a path parameter is not valid percent-encoding, then the answer is 400 naming the path', () => {
    const err = Object.assign(new URIError("Failed to decode param '%E0%A4%A'"), {
      status: 400,
      statusCode: 400,
    });
    expect(toApiError(err)).toMatchObject({ code: 'invalid_request', field: 'path' });
    expect(httpStatusOf(toApiError(err))).toBe(400);
  });

  it('when another error says it is the caller’s (a 4xx), then it stays a 4xx', () => {
    expect(toApiError(createError(400, 'odd'))).toMatchObject({ code: 'invalid_request' });
    expect(toApiError(createError(413, 'big'))).toMatchObject({ code: 'payload_too_large' });
  });

  it('when an error is unknown or ours, then it is a 500 that says nothing more', () => {
    for (const err of [
      new Error('boom'),
      createError(500, 'stream is not readable', { type: 'stream.not.readable' }),
      'text',
      undefined,
    ]) {
      expect(toApiError(err)).toMatchObject({ code: 'internal', message: 'internal error' });
      expect(httpStatusOf(toApiError(err))).toBe(500);
    }
  });

  it('when the error is already an ApiError, then it is answered as it is', () => {
    const own = new ApiError('not_found', 'no such thing');
    expect(toApiError(own)).toBe(own);
  });

  it('when the client aborted its body, then that is recognised (logged at info, nobody to answer)', () => {
    expect(isClientAbort(createError(400, 'request aborted', { type: 'request.aborted' }))).toBe(true);
    expect(isClientAbort(createError(400, 'bad', { type: 'entity.parse.failed' }))).toBe(false);
  });
});
