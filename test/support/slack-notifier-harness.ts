/**
 * What the Slack notifier tests share: the Slack Web API stand-in (started once per file), a
 * fresh SQLite store (its single-use table keeps the "already posted" marks) and a logger whose
 * lines the test reads, both new for each test, and the notifier built on them. Registers its own
 * hooks; read its fields inside tests only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { SlackNotifier } from '../../integrations/slack/slack-notifier.js';
import { openStores, type Stores } from '../../store/stores.js';

export interface SlackNotifierHarness {
  stub: SlackStub;
  stores: Stores;
  /** The lines logged during the current test, parsed. */
  logLines: Record<string, unknown>[];
  logger: Logger;
  /** A notifier on the stand-in and the store (`channel`: the approval channel, if any). */
  notifier(channel?: string): SlackNotifier;
}

/** The harness of one test file: the stand-in's token, its users and channels. */
export function useSlackNotifierHarness(opts: {
  token: string;
  users: { id: string; email: string }[];
  channels: string[];
}): SlackNotifierHarness {
  let dir = '';
  const h = {
    logLines: [],
    notifier(channel?: string): SlackNotifier {
      return new SlackNotifier({
        slack: new SlackClient({ token: opts.token, apiUrl: h.stub.url, logger: h.logger }),
        singleUse: h.stores.singleUse,
        elevations: h.stores.elevations,
        ...(channel ? { channel } : {}),
        logger: h.logger,
      });
    },
  } as unknown as SlackNotifierHarness;

  beforeAll(async () => {
    h.stub = await startSlackApiStub({ token: opts.token, users: opts.users, channels: opts.channels });
  });
  afterAll(async () => {
    await h.stub?.stop();
  });
  beforeEach(async () => {
    h.stub.calls.length = 0;
    dir = mkdtempSync(path.join(tmpdir(), 'elevate-slack-notifier-'));
    h.stores = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
    const lines: Record<string, unknown>[] = [];
    h.logLines = lines;
    h.logger = pino(
      { level: 'debug' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
  });
  afterEach(async () => {
    await h.stores.database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return h;
}
