// @ts-check
/**
 * The GitHub Actions runner's side of the action, without `@actions/core` (the action ships
 * with no dependencies and no build step): inputs, workflow commands, the environment, output
 * and state files, and the job's OIDC token.
 */
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { EOL } from 'node:os';

/** The state in which the main step leaves the elevation's id for the post step. */
export const STATE_ELEVATION_ID = 'elevation_id';

/**
 * An input of the step, as the runner passes it (`INPUT_<NAME>`; hyphens stay), trimmed.
 * @param {string} name
 * @param {{ required?: boolean }} [options]
 * @returns {string}
 */
export function input(name, options = {}) {
  const value = (process.env[`INPUT_${name.replaceAll(' ', '_').toUpperCase()}`] ?? '').trim();
  if (options.required && !value) throw new Error(`input required and not supplied: ${name}`);
  return value;
}

/**
 * Workflow command data: `%`, CR and LF escaped so that the value stays one command.
 * @param {string} value
 */
function escapeData(value) {
  return value.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** @param {string} message */
export function info(message) {
  process.stdout.write(`${message}${EOL}`);
}

/** @param {string} message */
export function warning(message) {
  process.stdout.write(`::warning::${escapeData(message)}${EOL}`);
}

/**
 * Report the step as failed with `message` (the process exits 1 when it ends).
 * @param {string} message
 */
export function fail(message) {
  process.stdout.write(`::error::${escapeData(message)}${EOL}`);
  process.exitCode = 1;
}

/**
 * Have the runner replace `secret` with `***` in every log line from now on. Called before
 * anything could print it.
 * @param {string} secret
 */
export function mask(secret) {
  if (secret) process.stdout.write(`::add-mask::${escapeData(secret)}${EOL}`);
}

/**
 * Append `name=value` to one of the runner's file commands (`GITHUB_ENV`, `GITHUB_OUTPUT`,
 * `GITHUB_STATE`), in the delimited form, so that no value can add lines of its own.
 * @param {'GITHUB_ENV' | 'GITHUB_OUTPUT' | 'GITHUB_STATE'} file
 * @param {string} name
 * @param {string} value
 */
function fileCommand(file, name, value) {
  const path = process.env[file];
  if (!path) throw new Error(`${file} is not set: this must run as a step of a GitHub Actions job`);
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter) || value.includes(delimiter))
    throw new Error(`unexpected delimiter in ${name}`);
  appendFileSync(path, `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`, 'utf8');
}

/**
 * An environment variable for the job's later steps (and for this process).
 * @param {string} name
 * @param {string} value
 */
export function exportVariable(name, value) {
  process.env[name] = value;
  fileCommand('GITHUB_ENV', name, value);
}

/**
 * An output of the step (`steps.<id>.outputs.<name>`).
 * @param {string} name
 * @param {string} value
 */
export function setOutput(name, value) {
  fileCommand('GITHUB_OUTPUT', name, value);
}

/**
 * A value the post step reads back with {@link getState}.
 * @param {string} name
 * @param {string} value
 */
export function saveState(name, value) {
  fileCommand('GITHUB_STATE', name, value);
}

/**
 * A value the main step saved with {@link saveState} (the runner passes it as `STATE_<name>`).
 * @param {string} name
 */
export function getState(name) {
  return process.env[`STATE_${name}`] ?? '';
}

/**
 * A source of the job's OIDC token for `audience`, from the runner's token endpoint
 * (`ACTIONS_ID_TOKEN_REQUEST_URL`, with `ACTIONS_ID_TOKEN_REQUEST_TOKEN` as the bearer). A token
 * is fetched when first needed and again a minute before it expires, so a long wait for
 * approvers never sends an expired one. Each token is masked before it is used.
 * @param {string} audience
 * @returns {() => Promise<string>}
 */
export function oidcTokenSource(audience) {
  /** @type {{ value: string, expiresAt: number } | undefined} */
  let current;
  return async () => {
    if (current && current.expiresAt - Date.now() > 60_000) return current.value;
    const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const bearer = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!url || !bearer) {
      throw new Error(
        'the job has no OIDC token to offer: give it `permissions: id-token: write` (docs/bots.md)',
      );
    }
    const target = new URL(url);
    target.searchParams.set('audience', audience);
    const res = await fetch(target, {
      headers: { authorization: `bearer ${bearer}`, accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`GitHub's OIDC token endpoint answered ${res.status}`);
    const body = /** @type {{ value?: unknown }} */ (await res.json());
    if (typeof body.value !== 'string' || !body.value)
      throw new Error("GitHub's OIDC token endpoint sent no token");
    mask(body.value);
    current = { value: body.value, expiresAt: expiryOf(body.value) };
    return body.value;
  };
}

/**
 * When a JWT expires (ms since the epoch), from its unverified `exp`; now when it has none, so
 * that it is not reused.
 * @param {string} jwt
 */
function expiryOf(jwt) {
  try {
    const payload = /** @type {{ exp?: unknown }} */ (
      JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'))
    );
    return typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now();
  } catch {
    return Date.now();
  }
}
