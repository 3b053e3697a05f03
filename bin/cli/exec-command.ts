/**
 * `elevate exec --role R --for 15m [--justification …] [--ticket …] -- <command…>`: a bot's
 * one line to hold a role for exactly as long as a command runs. It requests the elevation,
 * waits (long-polling, with progress on a terminal), runs the command with what the grant gives
 * in its environment, gives the elevation back when the command exits (also on SIGINT/SIGTERM
 * and on any error; a pending request is withdrawn), and exits with the command's status.
 *
 * The bot's credential comes from the environment: `ELEVATE_TOKEN` (its API key, or a workload
 * identity token) or `ELEVATE_TOKEN_FILE` (a file read again for every call, so a platform that
 * renews the token, such as a Kubernetes projected token, is followed). The command does not
 * inherit `ELEVATE_TOKEN` (nor `ELEVATE_TOKEN_FILE`): it gets the elevation, not the means to
 * ask for more.
 *
 * When the command did not run, the exit code says why ({@link EXIT_CODES}).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { parseArgs } from 'node:util';
import {
  ElevateClient,
  ElevateError,
  EXIT_CODES,
  withElevation,
  type BotElevation,
  type ElevationEnv,
  type ElevationRequest,
} from '../../clients/typescript/src/index.js';
import { terminalSafe, truncate } from './output.js';

export { EXIT_CODES as EXEC_EXIT } from '../../clients/typescript/src/index.js';

/** `elevate exec --help`. */
export const EXEC_USAGE = `usage: elevate exec --role <role> --for <duration> [options] -- <command> [args…]

Requests the role, waits until it is granted, runs the command with the elevation in its
environment, gives the role back when the command ends, and exits with the command's status.

options:
  --role <role>            the role to request (required)
  --for <duration>         how long: 90s, 15m, 1h, 1h30m, or seconds (required)
  --justification <text>   why (default: "elevate exec: <command>")
  --ticket <ticket>        a change or incident ticket (some roles require one)
  --request-id <id>        idempotency key: a rerun with the same id gets the same elevation
  --url <url>              Elevate's API (default ELEVATE_URL, else http://127.0.0.1:8080)
  --wait-timeout <dur>     how long to wait for approval and the grant (default 15m)

environment:
  ELEVATE_URL              Elevate's API
  ELEVATE_TOKEN            the bot's API key, or a workload identity token
  ELEVATE_TOKEN_FILE       a file holding the token, read again for every call (instead of ELEVATE_TOKEN)

the command gets: ELEVATE_ELEVATION_ID, ELEVATE_ROLE, ELEVATE_EXPIRES_AT, and for a role in AWS
credentials mode AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
AWS_CREDENTIAL_EXPIRATION. It does not get ELEVATE_TOKEN or ELEVATE_TOKEN_FILE.

exit codes: the command's status when it ran (128+n when exec was stopped by signal n);
otherwise 1 unexpected failure, 2 usage, 3 configuration (no token, bad URL), 4 refused by
Elevate, 5 Elevate unreachable, 6 denied, 7 expired in the approval window, 8 timed out waiting,
9 grant failed, 10 ended before it was active (withdrawn or revoked by an admin), 126 the command
cannot be run, 127 the command was not found.`;

/** Parsed command line of `elevate exec`. */
export interface ExecArgs {
  request: ElevationRequest;
  url?: string;
  waitTimeoutMs: number;
  command: string[];
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `15m`, `1h30m`, `2d` or plain seconds, as whole seconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) > 0 ? Number(text) : undefined;
  if (!/^(?:\d+[smhd])+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(n) * UNITS[unit!]!;
  return seconds > 0 ? seconds : undefined;
}

/** Thrown for a command line `elevate exec` cannot run. */
class UsageError extends Error {}

/** The command line of `elevate exec`, checked. @throws UsageError */
export function parseExecArgs(args: string[]): ExecArgs {
  const split = args.indexOf('--');
  if (split < 0)
    throw new UsageError('put the command after --, e.g. elevate exec --role R --for 15m -- ./job.sh');
  const command = args.slice(split + 1);
  if (command.length === 0) throw new UsageError('no command after --');
  let values;
  try {
    ({ values } = parseArgs({
      args: args.slice(0, split),
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: 'string' },
        for: { type: 'string' },
        justification: { type: 'string' },
        ticket: { type: 'string' },
        'request-id': { type: 'string' },
        url: { type: 'string' },
        'wait-timeout': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!values.role) throw new UsageError('--role is required');
  if (!values.for) throw new UsageError('--for is required (e.g. --for 15m)');
  const durationSeconds = parseDuration(values.for);
  if (durationSeconds === undefined)
    throw new UsageError(`--for: not a duration: ${values.for} (e.g. 90s, 15m, 1h)`);
  const waitSeconds = values['wait-timeout'] === undefined ? 15 * 60 : parseDuration(values['wait-timeout']);
  if (waitSeconds === undefined)
    throw new UsageError(`--wait-timeout: not a duration: ${values['wait-timeout']}`);
  return {
    request: {
      role: values.role,
      durationSeconds,
      justification: values.justification ?? defaultJustification(command),
      ...(values.ticket !== undefined ? { ticket: values.ticket } : {}),
      ...(values['request-id'] !== undefined ? { requestId: values['request-id'] } : {}),
    },
    ...(values.url !== undefined ? { url: values.url } : {}),
    waitTimeoutMs: waitSeconds * 1000,
    command,
  };
}

/** `elevate exec: <command line>`, on one line and within the API's 1000 characters. */
function defaultJustification(command: string[]): string {
  // Control characters are refused by the API; an argument may hold a newline.
  const line = command.join(' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return truncate(`elevate exec: ${line}`, 1000);
}

/** Where the bot's token comes from, checked now (a missing file is a configuration error). */
function tokenSource(env: NodeJS.ProcessEnv): { token: string } | { getToken: () => string } {
  const file = env.ELEVATE_TOKEN_FILE;
  if (file) {
    const read = () => {
      const token = readFileSync(file, 'utf8').trim();
      if (!token) throw new Error(`ELEVATE_TOKEN_FILE ${file} is empty`);
      return token;
    };
    read();
    return { getToken: read };
  }
  const token = env.ELEVATE_TOKEN?.trim();
  if (!token)
    throw new Error('set ELEVATE_TOKEN (the bot API key or a workload identity token) or ELEVATE_TOKEN_FILE');
  return { token };
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type Signal = (typeof SIGNALS)[number];

/** Progress lines on a terminal: each status the elevation passes through. */
function progressPrinter(write: (line: string) => void) {
  return (view: BotElevation) => {
    switch (view.status) {
      case 'pending_approval': {
        const approval = view.approval.mode === 'approvers' ? view.approval : undefined;
        const needs = approval ? `, needs ${approval.quorum} approval(s) by ${approval.deadline}` : '';
        write(`elevation ${view.id} of ${view.roleId}: pending approval${needs}`);
        break;
      }
      case 'active':
        write(`elevation ${view.id} of ${view.roleId}: active until ${view.expiresAt ?? '?'}`);
        break;
      default:
        write(`elevation ${view.id} of ${view.roleId}: ${view.status.replace('_', ' ')}`);
    }
  };
}

/** Run `elevate exec`; resolves to the process's exit code. */
export async function runExec(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const say = (line: string) => stderr.write(`elevate: ${terminalSafe(line)}\n`);
  // Only exec's own options: a `-h` of the command (`-- ls -h`) is the command's.
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(`${EXEC_USAGE}\n`);
    return 0;
  }
  let parsed: ExecArgs;
  try {
    parsed = parseExecArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    stderr.write(`elevate exec: ${err.message}\n\n${EXEC_USAGE}\n`);
    return EXIT_CODES.usage;
  }
  let client: ElevateClient;
  try {
    client = new ElevateClient({
      baseUrl: parsed.url ?? env.ELEVATE_URL ?? 'http://127.0.0.1:8080',
      ...tokenSource(env),
      userAgent: 'elevate-exec/0.1.0',
    });
  } catch (err) {
    say((err as Error).message);
    return EXIT_CODES.config;
  }

  // A signal stops the wait (the request is withdrawn) or is passed on to the command; either
  // way the role is given back before exec exits 128+n.
  const controller = new AbortController();
  let received: Signal | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  const onSignal = (signal: Signal) => {
    const running = child && child.exitCode === null && child.signalCode === null;
    if (received && !running) {
      // A second signal while exec itself waits (Elevate slow or unreachable): stop now.
      say(`${signal} again: exiting without waiting; the elevation ends at its expiry`);
      process.exit(128 + osConstants.signals[signal]);
    }
    received ??= signal;
    // Ctrl-C on a terminal already reached the command (it is in the foreground process group
    // too): a second SIGINT would make tools such as terraform abort instead of stopping cleanly.
    if (running && !(signal === 'SIGINT' && process.stdin.isTTY)) child!.kill(signal);
    else if (!running) controller.abort(new Error(`stopped by ${signal}`));
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  const progress = stderr.isTTY ? progressPrinter(say) : undefined;

  let commandStatus: number | undefined;
  let elevationId: string | undefined;
  try {
    const status = await withElevation(
      client,
      parsed.request,
      (elevation, elevationVars) => {
        elevationId = elevation.id;
        if (received) return Promise.resolve(128 + osConstants.signals[received]);
        return new Promise<number>((done) => {
          const resolve = (code: number) => done((commandStatus = code));
          child = spawn(parsed.command[0]!, parsed.command.slice(1), {
            stdio: 'inherit',
            env: commandEnv(env, elevationVars),
          });
          child.on('error', (err: NodeJS.ErrnoException) => {
            say(`cannot run ${parsed.command[0]}: ${err.message}`);
            resolve(err.code === 'ENOENT' ? 127 : 126);
          });
          child.on('exit', (code, signal) => {
            if (progress) say(`${parsed.command[0]} exited ${signal ?? code}; giving ${elevation.id} back`);
            resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0));
          });
        });
      },
      {
        timeoutMs: parsed.waitTimeoutMs,
        signal: controller.signal,
        giveBackReason: 'elevate exec: the command ended',
        ...(progress ? { onProgress: progress } : {}),
      },
    );
    return received ? 128 + osConstants.signals[received] : status;
  } catch (err) {
    if (commandStatus !== undefined) {
      // The command ran: its status is exec's, and the role ends at its expiry regardless.
      say(`could not give ${elevationId} back (${(err as Error).message}); it ends at its expiry`);
      return received ? 128 + osConstants.signals[received] : commandStatus;
    }
    if (received) return 128 + osConstants.signals[received];
    if (err instanceof ElevateError) {
      say(describeFailure(err, parsed.request.role ?? parsed.request.bundle ?? ''));
      return err.exitCode;
    }
    say((err as Error).message);
    return EXIT_CODES.failure;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

/** The command's environment: exec's own, without the bot's token, with the elevation's variables. */
function commandEnv(env: NodeJS.ProcessEnv, vars: ElevationEnv): NodeJS.ProcessEnv {
  const { ELEVATE_TOKEN: _token, ELEVATE_TOKEN_FILE: _tokenFile, ...rest } = env;
  return { ...rest, ...vars };
}

/** One line saying what went wrong, naming the code and field Elevate gave. */
function describeFailure(err: ElevateError, role: string): string {
  if ('code' in err && 'status' in err) {
    const e = err as ElevateError & { code: string; status: number; field?: string };
    const field = e.field ? `, field ${e.field}` : '';
    const what = e.kind === 'refused' ? `the request for ${role} was refused` : 'Elevate refused';
    return `${what} (${e.status} ${e.code}${field}): ${err.message}`;
  }
  return err.message;
}
