/**
 * `@elevate/client`: a bot's client of Elevate, the just-in-time privilege elevation service.
 *
 * ```ts
 * import { ElevateClient, withElevation } from '@elevate/client';
 *
 * const client = new ElevateClient({ baseUrl: process.env.ELEVATE_URL!, token: process.env.ELEVATE_TOKEN! });
 * await withElevation(client, { role: 'db-write', durationSeconds: 900, justification: 'nightly load' }, async (elevation) => {
 *   // the role is held here, and given back afterwards
 * });
 * ```
 */
export { ElevateClient, FINAL_STATUSES, newRequestId } from './client.js';
export type { ElevateClientOptions, WaitOptions } from './client.js';
export { withElevation } from './with-elevation.js';
export type { ActiveElevation, WithElevationOptions } from './with-elevation.js';
export { elevationEnv } from './env.js';
export type { ElevationEnv } from './env.js';
export {
  EXIT_CODES,
  ElevateError,
  ElevateApiError,
  ElevationRefusedError,
  ElevateUnreachableError,
  ElevationEndedError,
  ElevationDeniedError,
  ElevationExpiredError,
  ElevationFailedError,
  ElevationWaitTimeoutError,
  endedError,
} from './errors.js';
export type { ElevateErrorKind } from './errors.js';
export * from './generated.js';
