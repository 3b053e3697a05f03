/**
 * What an `https://` public URL changes in the API process (`elevate api`, started as
 * `runtime/api.ts` composes it), against a plain `http://` loopback one: every response
 * carries `Strict-Transport-Security`, the approval pages' cookie is `__Secure-` and the
 * console's cookies `__Host-` (Secure, `Path=/`, no `Domain`), so a sibling subdomain or a
 * plain-http page cannot plant or shadow them. The process itself listens on plain http on
 * loopback, as behind a TLS proxy; the provider's redirects to the public address are brought
 * to it the way the proxy would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { automatedLogin } from '../../dev/automated-login.js';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/dev-identity-provider.js';
import { freePort } from '../../dev/processes.js';
import { stepUpSettings } from '../../integrations/oidc/step-up.js';
import { startApi, type ApiProcess } from '../../runtime/api.js';
import { person } from '../support/approval-stack.js';
import { botOf, stackServiceSettings, startStack, testLogger, type Stack } from '../support/stack.js';

const CLIENT_ID = 'elevate-https-test';
const CLIENT_SECRET = 'elevate-https-test-secret-0123456789';
const ADMIN_GROUP = 'elevate-admins';
const HTTPS_URL = 'https://elevate.example.test';

const ann = person('ann'); // approves
const alice = person('alice'); // admin through the group claim

let stack: Stack;
let idp: DevIdentityProvider;
let httpsApi: ApiProcess;
let httpApi: ApiProcess;
let httpUrl = '';

async function api(publicUrl: string, port: number): Promise<ApiProcess> {
  const oidc = stepUpSettings({
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: `${publicUrl}/approvals/callback`,
  });
  return startApi({
    settings: stackServiceSettings(stack, {
      port,
      publicUrl,
      oidc,
      adminConsole: {
        groupsClaim: 'groups',
        groups: [ADMIN_GROUP],
        idleMinutes: 30,
        maxHours: 8,
        recheckMinutes: 5,
      },
    }),
    policy: stack.policy,
    logger: testLogger(),
    env: {},
  });
}

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'https-bot', roles: ['https-approval'] }],
    roles: [{ id: 'https-approval', approval: { mode: 'approvers', approvers: [ann.email] } }],
    people: [ann, alice].map((p) => ({ uid: p.uid, mail: p.email })),
  });
  const httpPort = await freePort();
  httpUrl = `http://127.0.0.1:${httpPort}`;
  idp = await startDevIdentityProvider({
    clients: [
      {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [HTTPS_URL, httpUrl].flatMap((u) => [`${u}/approvals/callback`, `${u}/admin/callback`]),
      },
    ],
    accounts: [
      { email: ann.email, password: ann.password, totpSecret: ann.totpSecret },
      { email: alice.email, password: alice.password, totpSecret: alice.totpSecret, groups: [ADMIN_GROUP] },
    ],
    logger: stack.logger,
    env: {},
  });
  httpsApi = await api(HTTPS_URL, 0);
  httpApi = await api(httpUrl, httpPort);
}, 120_000);

afterAll(async () => {
  await httpsApi?.close();
  await httpApi?.close();
  await idp?.stop();
  await stack?.close();
});

/** The provider's redirect back to `publicUrl`, sent to the process at `listening` instead. */
function viaProxy(callback: URL, listening: string): string {
  return `${listening}${callback.pathname}${callback.search}`;
}

/** The cookie set under `name` (its whole `set-cookie` line), or undefined. */
function setCookie(res: Response, name: string): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`) && !/Max-Age=0\b/.test(c));
}

const variants = [
  {
    what: 'https:// public URL',
    process: () => httpsApi,
    publicUrl: () => HTTPS_URL,
    hsts: 'max-age=31536000',
    approvalCookie: '__Secure-elevate_approval',
    loginCookie: '__Host-elevate_admin_login',
    sessionCookie: '__Host-elevate_admin',
    secure: true,
  },
  {
    what: 'http:// loopback public URL',
    process: () => httpApi,
    publicUrl: () => httpUrl,
    hsts: null,
    approvalCookie: 'elevate_approval',
    loginCookie: 'elevate_admin_login',
    sessionCookie: 'elevate_admin',
    secure: false,
  },
] as const;

describe.each(variants)('an API process with an $what', (v) => {
  it('when anything is asked, then Strict-Transport-Security is sent exactly over https', async () => {
    const base = v.process().url;
    for (const [method, path, status] of [
      ['GET', '/livez', 200],
      ['POST', '/v1/elevations', 401],
      ['GET', '/no-such-page', 404],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('strict-transport-security'), path).toBe(v.hsts);
    }
  });

  it('when an approver opens an approval and comes back from the provider, then the approval cookie is named and flagged for the scheme, and is read back', async () => {
    const base = v.process().url;
    const { elevation } = await stack.services.requests.request(botOf(stack, 'https-bot'), {
      role: 'https-approval',
      durationSeconds: 600,
      justification: `cookies over ${v.what}`,
    });
    await stack.waitFor(elevation.id, (e) => e.status === 'pending_approval');
    const start = await fetch(`${base}/approvals/${elevation.id}`, { redirect: 'manual' });
    expect(start.status).toBe(303);
    expect(start.headers.get('strict-transport-security')).toBe(v.hsts);
    const line = setCookie(start, v.approvalCookie);
    expect(line, start.headers.getSetCookie().join('\n')).toBeDefined();
    expect(line).toMatch(/; Path=\/approvals; HttpOnly; SameSite=Lax; Max-Age=\d+/);
    expect(/; Secure\b/.test(line!)).toBe(v.secure);
    // Neither name is set alongside the other.
    const other = v.secure ? 'elevate_approval' : '__Secure-elevate_approval';
    expect(setCookie(start, other)).toBeUndefined();

    const callback = await automatedLogin(start.headers.get('location')!, ann);
    expect(callback.origin).toBe(new URL(v.publicUrl()).origin);
    const page = await fetch(viaProxy(callback, base), {
      redirect: 'manual',
      headers: { cookie: line!.split(';')[0]! },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="confirmation"');
  });

  it('when an admin signs in to the console, then the login and session cookies are named and flagged for the scheme, and the session is read back', async () => {
    const base = v.process().url;
    const signedOut = await fetch(`${base}/admin`, { redirect: 'manual' });
    expect(signedOut.status).toBe(302);
    const signIn = new URL(signedOut.headers.get('location')!, v.publicUrl());
    expect(signIn.pathname).toBe('/admin/login');
    const start = await fetch(viaProxy(signIn, base), { redirect: 'manual' });
    expect(start.status).toBe(303);
    const login = setCookie(start, v.loginCookie);
    expect(login, start.headers.getSetCookie().join('\n')).toBeDefined();
    expect(login).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+/);
    expect(login).not.toMatch(/Domain=/i);
    expect(/; Secure\b/.test(login!)).toBe(v.secure);

    const callback = await automatedLogin(start.headers.get('location')!, alice);
    expect(callback.origin).toBe(new URL(v.publicUrl()).origin);
    const signedIn = await fetch(viaProxy(callback, base), {
      redirect: 'manual',
      headers: { cookie: login!.split(';')[0]! },
    });
    expect(signedIn.status).toBeLessThan(400);
    expect(signedIn.headers.get('strict-transport-security')).toBe(v.hsts);
    const session = setCookie(signedIn, v.sessionCookie);
    expect(session, signedIn.headers.getSetCookie().join('\n')).toBeDefined();
    expect(session).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+/);
    expect(session).not.toMatch(/Domain=/i);
    expect(/; Secure\b/.test(session!)).toBe(v.secure);

    const list = await fetch(`${base}/admin`, {
      redirect: 'manual',
      headers: { cookie: session!.split(';')[0]! },
    });
    expect(list.status).toBe(200);
    expect(await list.text()).toContain(alice.email);
  });
});
