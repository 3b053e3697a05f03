// @ts-check
/**
 * The action's post step (`post-if: always()`): give back the elevation the main step
 * requested, whether the job succeeded or failed, or withdraw it if it was never granted.
 */
import { ElevateApiError, ElevateClient } from './lib/elevate.js';
import { fail, getState, info, input, oidcTokenSource, STATE_ELEVATION_ID, warning } from './lib/runner.js';

/** How long to wait for the revocation to be confirmed before leaving it to Elevate. */
const CONFIRM_SECONDS = 30;

async function post() {
  const id = getState(STATE_ELEVATION_ID);
  if (!id) {
    info('No elevation was requested: nothing to give back.');
    return;
  }
  const url = input('url', { required: true });
  const elevate = new ElevateClient(url, oidcTokenSource(input('audience') || url));
  const env = process.env;
  const reason = `job ${env.GITHUB_JOB ?? '?'} of ${env.GITHUB_REPOSITORY ?? '?'} run ${env.GITHUB_RUN_ID ?? '?'} ended`;
  try {
    await elevate.giveBack(id, reason);
  } catch (e) {
    if (e instanceof ElevateApiError && e.code === 'already_ended') {
      info(`Elevation ${id} had already ended: nothing to give back.`);
      return;
    }
    throw e;
  }
  const view = await elevate.waitUntilRevoked(id, CONFIRM_SECONDS);
  if (view.status === 'revoked') info(`Gave back elevation ${id}: revoked (${view.endReason ?? '?'}).`);
  else warning(`Elevation ${id} is still ${view.status}: Elevate keeps revoking it.`);
}

post().catch((/** @type {unknown} */ e) =>
  fail(`could not give the elevation back: ${e instanceof Error ? e.message : String(e)}`),
);
