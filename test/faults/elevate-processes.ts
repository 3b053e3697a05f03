/**
 * Elevate as separate processes on a test stack, to kill with SIGKILL: `elevate api` and
 * `elevate worker`, each its own Node.js process on the stack's Temporal server, slapd and
 * SQLite audit store, configured through the environment as an operator would. The API's
 * approvers log in at the development identity provider, so approvals go through the API
 * process's own approval pages, signed with its own key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createBrowser } from '../../dev/browser.js';
import {
  startDevIdentityProvider,
  type DevAccount,
  type DevIdentityProvider,
} from '../../dev/dev-identity-provider.js';
import { freePort } from '../../dev/processes.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { workerProcessEnv, type Stack } from '../support/stack.js';
import { sleep } from './fault-settings.js';

export type ProcessKind = 'api' | 'worker';

/** One `elevate api` or `elevate worker` process. */
export interface ElevateProcess {
  kind: ProcessKind;
  pid: number;
  /** Milliseconds from spawn until it logged that it started; rejects if it exits first. */
  ready: Promise<number>;
  exited: Promise<number | null>;
  /** The tail of what it printed. */
  output(): string;
}

/** Start `elevate <kind>` with `env`. */
export function startElevateProcess(kind: ProcessKind, env: NodeJS.ProcessEnv): ElevateProcess {
  const spawnedAt = Date.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      // A skewed wall clock (clock-skew.test.ts), test only: see clock-offset.mjs.
      ...(env.ELEVATE_TEST_CLOCK_OFFSET_MS
        ? ['--import', path.resolve(import.meta.dirname, 'clock-offset.mjs')]
        : []),
      path.resolve(import.meta.dirname, '../../bin/elevate.ts'),
      kind,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let tail = '';
  let onLine: ((line: string) => void) | undefined;
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-20_000);
    for (const line of text.split('\n')) onLine?.(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<number>((resolve, reject) => {
    onLine = (line) => {
      if (line.includes(`"elevate ${kind} started"`)) {
        onLine = undefined;
        resolve(Date.now() - spawnedAt);
      }
    };
    void exited.then((code) =>
      reject(new Error(`elevate ${kind} exited (${code}) before it started:\n${tail}`)),
    );
  });
  ready.catch(() => undefined);
  return { kind, pid: child.pid!, ready, exited, output: () => tail };
}

/** The approver of the suite's approval role, an account at the development identity provider. */
export const APPROVER: DevAccount = {
  email: 'ann@example.org',
  password: 'ann-fault-password',
  totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
};

const CLIENT_ID = 'elevate-faults';
const CLIENT_SECRET = 'elevate-faults-client-secret-0123456789';

/**
 * An API process and a worker process on a stack, restartable after a kill. The API keeps its
 * port across restarts (the identity provider's redirect URI names it).
 */
export class ElevateDeployment {
  api?: ElevateProcess;
  worker?: ElevateProcess;
  /** Start-up times of every process started after a kill, by kind (ms). */
  readonly restarts: Record<ProcessKind, number[]> = { api: [], worker: [] };

  private constructor(
    private readonly stack: Stack,
    readonly apiUrl: string,
    private readonly envs: Record<ProcessKind, NodeJS.ProcessEnv>,
    private readonly idp: DevIdentityProvider,
  ) {}

  /**
   * Start both processes. `keys` is the API's decision signing key pair (PEM): the API signs
   * with it and the worker trusts it, as the stack's in-process services must also use it.
   */
  static async start(
    stack: Stack,
    keys: { privatePem: string; publicPem: string },
    /** More environment for each kind of process (Slack for the API, say). */
    extraEnv: Partial<Record<ProcessKind, NodeJS.ProcessEnv>> = {},
  ): Promise<ElevateDeployment> {
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const idp = await startDevIdentityProvider({
      clients: [
        { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${apiUrl}/approvals/callback`] },
      ],
      accounts: [APPROVER],
      logger: stack.logger,
      env: {},
    });
    const common = {
      ELEVATE_DECISION_PUBLIC_KEYS: keys.publicPem,
      LOG_LEVEL: 'info',
      ...(stack.storeLocation.databaseUrl ? { DATABASE_URL: stack.storeLocation.databaseUrl } : {}),
    };
    const envs: Record<ProcessKind, NodeJS.ProcessEnv> = {
      worker: workerProcessEnv(stack, { ...common, ...extraEnv.worker }),
      api: workerProcessEnv(stack, {
        ...common,
        HOST: '127.0.0.1',
        PORT: String(port),
        ELEVATE_PUBLIC_URL: apiUrl,
        ELEVATE_DECISION_SIGNING_KEY: keys.privatePem,
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: CLIENT_ID,
        OIDC_CLIENT_SECRET: CLIENT_SECRET,
        OIDC_MFA_METHODS: 'mfa,otp,hwk,swk',
        ...extraEnv.api,
      }),
    };
    const deployment = new ElevateDeployment(stack, apiUrl, envs, idp);
    await Promise.all([deployment.launch('worker'), deployment.launch('api')]);
    return deployment;
  }

  /** Start a process of `kind`; resolves once it is ready, with its start-up time. */
  async launch(kind: ProcessKind): Promise<number> {
    const proc = startElevateProcess(kind, this.envs[kind]);
    this[kind] = proc;
    return proc.ready;
  }

  /**
   * Skew the wall clock of the next process of `kind` by `offsetMs` (0: the true clock); takes
   * effect at its next {@link launch}.
   */
  setClockOffset(kind: ProcessKind, offsetMs: number): void {
    this.envs[kind] = { ...this.envs[kind], ELEVATE_TEST_CLOCK_OFFSET_MS: String(offsetMs) };
  }

  /** SIGKILL the process of `kind` and wait until it is gone; when it was killed. */
  async kill(kind: ProcessKind): Promise<number> {
    const proc = this[kind];
    if (!proc) throw new Error(`no ${kind} process`);
    const at = Date.now();
    process.kill(proc.pid, 'SIGKILL');
    await proc.exited;
    return at;
  }

  /** A new process of `kind` after a kill; its start-up time is recorded. */
  async restart(kind: ProcessKind): Promise<number> {
    const ms = await this.launch(kind);
    this.restarts[kind].push(ms);
    return ms;
  }

  /** Stop both processes (SIGTERM, SIGKILL after 15 s) and the identity provider. */
  async close(): Promise<void> {
    await Promise.all(
      [this.api, this.worker].map(async (p) => {
        if (!p) return;
        try {
          process.kill(p.pid, 'SIGTERM');
        } catch {
          return;
        }
        const timer = setTimeout(() => {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            // gone
          }
        }, 15_000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    await this.idp.stop();
  }

  /**
   * The bot's request through the API process; retried with the same `requestId` while the
   * API cannot answer (a killed API), until `timeoutMs`.
   */
  async request(
    botId: string,
    body: { role: string; durationSeconds: number; requestId: string },
    timeoutMs = 60_000,
  ): Promise<ElevationView> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        return await this.requestOnce(botId, body);
      } catch (err) {
        last = err;
        await sleep(200);
      }
    }
    throw new Error(`the request of ${botId} was not accepted: ${String(last)}`);
  }

  /** One try of {@link request}. */
  async requestOnce(
    botId: string,
    body: { role: string; durationSeconds: number; requestId: string },
  ): Promise<ElevationView> {
    const res = await fetch(`${this.apiUrl}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.stack.keys[botId]!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, justification: 'fault suite' }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== 202 && res.status !== 200) throw new Error(`${res.status} ${text}`);
    return JSON.parse(text) as ElevationView;
  }

  /**
   * The approver's side through the API process's approval pages: log in (password and TOTP)
   * and get the confirmation page, then `confirm()` submits it.
   */
  async approvalPage(elevationId: string): Promise<{ confirm: () => Promise<Response> }> {
    const browser = createBrowser(this.apiUrl);
    const page = await browser.login(`${this.apiUrl}/approvals/${elevationId}`, APPROVER);
    const html = await page.text();
    if (page.status !== 200) throw new Error(`approval page: ${page.status} ${html.slice(0, 300)}`);
    return { confirm: () => browser.confirm(html) };
  }
}
