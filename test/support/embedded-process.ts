/**
 * `elevate start` as a user runs it: its own process on the example policy, with nothing outside
 * configured (no Temporal, LDAP, database, identity provider or Slack of the caller's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface EmbeddedProcess {
  proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  exited: Promise<number | null>;
}

/** Variables of the caller's environment that would point `elevate start` elsewhere. */
const OUTSIDE = [
  'TEMPORAL_ADDRESS',
  'LDAP_URL',
  'DATABASE_URL',
  'ELEVATE_CONFIG',
  'ELEVATE_DEMO_BOT_KEY',
  'ELEVATE_DEMO_BOT_KEY_HASH',
  'ELEVATE_ADMIN_TOKEN',
  'OIDC_ISSUER',
  'SLACK_BOT_TOKEN',
  'NODE_ENV',
];

/** Start `elevate start` with its data in `dataDir`, the API on `port`, and `env` on top. */
export function startEmbeddedProcess(
  dataDir: string,
  port: number,
  env: NodeJS.ProcessEnv = {},
): EmbeddedProcess {
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    ELEVATE_DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'info',
  };
  for (const name of OUTSIDE) delete base[name];
  const proc = spawn(process.execPath, ['--import', 'tsx', path.resolve('bin/elevate.ts'), 'start'], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  proc.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return { proc, output: () => text, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
}
