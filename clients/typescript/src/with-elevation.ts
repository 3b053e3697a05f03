/**
 * Request → wait until active → (take AWS credentials) → use → give back, as one call: the
 * elevation is given back when `fn` returns, when it throws, and when waiting fails or is
 * aborted (a pending request is withdrawn), so a bot never keeps a role longer than its work.
 */
import type { ElevateClient, WaitOptions } from './client.js';
import { ElevateApiError } from './errors.js';
import { elevationEnv, type ElevationEnv } from './env.js';
import type { AwsCredentials, BotElevation, ElevationRequest } from './generated.js';

/** Options of {@link withElevation}. */
export interface WithElevationOptions {
  /** How long to wait for approval and the grant (default 15 minutes). */
  timeoutMs?: number;
  /** Called with each status seen while waiting (`pending_approval`, `approved`, `active`). */
  onProgress?: WaitOptions['onProgress'];
  /**
   * `auto` (default): once active, take the AWS credentials if the role is in AWS credentials
   * mode (Elevate answers `not_credentials_mode` otherwise, and records that it did). `none`:
   * do not ask (the caller takes them itself, or the role grants in a target).
   */
  credentials?: 'auto' | 'none';
  /** The reason recorded when the elevation is given back (default none). */
  giveBackReason?: string;
  /** Stops waiting (the request is withdrawn); `fn` should watch it too. */
  signal?: AbortSignal;
}

/** The active elevation handed to `fn`, with its AWS credentials in credentials mode. */
export interface ActiveElevation extends BotElevation {
  credentials?: AwsCredentials;
}

/**
 * Run `fn` while holding the role `request` asks for, and give it back afterwards.
 *
 * @returns what `fn` returns
 * @throws what `fn` throws (after the give-back), or the typed errors of the request, the wait
 *   and the give-back ({@link ElevationRefusedError}, {@link ElevationDeniedError}, …)
 */
export async function withElevation<T>(
  client: ElevateClient,
  request: ElevationRequest,
  fn: (elevation: ActiveElevation, env: ElevationEnv) => Promise<T> | T,
  options: WithElevationOptions = {},
): Promise<T> {
  const signal = options.signal ? { signal: options.signal } : {};
  // Not aborted by the signal: once Elevate has the request, it must be withdrawn, and only the
  // answer says which elevation to withdraw.
  const requested = await client.request(request);
  let result: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    const active = await client.wait(requested.id, {
      until: ['active'],
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...signal,
    });
    const credentials = options.credentials === 'none' ? undefined : await credentialsOf(client, active.id);
    const elevation: ActiveElevation = credentials ? { ...active, credentials } : active;
    result = { ok: true, value: await fn(elevation, elevationEnv(active, credentials)) };
  } catch (error) {
    result = { ok: false, error };
  }
  // Given back whatever happened, even when aborted: the signal stops waiting, not the give-back.
  const given = await client
    .giveBack(requested.id, options.giveBackReason !== undefined ? { reason: options.giveBackReason } : {})
    .then(
      () => undefined,
      (error: unknown) => (alreadyEnded(error) ? undefined : (error as Error)),
    );
  if (!result.ok) throw result.error;
  if (given !== undefined) throw given;
  return result.value;
}

/** The elevation's AWS credentials, or undefined when its role is not in credentials mode. */
async function credentialsOf(client: ElevateClient, id: string): Promise<AwsCredentials | undefined> {
  try {
    return await client.takeCredentials(id);
  } catch (err) {
    if (err instanceof ElevateApiError && err.code === 'not_credentials_mode') return undefined;
    throw err;
  }
}

/** A denied, expired or failed elevation cannot be given back, and needs not be. */
function alreadyEnded(error: unknown): boolean {
  return error instanceof ElevateApiError && error.code === 'already_ended';
}
