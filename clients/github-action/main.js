// @ts-check
/**
 * The action's main step: request the role with the job's OIDC token, wait until it is active,
 * and export what the grant gives. The elevation's id is saved for the post step as soon as it
 * is known, so that the post step gives it back (or withdraws it) however this step ends.
 */
import { ElevateClient, parseDuration } from './lib/elevate.js';
import {
  exportVariable,
  fail,
  info,
  input,
  mask,
  oidcTokenSource,
  saveState,
  setOutput,
  STATE_ELEVATION_ID,
} from './lib/runner.js';

/**
 * An idempotency key unique to this step of this attempt of this run: a retried request
 * returns the same elevation, a re-run of the job asks again.
 */
function requestId() {
  const env = process.env;
  const parts = ['gh', env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT, env.GITHUB_JOB, env.GITHUB_ACTION];
  return parts
    .map((p) => (p ?? '').replace(/[^A-Za-z0-9._-]/g, '-'))
    .join(':')
    .slice(0, 128);
}

function defaultJustification() {
  const env = process.env;
  return `GitHub Actions: ${env.GITHUB_REPOSITORY ?? 'a repository'}, workflow ${env.GITHUB_WORKFLOW ?? '?'}, run ${env.GITHUB_RUN_ID ?? '?'}`;
}

/** @param {import('./lib/elevate.js').Elevation} view */
function progress(view) {
  if (view.status === 'pending_approval' && view.approval.mode === 'approvers') {
    info(
      `Waiting for approval: ${view.approvals.length} of ${view.approval.quorum} (until ${view.approval.deadline})`,
    );
  } else info(`Elevation ${view.id}: ${view.status}`);
}

async function main() {
  const url = input('url', { required: true });
  const role = input('role', { required: true });
  const durationSeconds = parseDuration(input('duration') || '15m', 'duration');
  const waitSeconds = parseDuration(input('wait-timeout') || '10m', 'wait-timeout');
  const ticket = input('ticket');
  const elevate = new ElevateClient(url, oidcTokenSource(input('audience') || url));

  const requested = await elevate.request({
    role,
    durationSeconds,
    justification: input('justification') || defaultJustification(),
    ...(ticket ? { ticket } : {}),
    requestId: requestId(),
  });
  saveState(STATE_ELEVATION_ID, requested.id);
  info(`Requested ${role} for ${durationSeconds} s: elevation ${requested.id}, ${requested.status}`);

  const active = await elevate.waitUntilActive(requested.id, waitSeconds, progress);
  setOutput('elevation-id', active.id);
  exportVariable('ELEVATE_ELEVATION_ID', active.id);
  if (active.expiresAt) setOutput('expires-at', active.expiresAt);

  const credentials = await elevate.takeCredentials(active.id);
  if (credentials) {
    for (const secret of [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken]) {
      mask(secret);
    }
    exportVariable('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    exportVariable('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    exportVariable('AWS_SESSION_TOKEN', credentials.sessionToken);
    info(`AWS credentials exported (AWS_ACCESS_KEY_ID…), valid until ${credentials.expiration}`);
  }
  info(`${role} is active until ${active.expiresAt ?? '?'}; it is given back when the job ends.`);
}

main().catch((/** @type {unknown} */ e) => fail(e instanceof Error ? e.message : String(e)));
