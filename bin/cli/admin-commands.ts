/**
 * The admin's daily work from a terminal: `elevate bots …`, `elevate elevations …`,
 * `elevate audit …` and `elevate report …`. They talk to a running API's admin routes (`ELEVATE_URL`, with the admin
 * token from `ELEVATE_ADMIN_TOKEN` or `--token-file`), except `bots create`, which edits a
 * policy file offline. Output is aligned tables for people, or the API's JSON with `--json` for
 * scripts. Changes ask for confirmation (or `--yes`).
 *
 * Exit codes ({@link ADMIN_EXIT}): 0 ok; 1 what was checked is bad (`audit verify`: the chain
 * is broken) or a confirmation was declined; 2 usage error; 3 configuration error (no token,
 * a bad URL, an invalid policy); 4 the server refused (4xx: its error code and message are
 * printed); 5 the server could not be reached or failed (5xx), or a lockdown could not revoke
 * everything.
 */
import { createWriteStream, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/errors/config-error.js';
import { generateSecret, hashSecret } from '../../core/crypto/credentials.js';
import type { BotKeyRotation, BotLockResult, BotSummary } from '../../domain/bots/bot-summary.js';
import type { LeastPrivilegeReport } from '../../core/model/least-privilege.js';
import type { AuditEvent, VerifyResult } from '../../core/model/audit-record.js';
import type { ElevationPage } from '../../store/elevation-index.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { AdminClient, ServerRefusedError, ServerUnavailableError } from './admin-client.js';
import { leastPrivilegePath, leastPrivilegeText } from './least-privilege-report.js';
import { fields, instant, printable, table, terminalSafe, truncate } from './output.js';
import { addBot, writeFileAtomic } from './policy-edit.js';

/** Exit codes of the admin commands. */
export const ADMIN_EXIT = { ok: 0, bad: 1, usage: 2, config: 3, refused: 4, unavailable: 5 } as const;

/** The command groups this module runs. */
export type AdminGroup = 'bots' | 'elevations' | 'audit' | 'report';

const CONNECTION_HELP = `
The server is ELEVATE_URL (default http://127.0.0.1:8080, or --url); the admin token comes from
ELEVATE_ADMIN_TOKEN or --token-file <file>. --json prints the API's JSON instead of a table.
Changes ask for confirmation on a terminal; --yes confirms in scripts.
Exit codes: 0 ok, 1 check failed or not confirmed, 2 usage, 3 configuration, 4 refused by the
server, 5 server unreachable or failing.`;

/** Usage of each group, printed by `--help` and after a usage error. */
export const ADMIN_USAGE: Record<AdminGroup, string> = {
  bots: `usage: elevate bots <command>

  list                               every bot with its state (locked, disabled, rotated key)
  show <id>                          one bot
  lock <id> --reason <text>          lock it down: refuse its requests, revoke its open elevations
  unlock <id> --reason <text>        lift the lockdown
  disable <id> [--reason <text>]     refuse its requests (its elevations stay)
  enable <id> [--reason <text>]      let it request again
  rotate-key <id> [--reason <text>]  give it a new API key (printed once; the old one stops working)
  create <id> --policy <file> --owner <email> --team <team> --purpose <text>
         --environment <env> --role <role> [--role <role>...]
         [--ldap-dn <dn>] [--postgres-login <name>] [--aws-principal <arn>] [--disabled]
                                     add a bot to a policy file (offline) and print its key once
${CONNECTION_HELP}`,
  elevations: `usage: elevate elevations <command>

  list [--bot <id>] [--role <id>] [--status <s,s>] [--since <instant>] [--until <instant>]
       [--limit <n>]                 elevations, newest first (default 50)
  show <id>                          one elevation with its audit events
  revoke <id> --reason <text>        end it now
${CONNECTION_HELP}`,
  audit: `usage: elevate audit <command>

  verify [--anchor <position>:<hash>]
                                     verify the audit hash chain (exit 1 when it is broken)
  export [--format jsonl|csv|ocsf] [--since <instant>] [--until <instant>] [--output <file>]
                                     stream the audit trail to stdout or a file
${CONNECTION_HELP}`,
  report: `usage: elevate report <command>

  least-privilege [--bot <id>] [--quick-seconds <n>]
                                     per bot: allowed roles not requested in 30/60/90 days, roles
                                     always given back within n seconds (default 30), and the
                                     narrower role list recommended, with the evidence
${CONNECTION_HELP}`,
};

/** Where a command reads and writes (the process's streams, or a test's). */
export interface AdminIo {
  /** Text for people or JSON; the process's writer replaces control characters (not newlines). */
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
}

const processIo = (): AdminIo => ({
  out: (text) => void process.stdout.write(terminalSafe(text)),
  err: (text) => void process.stderr.write(terminalSafe(text)),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
});

/** Wrong arguments: the message, then the group's usage, exit 2. */
class UsageError extends Error {}

/** The admin said no at a confirmation: nothing was done, exit 1. */
class Declined extends Error {}

/**
 * Run `elevate <group> <args…>`; resolves to the exit code (never rejects for the failures the
 * exit codes describe).
 */
export async function runAdminCommand(
  group: AdminGroup,
  args: string[],
  io: AdminIo = processIo(),
): Promise<number> {
  try {
    return await dispatch(group, args, io);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      io.err(`elevate ${group}: ${(err as Error).message}\n\n${ADMIN_USAGE[group]}\n`);
      return ADMIN_EXIT.usage;
    }
    if (err instanceof Declined) {
      io.err('not confirmed: nothing was changed\n');
      return ADMIN_EXIT.bad;
    }
    if (err instanceof ConfigError) {
      io.err(`invalid configuration:\n${err.message}\n`);
      return ADMIN_EXIT.config;
    }
    if (err instanceof ServerRefusedError) {
      const field = err.field ? `, field ${err.field}` : '';
      io.err(`refused by the server (${err.status} ${err.code}${field}): ${printable(err.message)}\n`);
      return ADMIN_EXIT.refused;
    }
    if (err instanceof ServerUnavailableError) {
      io.err(`${printable(err.message)}\n`);
      return ADMIN_EXIT.unavailable;
    }
    throw err;
  }
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

// ---- options ----------------------------------------------------------------------------------

const COMMON = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const CHANGE = {
  ...COMMON,
  reason: { type: 'string' },
  yes: { type: 'boolean', short: 'y', default: false },
} as const;

type Common = { url?: string | undefined; 'token-file'?: string | undefined };

/** The one positional argument (an id), or a usage error naming it. */
function onlyId(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`give the ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${printable(positionals[1])}"`);
  return positionals[0]!;
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${printable(positionals[0])}"`);
}

/** A required, non-blank option. */
function required(value: string | undefined, option: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${option} is required`);
  return value;
}

/** The admin API client from `--url`/`ELEVATE_URL` and `--token-file`/`ELEVATE_ADMIN_TOKEN`. */
function clientOf(values: Common, io: AdminIo): AdminClient {
  const raw = values.url ?? io.env.ELEVATE_URL ?? 'http://127.0.0.1:8080';
  const source = values.url !== undefined ? '--url' : 'ELEVATE_URL';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${source}: "${printable(raw)}" is not a URL`, source);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search) {
    throw new ConfigError(
      `${source}: must be an http(s) URL without credentials or query, e.g. https://elevate.example.org`,
      source,
    );
  }
  let token: string | undefined;
  const file = values['token-file'];
  if (file !== undefined) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(
        `--token-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        '--token-file',
      );
    }
    if (!token) throw new ConfigError(`--token-file: ${file} is empty`, '--token-file');
  } else {
    token = io.env.ELEVATE_ADMIN_TOKEN?.trim();
    if (!token) {
      throw new ConfigError(
        'no admin token: set ELEVATE_ADMIN_TOKEN or pass --token-file <file>',
        'ELEVATE_ADMIN_TOKEN',
      );
    }
  }
  if (url.protocol === 'http:' && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname)) {
    io.err(`warning: the admin token goes to ${url.host} unencrypted (http); use https\n`);
  }
  return new AdminClient({ baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, token });
}

/** Ask before a change, unless `--yes`; without a terminal to ask on, `--yes` is required. */
async function confirm(question: string, yes: boolean, io: AdminIo): Promise<void> {
  if (yes) return;
  if (!io.stdin.isTTY)
    throw new UsageError(`${question} Confirm with --yes (there is no terminal to ask on).`);
  const rl = createInterface({ input: io.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new Declined();
  } finally {
    rl.close();
  }
}

function printJson(io: AdminIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

function botPath(id: string, action = ''): string {
  return `/v1/admin/bots/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
}

// ---- dispatch ---------------------------------------------------------------------------------

async function dispatch(group: AdminGroup, args: string[], io: AdminIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined) throw new UsageError('give a command');
  if (command === 'help' || command === '--help' || command === '-h') {
    io.out(`${ADMIN_USAGE[group]}\n`);
    return ADMIN_EXIT.ok;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${ADMIN_USAGE[group]}\n`);
    return ADMIN_EXIT.ok;
  }
  const handler = COMMANDS[group][command];
  if (!handler) throw new UsageError(`unknown command "${printable(command)}"`);
  return handler(rest, io);
}

type Handler = (args: string[], io: AdminIo) => Promise<number>;

const COMMANDS: Record<AdminGroup, Record<string, Handler>> = {
  bots: {
    list: botsList,
    show: botsShow,
    lock: botsLock,
    unlock: botsUnlock,
    disable: (args, io) => botsSetDisabled(args, io, true),
    enable: (args, io) => botsSetDisabled(args, io, false),
    'rotate-key': botsRotateKey,
    create: (args, io) => Promise.resolve().then(() => botsCreate(args, io)),
  },
  elevations: { list: elevationsList, show: elevationsShow, revoke: elevationsRevoke },
  audit: { verify: auditVerify, export: auditExport },
  report: { 'least-privilege': reportLeastPrivilege },
};

// ---- bots -------------------------------------------------------------------------------------

/** `locked`, `disabled`, `disabled (admin)`, `enabled (admin)`, `enabled`, joined. */
function stateOf(bot: BotSummary): string {
  const parts: string[] = [];
  if (bot.locked) parts.push('locked');
  if (bot.disabled) parts.push(bot.disabledOverride ? 'disabled (admin)' : 'disabled');
  else if (!bot.locked) parts.push(bot.disabledOverride ? 'enabled (admin)' : 'enabled');
  return parts.join(', ');
}

function keyOf(bot: BotSummary): string {
  return bot.keyRotatedAt ? `rotated ${instant(bot.keyRotatedAt)}` : 'policy';
}

async function botsList(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true, strict: true });
  noPositionals(positionals);
  const { items } = await clientOf(values, io).json<{ items: BotSummary[] }>('GET', '/v1/admin/bots');
  if (values.json) {
    printJson(io, { items });
    return ADMIN_EXIT.ok;
  }
  io.out(
    table(
      ['id', 'environment', 'team', 'owner', 'state', 'key', 'federation', 'active', 'open'],
      items.map((b) => [
        b.id,
        b.environment,
        b.team,
        b.owner,
        stateOf(b),
        keyOf(b),
        b.federation ? 'yes' : 'no',
        String(b.activeElevations),
        String(b.openElevations),
      ]),
    ),
  );
  return ADMIN_EXIT.ok;
}

function botFields(b: BotSummary): string {
  const entries: [string, string][] = [
    ['id', b.id],
    ['owner', b.owner],
    ['team', b.team],
    ['purpose', b.purpose],
    ['environment', b.environment],
    ['roles', b.roles.join(', ')],
  ];
  if (b.principals.ldapDn) entries.push(['LDAP DN', b.principals.ldapDn]);
  if (b.principals.postgresLogin) entries.push(['PostgreSQL login', b.principals.postgresLogin]);
  if (b.principals.awsPrincipal) entries.push(['AWS principal', b.principals.awsPrincipal]);
  entries.push(['state', stateOf(b)]);
  if (b.locked) {
    entries.push(['locked', `since ${instant(b.locked.at)} by ${b.locked.by}: ${b.locked.reason}`]);
  }
  const override = b.disabledOverride;
  entries.push([
    'disabled',
    `${b.disabled ? 'yes' : 'no'} (policy: ${b.policyDisabled ? 'yes' : 'no'}${
      override ? `; set by ${override.by} at ${instant(override.at)}` : ''
    })`,
  ]);
  entries.push([
    'API key',
    b.keyRotatedAt
      ? `rotated at ${instant(b.keyRotatedAt)} by ${b.keyRotatedBy ?? '?'} (the policy's key no longer works)`
      : "the policy's apiKeyHash",
  ]);
  entries.push(['federation', b.federation ? 'yes (workload identity tokens accepted)' : 'no']);
  entries.push(['elevations', `${b.activeElevations} active, ${b.openElevations} not yet ended`]);
  return fields(entries);
}

async function botsShow(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true, strict: true });
  const id = onlyId(positionals, 'bot id');
  const bot = await clientOf(values, io).json<BotSummary>('GET', botPath(id));
  if (values.json) printJson(io, bot);
  else io.out(botFields(bot));
  return ADMIN_EXIT.ok;
}

function elevationRows(items: ElevationView[]): string[][] {
  return items.map((v) => [
    v.id,
    v.botId,
    v.roleId,
    v.endReason ? `${v.status} (${v.endReason})` : v.status,
    instant(v.requestedAt),
    instant(v.endedAt ?? v.expiresAt ?? (v.approval.mode === 'approvers' ? v.approval.deadline : '')),
    truncate(printable(v.justification), 50),
  ]);
}

const ELEVATION_COLUMNS = ['id', 'bot', 'role', 'status', 'requested', 'until', 'justification'];

async function botsLock(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHANGE, allowPositionals: true, strict: true });
  const id = onlyId(positionals, 'bot id');
  const reason = required(values.reason, '--reason');
  const client = clientOf(values, io);
  const bot = await client.json<BotSummary>('GET', botPath(id));
  await confirm(
    `Lock bot ${bot.id} down and revoke its ${bot.openElevations} open elevation(s)?`,
    values.yes,
    io,
  );
  const result = await client.json<BotLockResult>('POST', botPath(id, 'lock'), { reason });
  if (values.json) printJson(io, result);
  else {
    const lock = result.bot.locked;
    io.out(
      `bot ${result.bot.id} is locked${lock ? ` (by ${lock.by} since ${instant(lock.at)}: ${lock.reason})` : ''}\n`,
    );
    if (result.revoked.length === 0) io.out('no open elevations to revoke\n');
    else {
      io.out(`revoked ${result.revoked.length} elevation(s):\n`);
      io.out(table(ELEVATION_COLUMNS, elevationRows(result.revoked)));
    }
  }
  if (result.failed.length > 0) {
    io.err(
      `could not revoke ${result.failed.length} elevation(s) now; the lock stands, run \`elevate bots lock ${id}\` again:\n` +
        table(
          ['id', 'code', 'message'],
          result.failed.map((f) => [f.id, f.code, f.message]),
        ),
    );
    return ADMIN_EXIT.unavailable;
  }
  return ADMIN_EXIT.ok;
}

async function botsUnlock(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHANGE, allowPositionals: true, strict: true });
  const id = onlyId(positionals, 'bot id');
  const reason = required(values.reason, '--reason');
  const client = clientOf(values, io);
  await confirm(`Unlock bot ${id}, so that it may request elevations again?`, values.yes, io);
  const bot = await client.json<BotSummary>('POST', botPath(id, 'unlock'), { reason });
  if (values.json) printJson(io, bot);
  else io.out(`bot ${bot.id} is unlocked; state: ${stateOf(bot)}\n`);
  return ADMIN_EXIT.ok;
}

async function botsSetDisabled(args: string[], io: AdminIo, disabled: boolean): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHANGE, allowPositionals: true, strict: true });
  const id = onlyId(positionals, 'bot id');
  const client = clientOf(values, io);
  await confirm(
    disabled
      ? `Disable bot ${id}? Its requests are refused; its elevations stay (lock it to end them).`
      : `Enable bot ${id}?`,
    values.yes,
    io,
  );
  const bot = await client.json<BotSummary>(
    'POST',
    botPath(id, disabled ? 'disable' : 'enable'),
    values.reason !== undefined ? { reason: values.reason } : {},
  );
  if (values.json) printJson(io, bot);
  else io.out(`bot ${bot.id}: ${stateOf(bot)}\n`);
  return ADMIN_EXIT.ok;
}

async function botsRotateKey(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHANGE, allowPositionals: true, strict: true });
  const id = onlyId(positionals, 'bot id');
  const client = clientOf(values, io);
  await confirm(`Rotate the API key of bot ${id}? Its current key stops working at once.`, values.yes, io);
  const rotation = await client.json<BotKeyRotation>(
    'POST',
    botPath(id, 'rotate-key'),
    values.reason !== undefined ? { reason: values.reason } : {},
  );
  if (values.json) printJson(io, rotation);
  else {
    io.out(
      `new API key of bot ${rotation.bot.id} (shown once, give it to the bot): ${rotation.key}\n` +
        'its previous key no longer works.\n',
    );
  }
  return ADMIN_EXIT.ok;
}

/** Offline: nothing to wait for, so synchronous (the table of commands wraps it). */
function botsCreate(args: string[], io: AdminIo): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      policy: { type: 'string' },
      owner: { type: 'string' },
      team: { type: 'string' },
      purpose: { type: 'string' },
      environment: { type: 'string' },
      role: { type: 'string', multiple: true },
      'ldap-dn': { type: 'string' },
      'postgres-login': { type: 'string' },
      'aws-principal': { type: 'string' },
      disabled: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const id = onlyId(positionals, 'bot id');
  const file = required(values.policy, '--policy');
  const bot = {
    id,
    owner: required(values.owner, '--owner'),
    team: required(values.team, '--team'),
    purpose: required(values.purpose, '--purpose'),
    environment: required(values.environment, '--environment'),
    roles: values.role ?? [],
    ...(values['ldap-dn'] !== undefined ? { ldapDn: values['ldap-dn'] } : {}),
    ...(values['postgres-login'] !== undefined ? { postgresLogin: values['postgres-login'] } : {}),
    ...(values['aws-principal'] !== undefined ? { awsPrincipal: values['aws-principal'] } : {}),
    ...(values.disabled ? { disabled: true } : {}),
  };
  if (bot.roles.length === 0) throw new UsageError('--role is required (once per role the bot may request)');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read the policy file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      '--policy',
    );
  }
  const key = generateSecret('bot');
  const edited = addBot(text, bot, hashSecret(key), file, io.env);
  writeFileAtomic(file, edited.text);
  if (values.json) {
    printJson(io, { botId: id, key, apiKeyHash: hashSecret(key), policy: file });
    return ADMIN_EXIT.ok;
  }
  io.out(
    `bot ${id} added to ${file}\n` +
      `API key (shown once, give it to the bot): ${key}\n` +
      `The bot exists once this policy is deployed: check it with \`elevate config check ${file}\`, ` +
      'then restart the API processes and the workers with it.\n',
  );
  return ADMIN_EXIT.ok;
}

// ---- elevations -------------------------------------------------------------------------------

async function elevationsList(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...COMMON,
      bot: { type: 'string' },
      role: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string', default: '50' },
    },
    allowPositionals: true,
    strict: true,
  });
  noPositionals(positionals);
  if (!/^[1-9][0-9]{0,4}$/.test(values.limit))
    throw new UsageError('--limit must be a whole number, 1-99999');
  const limit = Number(values.limit);
  const client = clientOf(values, io);
  const items: ElevationView[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams();
    if (values.bot !== undefined) q.set('bot', values.bot);
    if (values.role !== undefined) q.set('role', values.role);
    if (values.status !== undefined) q.set('status', values.status);
    if (values.since !== undefined) q.set('from', values.since);
    if (values.until !== undefined) q.set('to', values.until);
    q.set('limit', String(Math.min(200, limit - items.length)));
    if (cursor) q.set('cursor', cursor);
    const page = await client.json<ElevationPage>('GET', `/v1/admin/elevations?${q.toString()}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < limit);
  if (values.json) printJson(io, { items, ...(cursor ? { nextCursor: cursor } : {}) });
  else if (items.length === 0) io.out('no elevations match\n');
  else {
    io.out(table(ELEVATION_COLUMNS, elevationRows(items)));
    if (cursor) io.err(`(more than ${limit}: raise --limit to see more)\n`);
  }
  return ADMIN_EXIT.ok;
}

async function elevationsShow(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true, strict: true });
  const id = onlyId(positionals, 'elevation id');
  const timeline = await clientOf(values, io).json<{ elevation: ElevationView; events: AuditEvent[] }>(
    'GET',
    `/v1/admin/elevations/${encodeURIComponent(id)}`,
  );
  if (values.json) {
    printJson(io, timeline);
    return ADMIN_EXIT.ok;
  }
  const v = timeline.elevation;
  const entries: [string, string][] = [
    ['id', v.id],
    ['bot', `${v.botId} (owner ${v.owner})`],
    ['role', `${v.roleId} in ${v.environment}`],
    ['status', v.endReason ? `${v.status} (${v.endReason})` : v.status],
    ['requested', instant(v.requestedAt)],
    ['duration', `${v.durationSeconds} s`],
    ['justification', v.justification],
  ];
  if (v.ticket) entries.push(['ticket', v.ticket]);
  if (v.requestId) entries.push(['requestId', v.requestId]);
  if (v.approval.mode === 'approvers') {
    entries.push([
      'approvals',
      `${v.approvals.length} of ${v.approval.quorum}${
        v.approvals.length ? `: ${v.approvals.map((a) => a.approver).join(', ')}` : ''
      }`,
    ]);
  } else entries.push(['approval', 'automatic']);
  if (v.grantedAt) entries.push(['granted', instant(v.grantedAt)]);
  if (v.expiresAt) entries.push(['expires', instant(v.expiresAt)]);
  if (v.endedAt) entries.push(['ended', instant(v.endedAt)]);
  if (v.revokeAttempts > 0) entries.push(['failed revocation rounds', String(v.revokeAttempts)]);
  if (v.lastError) entries.push(['last error', v.lastError]);
  io.out(fields(entries));
  io.out('\nevents:\n');
  io.out(
    table(
      ['seq', 'at', 'type', 'actor', 'data'],
      timeline.events.map((e) => [
        String(e.seq),
        instant(e.at),
        e.type,
        `${e.actor.kind} ${e.actor.id}`,
        truncate(printable(JSON.stringify(e.data)), 100),
      ]),
    ),
  );
  return ADMIN_EXIT.ok;
}

async function elevationsRevoke(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHANGE, allowPositionals: true, strict: true });
  const id = onlyId(positionals, 'elevation id');
  const reason = required(values.reason, '--reason');
  const client = clientOf(values, io);
  await confirm(`Revoke elevation ${id}?`, values.yes, io);
  const view = await client.json<ElevationView>(
    'POST',
    `/v1/admin/elevations/${encodeURIComponent(id)}/revoke`,
    {
      reason,
    },
  );
  if (values.json) printJson(io, view);
  else io.out(`elevation ${view.id}: ${view.status}${view.endReason ? ` (${view.endReason})` : ''}\n`);
  return ADMIN_EXIT.ok;
}

// ---- audit ------------------------------------------------------------------------------------

async function auditVerify(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...COMMON, anchor: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  noPositionals(positionals);
  const q =
    values.anchor !== undefined ? `?${new URLSearchParams({ anchor: values.anchor }).toString()}` : '';
  const result = await clientOf(values, io).json<VerifyResult>('GET', `/v1/admin/audit/verify${q}`);
  if (values.json) printJson(io, result);
  else if (result.ok) {
    const a = result.anchoring;
    // Without a signed checkpoint a clean walk is no proof against a database writer: say so.
    const anchoring = a?.through
      ? `; anchored by ${a.checkpoints} signed checkpoint(s), the newest at ${a.through.position} (${a.unanchored} event(s) after it)`
      : a?.reason === 'no_key'
        ? '; NOT ANCHORED: no checkpoint key is configured (ELEVATE_AUDIT_CHECKPOINT_KEY)'
        : a
          ? '; NOT ANCHORED: no signed checkpoint yet'
          : '';
    io.out(
      `audit chain ok: ${result.checked} event(s) checked` +
        (result.head ? `; head ${result.head.position}:${result.head.hash} (keep it: --anchor)` : '') +
        anchoring +
        '\n',
    );
  } else {
    const b = result.firstBroken;
    io.out(
      `audit chain BROKEN: ${result.checked} event(s) check out` +
        (b
          ? `; first bad position ${b.position} (${b.reason})${b.eventId ? `, event ${b.eventId}` : ''}${
              b.elevationId ? `, elevation ${b.elevationId}` : ''
            }`
          : '') +
        '\n',
    );
  }
  return result.ok ? ADMIN_EXIT.ok : ADMIN_EXIT.bad;
}

async function auditExport(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...COMMON,
      format: { type: 'string', default: 'jsonl' },
      since: { type: 'string' },
      until: { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
    allowPositionals: true,
    strict: true,
  });
  noPositionals(positionals);
  if (!['jsonl', 'csv', 'ocsf'].includes(values.format)) {
    throw new UsageError('--format must be jsonl, csv or ocsf');
  }
  const q = new URLSearchParams({ format: values.format });
  if (values.since !== undefined) q.set('since', values.since);
  if (values.until !== undefined) q.set('until', values.until);
  const body = await clientOf(values, io).stream(`/v1/admin/audit/export?${q.toString()}`);
  const source = Readable.fromWeb(body);
  if (values.output === undefined) {
    try {
      await pipeline(source, io.stdout, { end: false });
    } catch (err) {
      // The reader went away (`| head`): what it read is what it wanted.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return ADMIN_EXIT.ok;
      throw new ServerUnavailableError(`the export broke off: ${(err as Error).message}`);
    }
    return ADMIN_EXIT.ok;
  }
  // Into a temporary file, renamed when complete: a broken-off export never looks like a whole one.
  const file = values.output;
  const partial = `${file}.partial`;
  try {
    await pipeline(source, createWriteStream(partial, { flags: 'w', mode: 0o600 }));
  } catch (err) {
    rmSync(partial, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code && /^E[A-Z]+$/.test(code) && code !== 'ECONNRESET') {
      throw new ConfigError(`--output: cannot write ${file} (${code})`, '--output');
    }
    throw new ServerUnavailableError(`the export broke off; ${file} was not written`);
  }
  renameSync(partial, file);
  io.err(`exported ${statSync(file).size} bytes as ${values.format} to ${file}\n`);
  return ADMIN_EXIT.ok;
}

// ---- reports ----------------------------------------------------------------------------------

async function reportLeastPrivilege(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...COMMON, bot: { type: 'string' }, 'quick-seconds': { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  noPositionals(positionals);
  const quick = values['quick-seconds'];
  if (quick !== undefined && !/^[1-9][0-9]{0,3}$/.test(quick))
    throw new UsageError('--quick-seconds must be a whole number of seconds, 1-3600');
  const report = await clientOf(values, io).json<LeastPrivilegeReport>(
    'GET',
    leastPrivilegePath(values.bot, quick),
  );
  if (values.json) printJson(io, report);
  else io.out(leastPrivilegeText(report));
  return ADMIN_EXIT.ok;
}
