/**
 * `elevate bots create`: add a bot to the policy file, offline. The file is edited as a YAML
 * document (the `yaml` package's Document API), so its comments, key order and quoting stay as
 * they were; the whole result is validated with the policy schema before anything is written,
 * and it is written atomically (a temporary file in the same folder, then a rename), so a
 * crash or a full disk never leaves half a policy behind.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { ConfigError } from '../../core/errors/config-error.js';
import { parsePolicy } from '../../config/load-policy.js';
import type { Policy } from '../../config/policy.js';

/** The new bot's policy entry, as the command's options give it (without its key). */
export interface NewBot {
  id: string;
  owner: string;
  team: string;
  purpose: string;
  environment: string;
  roles: string[];
  ldapDn?: string;
  postgresLogin?: string;
  awsPrincipal?: string;
  disabled?: boolean;
}

/**
 * The policy text with `bot` appended to `bots` (with `apiKeyHash`), and the policy it parses
 * to. Comments and formatting of the rest of the file are kept.
 *
 * @param source - names the file in messages
 * @param env - for `${VAR}` interpolation while validating, as `elevate config check` does
 * @throws {@link ConfigError} when the file is not a policy with a `bots` list, already has
 *   a bot with this id, or would be invalid with the new bot (the message names the field)
 */
export function addBot(
  text: string,
  bot: NewBot,
  apiKeyHash: string,
  source: string,
  env: NodeJS.ProcessEnv,
  now: Date = new Date(),
): { text: string; policy: Policy } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors[0])
    throw new ConfigError(`${source}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`, '(yaml)');
  const bots = doc.get('bots', true);
  if (!isSeq(bots)) throw new ConfigError(`${source}: has no \`bots\` list to add the bot to`, 'bots');
  const taken = bots.items.some((item) => isMap(item) && scalarValue(item.get('id', true)) === bot.id);
  if (taken) throw new ConfigError(`${source}: a bot "${bot.id}" is already in the policy`, 'bots');

  const node = doc.createNode({
    id: bot.id,
    owner: bot.owner,
    team: bot.team,
    purpose: bot.purpose,
    environment: bot.environment,
    ...(bot.ldapDn !== undefined ? { ldapDn: bot.ldapDn } : {}),
    ...(bot.postgresLogin !== undefined ? { postgresLogin: bot.postgresLogin } : {}),
    ...(bot.awsPrincipal !== undefined ? { awsPrincipal: bot.awsPrincipal } : {}),
    apiKeyHash,
    roles: bot.roles,
    ...(bot.disabled ? { disabled: true } : {}),
  });
  node.commentBefore = ` added by \`elevate bots create\` on ${now.toISOString().slice(0, 10)}`;
  bots.items.push(node);
  // lineWidth 0: long values stay on one line instead of being folded; no padding: `[a, b]`
  // stays as written, not `[ a, b ]`.
  const out = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  try {
    return { text: out, policy: parsePolicy(out, source, env) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(
      `the policy with bot "${bot.id}" would be invalid, so ${source} was not changed:\n${err.message}`,
      err.field,
    );
  }
}

/**
 * Replace `file` with `text` atomically: written and flushed to a temporary file beside it (with
 * the same permissions), then renamed over it. A symbolic link is followed, so the file it
 * points to is replaced and the link stays.
 */
export function writeFileAtomic(file: string, text: string): void {
  const target = realpathSync(file);
  const mode = statSync(target).mode & 0o777;
  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', mode);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, target);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
}

function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : undefined;
}
