/**
 * The admin console end to end, on a whole stack (Temporal, slapd, SQLite, the worker) with the
 * development OpenID Connect provider:
 *
 * - in a real browser (Chromium through playwright-core): sign in with password and TOTP,
 *   filter the list, open an elevation (MFA evidence, receipts), download its evidence pack and
 *   check it, revoke with confirmation, lock a bot down, the charts and a verification; every
 *   step leaves a screenshot under `test-artifacts/admin-console/`;
 * - over plain HTTP: every page and endpoint signed out (302 / 401), a non-admin (403, audited),
 *   a sign-in without MFA, CSRF-less and cross-origin posts (403), idle and absolute session
 *   timeouts, the re-check of admin rights (LDAP removal, group claim), sign-out, and the
 *   console switched off.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { TOTP, Secret } from 'otpauth';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../dev/chromium.js';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { verifyEvidencePack, type EvidencePack } from '../../integrations/audit/evidence-pack.js';
import { groupDn, personDn } from '../../dev/ldap-seed.js';
import { AdminLoginClient } from '../../integrations/oidc/admin-login.js';
import { automatedLogin } from '../../dev/automated-login.js';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/dev-identity-provider.js';
import { StepUpClient, stepUpSettings } from '../../integrations/oidc/step-up.js';
import { adminConsole } from '../../server/admin/console.js';
import { createApp } from '../../server/app.js';
import { approvalRoutes } from '../../server/approvals.js';
import { createBrowser } from '../../dev/browser.js';
import { person, type Person } from '../support/approval-stack.js';
import { SUFFIX, botOf, startStack, type Stack } from '../support/stack.js';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/admin-console');
const CLIENT_ID = 'elevate-console-test';
const CLIENT_SECRET = 'elevate-console-test-secret-0123456789';
const ADMIN_GROUP = 'elevate-admins';

const alice = person('alice'); // admin through the LDAP group
const dave = person('dave'); // admin through the LDAP group, removed from it during the tests
const carol = person('carol'); // admin through the group claim
const mallory = person('mallory'); // signs in, is no admin
const lee = person('lee'); // approves
const pat = { ...person('pat'), totpSecret: undefined }; // password only: no MFA
const kate = person('kate'); // admin through the LDAP group (never signs in herself)
/** An identity-provider account whose address lower-cases to kate's: `\u212A` is KELVIN SIGN. */
const kelvin = { ...person('kelvin'), email: '\u212Aate@example.org' };

let stack: Stack;
let idp: DevIdentityProvider;
let server: Server;
let url = '';
let offsetMs = 0;
let off: { server: Server; url: string };

/** Cookies per name, as a browser keeps them for one origin. */
class Jar {
  readonly cookies = new Map<string, string>();
  keep(res: Response): Response {
    for (const header of res.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function get(jar: Jar, target: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(target.startsWith('http') ? target : `${url}${target}`, {
    redirect: 'manual',
    headers: { ...headers, ...(jar.cookies.size ? { cookie: jar.header } : {}) },
  });
  return jar.keep(res);
}

async function post(
  jar: Jar,
  target: string,
  form: Record<string, string>,
  headers: Record<string, string> = { origin: '' },
): Promise<Response> {
  const h: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...(jar.cookies.size ? { cookie: jar.header } : {}),
  };
  // A browser's form post: Origin of the console, unless the test says otherwise.
  if (headers.origin === '') h.origin = url;
  for (const [k, v] of Object.entries(headers)) if (v !== '') h[k] = v;
  return jar.keep(
    await fetch(`${url}${target}`, {
      method: 'POST',
      redirect: 'manual',
      headers: h,
      body: new URLSearchParams(form).toString(),
    }),
  );
}

/** Sign in over HTTP: the console's redirect, the provider's pages, the callback. */
async function signIn(
  who: { email: string; password: string; totpSecret?: string | undefined },
  next = '/admin',
) {
  const jar = new Jar();
  const start = await get(jar, `/admin/login?next=${encodeURIComponent(next)}`);
  expect(start.status).toBe(303);
  const callback = await automatedLogin(start.headers.get('location')!, {
    email: who.email,
    password: who.password,
    ...(who.totpSecret ? { totpSecret: who.totpSecret } : {}),
  });
  const res = await get(jar, callback.toString());
  return { jar, res };
}

/** The CSRF token in a console page (every signed-in page has the sign-out form). */
function csrfOf(html: string): string {
  const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no CSRF token in the page:\n${html.slice(0, 400)}`);
  return token;
}

async function eventsWhere(predicate: (e: AuditEvent) => boolean): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (;;) {
    const page = await stack.stores.auditLog.readEvents(all.at(-1)?.position ?? 0, 1000);
    if (page.length === 0) return all.filter(predicate);
    all.push(...page);
  }
}

async function activeElevation(botId: string, role: string): Promise<string> {
  const { elevation } = await stack.services.requests.request(botOf(stack, botId), {
    role,
    durationSeconds: 3600,
    justification: `console test ${role}`,
  });
  await stack.waitFor(elevation.id, (v) => v.status === 'active' || v.status === 'pending_approval');
  return elevation.id;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack({
    bots: [
      { id: 'etl-bot', roles: ['ops-auto', 'ops-approval'] },
      { id: 'ci-bot', roles: ['ops-auto'] },
    ],
    roles: [
      { id: 'ops-auto' },
      { id: 'ops-approval', approval: { mode: 'approvers', approvers: [lee.email] } },
    ],
    people: [alice, dave, carol, mallory, lee, pat, kate].map((p) => ({ uid: p.uid, mail: p.email })),
    peopleGroups: [{ id: ADMIN_GROUP, members: ['alice', 'dave', 'kate'] }],
  });
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = (p: Person | typeof pat, groups?: string[]) => ({
    email: p.email,
    password: p.password,
    ...(p.totpSecret ? { totpSecret: p.totpSecret } : {}),
    ...(groups ? { groups } : {}),
  });
  idp = await startDevIdentityProvider({
    clients: [
      {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${url}/admin/callback`, `${url}/approvals/callback`],
      },
    ],
    accounts: [
      accounts(alice),
      accounts(dave),
      accounts(carol, [ADMIN_GROUP, 'staff']),
      accounts(mallory, ['staff']),
      accounts(lee),
      accounts(pat, [ADMIN_GROUP]),
      accounts(kelvin),
    ],
    logger: stack.logger,
    env: {},
  });
  const oidc = stepUpSettings({
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: `${url}/approvals/callback`,
  });
  let stepUp: Promise<StepUpClient> | undefined;
  let login: Promise<AdminLoginClient> | undefined;
  const consoleUi = adminConsole({
    ...stack.services,
    policy: stack.policy,
    ...stack.stores,
    settings: {
      groupsClaim: 'groups',
      groups: [ADMIN_GROUP],
      ldapGroupDn: groupDn(SUFFIX, ADMIN_GROUP),
      idleMinutes: 30,
      maxHours: 8,
      recheckMinutes: 5,
    },
    login: () =>
      (login ??= AdminLoginClient.discover(
        {
          issuer: idp.issuer,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUri: `${url}/admin/callback`,
          mfaMethods: oidc.mfaMethods,
          mfaAcrValues: oidc.mfaAcrValues,
          emailClaim: 'email',
          groupsClaim: 'groups',
        },
        { allowInsecureHttp: true },
      )),
    directory: stack.directory,
    publicUrl: url,
    logger: stack.logger,
    clock: () => new Date(Date.now() + offsetMs),
    pageSize: 2,
  });
  const app = createApp({
    services: stack.services,
    healthChecks: {},
    logger: stack.logger,
    adminConsole: consoleUi,
    routers: [
      approvalRoutes({
        ...stack.services,
        stepUp: () => (stepUp ??= StepUpClient.discover(oidc, { allowInsecureHttp: true })),
        singleUse: stack.stores.singleUse,
        publicUrl: url,
        slackBound: false,
        logger: stack.logger,
      }),
    ],
  });
  server.on('request', app);
  // The same API without a console configured.
  const offApp = createApp({ services: stack.services, healthChecks: {}, logger: stack.logger });
  const offServer = createServer(offApp);
  await new Promise<void>((resolve) => offServer.listen(0, '127.0.0.1', resolve));
  off = { server: offServer, url: `http://127.0.0.1:${(offServer.address() as AddressInfo).port}` };
});

afterAll(async () => {
  for (const s of [server, off?.server]) {
    if (!s) continue;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
  await idp?.stop();
  await stack?.close();
});

// ---------------------------------------------------------------------------------------------

describe('the admin console in a browser', () => {
  let browser: Browser;
  let page: Page;
  const cspErrors: string[] = [];
  const shot = (name: string) =>
    page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    browser = await launchChromium();
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  let approvedId = '';
  let autoId = '';

  it('when an admin signs in with password and TOTP, then the list of elevations shows', async () => {
    autoId = await activeElevation('ci-bot', 'ops-auto');
    // An elevation approved by lee with MFA, through the approval pages.
    const { elevation } = await stack.services.requests.request(botOf(stack, 'etl-bot'), {
      role: 'ops-approval',
      durationSeconds: 3600,
      justification: 'quarterly close',
    });
    approvedId = elevation.id;
    await stack.waitFor(approvedId, (v) => v.status === 'pending_approval');
    const approver = createBrowser(url);
    const confirmPage = await approver.login(`${url}/approvals/${approvedId}`, lee);
    expect(confirmPage.status).toBe(200);
    expect((await approver.confirm(await confirmPage.text())).status).toBe(200);
    await stack.waitFor(approvedId, (v) => v.status === 'active');

    await page.goto(`${url}/admin`);
    // Signed out: through the console's sign-in to the provider's login page.
    expect(page.url()).toContain(idp.issuer);
    await shot('01-provider-login');
    await page.fill('input[name=email]', alice.email);
    await page.fill('input[name=password]', alice.password);
    await page.click('button[type=submit]');
    await page.fill('input[name=otp]', new TOTP({ secret: Secret.fromBase32(alice.totpSecret) }).generate());
    await page.click('button[type=submit]');
    await page.waitForURL(`${url}/admin`);
    await shot('02-elevations');

    expect(await page.textContent('header')).toContain(alice.email);
    const rows = await page.locator('table.list tbody tr').count();
    expect(rows).toBe(2); // a page of 2 (the test's page size), newest first
    expect(await page.locator('a[rel=next]').count()).toBe(0);
    // The stylesheet applies under the strict CSP: the header is dark.
    const background = await page.$eval(
      'header.top',
      // Runs in the page, where getComputedStyle exists (this project's types have no DOM).
      (el) =>
        (
          globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
        ).getComputedStyle(el).backgroundColor,
    );
    expect(background).toBe('rgb(29, 29, 31)');
    const signedIn = await eventsWhere((e) => e.type === 'admin.signed_in' && e.actor.id === alice.email);
    expect(signedIn[0]?.data).toMatchObject({ via: 'console', rights: ['ldap_group'], mfaMethod: 'otp' });
  });

  it('when the list is filtered, then only the matching elevations show', async () => {
    await page.selectOption('select[name=risk]', 'medium');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/risk=medium/);
    await shot('03-filtered');
    const links = await page.locator('table.list tbody tr td a code').allTextContents();
    expect(links).toEqual([approvedId]);

    await page.goto(`${url}/admin?bot=ci-bot&status=active`);
    expect(await page.locator('table.list tbody tr td a code').allTextContents()).toEqual([autoId]);
    expect(await page.isChecked('input[name=status][value=active]')).toBe(true);
  });

  it('when an elevation is opened, then its MFA evidence, receipts, workflow and timeline show', async () => {
    await page.goto(`${url}/admin?risk=medium`);
    await page.click(`a[href="/admin/elevations/${approvedId}"]`);
    await page.waitForURL(`${url}/admin/elevations/${approvedId}`);
    await shot('04-elevation');
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('Approval 1');
    expect(text).toContain(lee.email);
    expect(text).toContain(idp.issuer);
    expect(text).toContain('pwd otp');
    expect(text).toContain('Confirmed by read-back at');
    expect(text).toContain(`elevation-${approvedId}`);
    expect(text).toContain('approval.accepted');
    expect(text).toContain('grant.confirmed');
  });

  it('when the evidence pack is downloaded, then the file verifies and names the admin', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('text=Download evidence pack'),
    ]);
    const file = path.join(ARTIFACTS, `evidence-${approvedId}.json`);
    await download.saveAs(file);
    expect(download.suggestedFilename()).toBe(`elevate-evidence-${approvedId}.json`);
    const pack = JSON.parse(readFileSync(file, 'utf8')) as EvidencePack;

    expect(verifyEvidencePack(pack)).toEqual({ ok: true, problems: [] });
    expect(pack).toMatchObject({
      elevationId: approvedId,
      via: 'console',
      exportedBy: { kind: 'admin', id: alice.email },
      workflowId: `elevation-${approvedId}`,
      chain: { verify: { ok: true } },
    });
    expect(pack.approvals[0]?.evidence).toMatchObject({ issuer: idp.issuer, amr: ['pwd', 'otp'] });
    expect(pack.receipts.grant?.principal).toContain('etl-bot');
    // The export is on record in the live chain.
    const anchored = await stack.stores.auditLog.verify({
      anchors: [{ position: pack.exportEvent.position, hash: pack.exportEvent.hash }],
    });
    expect(anchored.ok).toBe(true);
  });

  it('when an admin revokes an elevation, then a confirmation comes first and the revocation is audited', async () => {
    await page.goto(`${url}/admin/elevations/${autoId}`);
    await page.click('text=Revoke…');
    await page.waitForURL(`${url}/admin/elevations/${autoId}/revoke`);
    await shot('05-revoke-confirm');
    // Nothing happened yet.
    expect((await stack.services.requests.get(autoId, { kind: 'admin' })).status).toBe('active');
    await page.fill('input[name=reason]', 'left running <b>over</b> the weekend');
    await page.click('button.danger');
    await page.waitForURL(/notice=(revoked|revoke_started)/);
    await shot('06-revoked');
    expect(await page.textContent('.notice')).toMatch(/Revocation started|revoked/);
    await stack.waitFor(autoId, (v) => v.status === 'revoked');

    const actions = await eventsWhere((e) => e.type === 'admin.action' && e.elevationId === autoId);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      actor: { kind: 'admin', id: alice.email },
      data: { action: 'revoke_elevation', via: 'console', reason: 'left running <b>over</b> the weekend' },
    });
    const started = await eventsWhere((e) => e.type === 'revoke.started' && e.elevationId === autoId);
    expect(started[0]?.actor).toEqual({ kind: 'admin', id: alice.email });
    // The reason is shown escaped in the timeline.
    await page.goto(`${url}/admin/elevations/${autoId}`);
    expect(await page.locator('main b').count()).toBe(0);
  });

  it('when an admin locks a bot down, then it is locked, its elevations revoked, and it is audited', async () => {
    await page.goto(`${url}/admin/bots/etl-bot`);
    await shot('07-bot');
    expect(await page.textContent('main')).toContain('Roles it may request');
    await page.click('text=Lock down…');
    await page.fill('input[name=reason]', 'suspected key leak');
    await page.click('button.danger');
    await page.waitForURL(/notice=locked/, { timeout: 20_000 });
    await shot('08-bot-locked');
    expect(await page.textContent('main')).toContain('locked down');
    const bot = await stack.services.bots.getBot('etl-bot');
    expect(bot.locked).toMatchObject({ by: alice.email, reason: 'suspected key leak' });
    const locked = await eventsWhere((e) => e.type === 'bot.locked');
    expect(locked[0]).toMatchObject({
      actor: { kind: 'admin', id: alice.email },
      data: { botId: 'etl-bot', via: 'console' },
    });
    await stack.waitFor(approvedId, (v) => v.status === 'revoked');
  });

  it('when the charts and a verification are opened, then they render with their text alternatives', async () => {
    await page.goto(`${url}/admin/charts`);
    await shot('09-charts');
    expect(await page.locator('svg.chart[role=img]').count()).toBe(6);
    expect(await page.locator('table.chart-data').count()).toBeGreaterThanOrEqual(5);
    const perDay = (await page.locator('table.chart-data').first().textContent()) ?? '';
    expect(perDay).toContain('revoked by an admin');

    await page.goto(`${url}/admin/audit/verify`);
    await page.click('text=Verify now');
    await page.waitForSelector('text=intact');
    await shot('10-verified');
    const verified = await eventsWhere((e) => e.type === 'admin.action' && e.data.action === 'verify_audit');
    expect(verified.at(-1)).toMatchObject({ actor: { id: alice.email }, data: { ok: true, via: 'console' } });
    expect(cspErrors).toEqual([]);
  });

  it('when the admin signs out, then the session is gone', async () => {
    await page.click('header button:has-text("Sign out")');
    await page.waitForSelector('text=You are signed out');
    await shot('11-signed-out');
    const res = await page.request.get(`${url}/admin`, { maxRedirects: 0 });
    expect(res.status()).toBe(302);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the admin console over HTTP', () => {
  const someId = 'el_0123456789abcdef01234567';
  const pages = [
    '/admin',
    `/admin/elevations/${someId}`,
    `/admin/elevations/${someId}/revoke`,
    '/admin/bots/ci-bot',
    '/admin/bots/ci-bot/lock',
    '/admin/bots/ci-bot/unlock',
    '/admin/audit/verify',
    '/admin/charts',
    '/admin/reports/least-privilege',
  ];
  const posts = [
    `/admin/elevations/${someId}/revoke`,
    '/admin/bots/ci-bot/lock',
    '/admin/bots/ci-bot/unlock',
    '/admin/audit/verify',
    '/admin/logout',
  ];

  it('when signed out, then pages redirect to the sign-in, posts are 401 and the evidence API is 401 JSON', async () => {
    const jar = new Jar();
    for (const p of pages) {
      const res = await get(jar, p);
      expect(res.status, p).toBe(302);
      expect(res.headers.get('location'), p).toBe(`/admin/login?next=${encodeURIComponent(p)}`);
    }
    for (const p of posts) {
      const res = await post(jar, p, { csrf: 'x'.repeat(43), reason: 'r' });
      expect(res.status, p).toBe(401);
    }
    const evidence = await fetch(`${url}/v1/admin/elevations/${someId}/evidence`);
    expect(evidence.status).toBe(401);
    expect(await evidence.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    // Every console answer carries the strict policy.
    const res = await get(jar, '/admin/login');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'; style-src 'self'");
  });

  it('when a non-admin signs in, then the answer is 403 and the refusal is audited', async () => {
    const { jar, res } = await signIn(mallory);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('not an admin');
    expect(jar.cookies.has('elevate_admin')).toBe(false);
    const refused = await eventsWhere(
      (e) => e.type === 'auth.refused' && e.data.reason === 'not_admin' && e.actor.id === mallory.email,
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]?.data).toMatchObject({ via: 'console', stage: 'sign_in', groups: ['staff'] });
    // And it gets nothing afterwards.
    expect((await get(jar, '/admin')).status).toBe(302);
  });

  it("when someone signs in with a KELVIN SIGN look-alike of an admin's address, then they are not an admin (403, audited) (M2)", async () => {
    // The old check lower-cased the address, and LDAP then found kate, an admin.
    expect(kelvin.email.toLowerCase()).toBe(kate.email);
    const { jar, res } = await signIn(kelvin);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('non-ASCII');
    expect(jar.cookies.has('elevate_admin')).toBe(false);
    expect(
      await eventsWhere((e) => e.type === 'auth.refused' && e.data.reason === 'non_ascii_address'),
    ).toHaveLength(1);
  });

  it('when a sign-in has no MFA, then it is refused (401) even for someone in the admin group', async () => {
    const { jar, res } = await signIn(pat);
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('multi-factor');
    expect(jar.cookies.has('elevate_admin')).toBe(false);
    expect(
      await eventsWhere(
        (e) => e.type === 'auth.refused' && e.data.reason === 'insufficient_user_authentication',
      ),
    ).not.toHaveLength(0);
  });

  it("when the callback comes from another browser, then it is refused without using up the admin's sign-in; replayed, it is refused", async () => {
    const jar = new Jar();
    const start = await get(jar, '/admin/login');
    const callback = await automatedLogin(start.headers.get('location')!, alice);
    const stranger = new Jar();
    // Someone who saw the `state` (a forwarded URL, the provider's logs) cannot burn the sign-in.
    const burnt = await get(stranger, callback.toString());
    expect(burnt.status).toBe(400);
    expect(await burnt.text()).toContain('started in another browser');
    expect(stranger.cookies.size).toBe(0);
    expect((await get(jar, callback.toString())).status).toBe(303); // the admin's own browser: signed in
    expect((await get(jar, callback.toString())).status).toBe(400); // already used
  });

  it('when another site makes a signed-in browser fetch an evidence pack or the charts, then 403, audited, and no export is recorded', async () => {
    const id = await activeElevation('ci-bot', 'ops-auto');
    const { jar } = await signIn(alice);
    const exports = async () => (await eventsWhere((e) => e.type === 'audit.exported')).length;
    const before = await exports();
    for (const site of ['cross-site', 'same-site']) {
      const pack = await get(jar, `/v1/admin/elevations/${id}/evidence`, { 'sec-fetch-site': site });
      expect(pack.status, site).toBe(403);
      expect(((await pack.json()) as { error: { field: string } }).error.field).toBe('sec-fetch-site');
      expect((await get(jar, '/admin/charts?days=90', { 'sec-fetch-site': site })).status, site).toBe(403);
    }
    expect(await exports()).toBe(before);
    expect(
      await eventsWhere((e) => e.type === 'auth.refused' && e.data.reason === 'cross_site'),
    ).not.toHaveLength(0);
    // From the console itself, or typed in the address bar, they work.
    expect(
      (await get(jar, `/v1/admin/elevations/${id}/evidence`, { 'sec-fetch-site': 'same-origin' })).status,
    ).toBe(200);
    expect((await get(jar, '/admin/charts', { 'sec-fetch-site': 'none' })).status).toBe(200);
    expect(await exports()).toBe(before + 1);
  });

  it('when an admin signs in, then the session cookie is HttpOnly, SameSite=Lax, and rights come from the claim or LDAP', async () => {
    const jar = new Jar();
    const start = await get(jar, `/admin/login?next=${encodeURIComponent('/admin/charts?days=7')}`);
    const login = start.headers.getSetCookie()[0] ?? '';
    expect(login).toMatch(
      /^elevate_admin_login=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/,
    );
    const callback = await automatedLogin(start.headers.get('location')!, carol);
    const res = await get(jar, callback.toString());
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/charts?days=7');
    const session = res.headers.getSetCookie().find((c) => c.startsWith('elevate_admin='))!;
    expect(session).toMatch(
      /^elevate_admin=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=28800$/,
    );
    expect((await get(jar, '/admin/charts?days=7')).status).toBe(200);
    const signedIn = await eventsWhere((e) => e.type === 'admin.signed_in' && e.actor.id === carol.email);
    expect(signedIn.at(-1)?.data.rights).toEqual(['oidc_group']);
    // `next` never leaves the console.
    const evil = await get(new Jar(), `/admin/login?next=${encodeURIComponent('//evil.example/x')}`);
    const state = new URL(evil.headers.get('location')!).searchParams.get('state')!;
    const pending = await stack.stores.singleUse
      .namespace('admin-login', z.object({ next: z.string() }))
      .peek(createHash('sha256').update(state).digest('base64url'));
    expect(pending?.next).toBe('/admin');
  });

  it('when a form is posted without its CSRF token or from another origin, then it is refused with 403', async () => {
    const id = await activeElevation('ci-bot', 'ops-auto');
    const { jar } = await signIn(alice);
    const csrf = csrfOf(await (await get(jar, `/admin/elevations/${id}/revoke`)).text());
    const form = { csrf, reason: 'test' };

    expect((await post(jar, `/admin/elevations/${id}/revoke`, { reason: 'no token' })).status).toBe(403);
    expect(
      (await post(jar, `/admin/elevations/${id}/revoke`, { csrf: `${csrf.slice(1)}x`, reason: 'r' })).status,
    ).toBe(403);
    expect(
      (await post(jar, `/admin/elevations/${id}/revoke`, form, { origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await post(jar, `/admin/elevations/${id}/revoke`, form, { origin: 'null' })).status).toBe(403);
    expect(
      (
        await post(jar, `/admin/elevations/${id}/revoke`, form, {
          origin: url,
          'sec-fetch-site': 'cross-site',
        })
      ).status,
    ).toBe(403);
    for (const p of posts.filter((x) => x !== '/admin/logout')) {
      expect((await post(jar, p, { reason: 'no token' })).status, p).toBe(403);
    }
    expect((await post(jar, '/admin/logout', {})).status).toBe(403);
    // Nothing was revoked by any of them.
    expect((await stack.services.requests.get(id, { kind: 'admin' })).status).toBe('active');
    expect(
      await eventsWhere((e) => e.type === 'auth.refused' && e.data.reason === 'csrf_token'),
    ).not.toHaveLength(0);
    expect(
      await eventsWhere((e) => e.type === 'auth.refused' && e.data.reason === 'cross_origin'),
    ).not.toHaveLength(0);

    // A reason is required; with the token and the right origin it goes through.
    const empty = await post(jar, `/admin/elevations/${id}/revoke`, { csrf, reason: '   ' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('Give a reason');
    // A reason that hides or reorders text is refused, by the API's rule.
    const hidden = await post(jar, `/admin/elevations/${id}/revoke`, {
      csrf,
      reason: 'routine \u202ederised',
    });
    expect(hidden.status).toBe(400);
    expect(await hidden.text()).toContain('U+202E');
    const ok = await post(jar, `/admin/elevations/${id}/revoke`, form);
    expect(ok.status).toBe(303);
    await stack.waitFor(id, (v) => v.status === 'revoked');
  });

  it('when a session is idle too long, or too old, then it ends', async () => {
    try {
      const { jar } = await signIn(alice);
      offsetMs = 29 * 60_000;
      expect((await get(jar, '/admin')).status).toBe(200);
      offsetMs += 31 * 60_000; // 31 minutes after the last use
      expect((await get(jar, '/admin')).status).toBe(302);

      offsetMs = 0;
      const { jar: busy } = await signIn(alice);
      // Used every 20 minutes: alive until 8 hours after sign-in, then over.
      for (let minutes = 20; minutes < 8 * 60; minutes += 20) {
        offsetMs = minutes * 60_000;
        expect((await get(busy, '/admin')).status, `${minutes} min`).toBe(200);
      }
      offsetMs = (8 * 60 + 1) * 60_000;
      expect((await get(busy, '/admin')).status).toBe(302);
    } finally {
      offsetMs = 0;
    }
  });

  it('when admin rights are re-checked, then an LDAP removal ends the session (403, audited) and a claim needs a fresh sign-in', async () => {
    try {
      const { jar: d } = await signIn(dave);
      const { jar: c } = await signIn(carol);
      const ldap = new Client({ url: stack.slapd.url });
      await ldap.bind(stack.slapd.rootDn, stack.slapd.rootPassword);
      await ldap.modify(
        groupDn(SUFFIX, ADMIN_GROUP),
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: 'member', values: [personDn(SUFFIX, 'dave')] }),
        }),
      );
      await ldap.unbind();
      // Before the re-check is due, the session still works.
      offsetMs = 4 * 60_000;
      expect((await get(d, '/admin')).status).toBe(200);
      offsetMs = 6 * 60_000;
      const res = await get(d, '/admin');
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('not an admin');
      expect((await get(d, '/admin')).status).toBe(302);
      const refused = await eventsWhere(
        (e) => e.type === 'auth.refused' && e.data.reason === 'not_admin' && e.actor.id === dave.email,
      );
      expect(refused[0]).toMatchObject({ actor: { kind: 'admin' }, data: { stage: 'recheck' } });

      // Carol's rights came from the group claim: only the provider can confirm them.
      const again = await get(c, '/admin/charts');
      expect(again.status).toBe(302);
      expect(again.headers.get('location')).toBe(`/admin/login?next=${encodeURIComponent('/admin/charts')}`);
    } finally {
      offsetMs = 0;
    }
  });

  it('when the evidence pack is fetched with the admin token, then it is an attachment that verifies', async () => {
    const id = (await stack.services.audit.list({ limit: 1, status: ['revoked'] })).items[0]!.id;
    const res = await fetch(`${url}/v1/admin/elevations/${id}/evidence`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="elevate-evidence-${id}.json"`);
    const pack = (await res.json()) as EvidencePack;
    writeFileSync(path.join(ARTIFACTS, `evidence-api-${id}.json`), JSON.stringify(pack, null, 2));
    expect(verifyEvidencePack(pack)).toEqual({ ok: true, problems: [] });
    expect(pack).toMatchObject({ via: 'api', exportedBy: { kind: 'admin', id: 'test-admin' } });
    pack.events[0]!.at = '2020-01-01T00:00:00.000Z';
    expect(verifyEvidencePack(pack).ok).toBe(false);
  });

  it('when the list is paged or a filter is malformed, then pages follow on and a bad filter is a 400 page', async () => {
    await activeElevation('ci-bot', 'ops-auto');
    const { jar } = await signIn(alice);
    const ids = (html: string) =>
      [...html.matchAll(/<a href="\/admin\/elevations\/(el_[0-9a-f]{24})">/g)].map((m) => m[1]);
    const first = await (await get(jar, '/admin?team=test')).text();
    const next = /<a href="([^"]+)" rel="next">/.exec(first)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toMatch(/^\/admin\?team=test&cursor=/);
    const second = await (await get(jar, next!)).text();
    expect(ids(first)).toHaveLength(2);
    expect(ids(second).length).toBeGreaterThan(0);
    expect(ids(second).filter((id) => ids(first).includes(id))).toEqual([]);
    expect(second).toContain('First page');

    const bad = await get(jar, '/admin?risk=extreme&from=2026-13-40');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/role="alert">risk: /);
    const unknown = await get(jar, '/admin?colour=red');
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('Unknown filter: colour');
  });

  it('when the admin API lists with the new filters, then they apply there too', async () => {
    const list = async (query: string) => {
      const res = await fetch(`${url}/v1/admin/elevations?${query}`, {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      });
      expect(res.status, query).toBe(200);
      return ((await res.json()) as { items: { botId: string; roleId: string }[] }).items;
    };
    const medium = await list('risk=medium&team=test&targetType=ldap&environment=test');
    expect(medium.length).toBeGreaterThan(0);
    expect(new Set(medium.map((e) => e.roleId))).toEqual(new Set(['ops-approval']));
    expect((await list('owner=CI-BOT-OWNER@example.org')).every((e) => e.botId === 'ci-bot')).toBe(true);
    expect(await list('team=nobody')).toEqual([]);
    const bad = await fetch(`${url}/v1/admin/elevations?risk=extreme`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_request', field: 'risk' } });
  });

  it('when a recent sign-in is required, then the provider is asked for a new login and the sign-in carries its auth_time', async () => {
    const settings = {
      issuer: idp.issuer,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${url}/admin/callback`,
      mfaMethods: stepUpSettings({ issuer: idp.issuer, clientId: CLIENT_ID, redirectUri: url }).mfaMethods,
      mfaAcrValues: [],
      emailClaim: 'email',
      groupsClaim: 'groups',
    };
    const relaxed = await AdminLoginClient.discover(settings, { allowInsecureHttp: true });
    const strict = await AdminLoginClient.discover(
      { ...settings, maxAgeSeconds: 600 },
      { allowInsecureHttp: true },
    );

    const reuse = new URL((await relaxed.begin()).url).searchParams;
    expect(reuse.get('max_age')).toBeNull();
    expect(reuse.get('prompt')).toBeNull();

    const { url: loginUrl, transaction } = await strict.begin();
    const params = new URL(loginUrl).searchParams;
    expect(params.get('max_age')).toBe('600');
    expect(params.get('prompt')).toBe('login');
    const before = Date.now();
    const callback = await automatedLogin(loginUrl, alice);
    const identity = await strict.finish(callback, transaction);
    expect(identity.email).toBe(alice.email);
    // auth_time is whole seconds: the login happened during this test.
    expect(Date.parse(identity.authTime!)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(Date.parse(identity.authTime!)).toBeLessThanOrEqual(Date.now());
  });

  it('when the console is not configured, then its pages say how to turn it on', async () => {
    const res = await fetch(`${off.url}/admin`, { redirect: 'manual' });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain('ADMIN_OIDC_GROUPS');
    expect(html).toContain('ADMIN_LDAP_GROUP_DN');
    expect((await fetch(`${off.url}/admin/login`, { redirect: 'manual' })).status).toBe(404);
    // A callback without its `state` (refused by its schema) is answered the same way.
    expect((await fetch(`${off.url}/admin/callback`, { redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${off.url}/admin/console.css`)).headers.get('content-type')).toContain('text/css');
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * What an admin gets for each input the console's route table refuses: always a console page
 * (HTML, never the API's JSON or a 500), with the status and the words below.
 */
describe('the admin console with refused inputs', () => {
  let jar: Jar;
  let csrf = '';
  let elevationId = '';

  /** The answer's page, after checking it is an HTML console page with `status`. */
  async function pageOf(res: Response, status: number, what: string): Promise<string> {
    expect(res.status, what).toBe(status);
    expect(res.headers.get('content-type'), what).toMatch(/^text\/html; charset=utf-8/i);
    const html = await res.text();
    expect(html, what).toMatch(/^<!DOCTYPE html>/i);
    return html;
  }

  beforeAll(async () => {
    elevationId = await activeElevation('ci-bot', 'ops-auto');
    ({ jar } = await signIn(alice));
    csrf = csrfOf(await (await get(jar, '/admin')).text());
  });

  it('when a page names a malformed elevation id, then it is a 404 page "There is no such elevation"', async () => {
    for (const p of [
      '/admin/elevations/not-an-id',
      '/admin/elevations/EL_0123456789ABCDEF01234567',
      '/admin/elevations/not-an-id/revoke',
    ]) {
      const html = await pageOf(await get(jar, p), 404, p);
      expect(html, p).toContain('There is no such elevation.');
      expect(html, p).toContain(alice.email); // shown inside the console, signed in
    }
    const posted = await post(jar, '/admin/elevations/not-an-id/revoke', {
      csrf,
      reason: 'malformed id',
    });
    expect(await pageOf(posted, 404, 'POST revoke')).toContain('There is no such elevation.');
    expect(await eventsWhere((e) => e.data.reason === 'malformed id')).toEqual([]);
  });

  it('when a page names a malformed bot id, then it is a 404 page "There is no such bot"', async () => {
    for (const p of ['/admin/bots/CI-BOT', '/admin/bots/ci_bot/lock', '/admin/bots/-ci-bot/unlock']) {
      const html = await pageOf(await get(jar, p), 404, p);
      expect(html, p).toContain('There is no such bot.');
    }
    const posted = await post(jar, '/admin/bots/CI-BOT/lock', { csrf, reason: 'test' });
    expect(await pageOf(posted, 404, 'POST lock')).toContain('There is no such bot.');
  });

  it('when a pager cursor is malformed, then a bot page too long for one is the first page; one the store did not issue is a 400 page', async () => {
    // Longer than any cursor (512): the bot page reads it as no cursor.
    const tooLong = 'A'.repeat(600);
    const bot = await pageOf(await get(jar, `/admin/bots/ci-bot?cursor=${tooLong}`), 200, 'bot');
    expect(bot).toContain('Roles it may request');
    expect(bot).not.toContain('First page');
    // As it behaves now: the list refuses it as a filter, with the schema's words.
    const list = await pageOf(await get(jar, `/admin?cursor=${tooLong}`), 400, 'list');
    expect(list).toContain('role="alert">cursor: Too big');
    // A cursor of the right size that the store did not issue is refused on both pages.
    for (const p of ['/admin?cursor=nope', '/admin/bots/ci-bot?cursor=el_0']) {
      const html = await pageOf(await get(jar, p), 400, p);
      expect(html, p).toContain('cursor: cursor is malformed: pass back the nextCursor');
    }
  });

  it('when a notice is not one the page knows, then the page shows without one', async () => {
    const known = await pageOf(
      await get(jar, `/admin/elevations/${elevationId}?notice=revoked`),
      200,
      'known',
    );
    expect(known).toContain('class="notice"');
    for (const notice of ['nope', '%3Cb%3Ebold%3C%2Fb%3E', 'x'.repeat(60)]) {
      for (const p of [`/admin/elevations/${elevationId}`, '/admin/bots/ci-bot', '/admin']) {
        // As it behaves now: the list refuses a notice longer than any (40) as a filter.
        const status = p === '/admin' && notice.length > 40 ? 400 : 200;
        const html = await pageOf(await get(jar, `${p}?notice=${notice}`), status, `${p} ${notice}`);
        expect(html, `${p} ${notice}`).not.toContain('class="notice"');
        expect(html, `${p} ${notice}`).not.toContain('<b>bold</b>');
        if (status === 400) expect(html).toContain('role="alert">notice: Too big');
      }
    }
  });

  it('when the charts ask for a window not offered, then the default window (14 days) shows', async () => {
    const chosen = await pageOf(await get(jar, '/admin/charts?days=7'), 200, 'days=7');
    expect(chosen).toContain('<strong>7 days</strong>');
    for (const days of ['8', '07', '14.0', 'all']) {
      const html = await pageOf(await get(jar, `/admin/charts?days=${days}`), 200, days);
      expect(html, days).toContain('Elevations requested in the last 14 days');
      expect(html, days).toContain('<strong>14 days</strong>');
    }
  });

  it('when the least-privilege page is opened, then each bot shows the roles it used and the list recommended; from another site it is refused', async () => {
    const html = await pageOf(await get(jar, '/admin/reports/least-privilege'), 200, 'least privilege');
    expect(html).toContain('<h1>Least privilege</h1>');
    // ci-bot asked for its only role (the elevation above): kept, nothing to drop.
    const ci = html.slice(html.indexOf('<a href="/admin/bots/ci-bot">'));
    expect(ci).toMatch(/^<a href="\/admin\/bots\/ci-bot">ci-bot<\/a><\/h2>/);
    expect(ci).toContain('Recommended roles: <strong>ops-auto</strong> · nothing to drop');
    expect(html).toContain('<a href="/admin/bots/etl-bot">etl-bot</a>');
    const refused = await get(jar, '/admin/reports/least-privilege', { 'sec-fetch-site': 'cross-site' });
    expect(await pageOf(refused, 403, 'cross-site')).toContain(
      'opens from the console, not from another site',
    );
    expect(
      await eventsWhere((e) => e.type === 'auth.refused' && e.data.path === '/admin/reports/least-privilege'),
    ).toHaveLength(1);
  });

  it('when a verification is posted with a bad anchor, then the form shows again (400) saying what an anchor is', async () => {
    const before = (await eventsWhere((e) => e.data.action === 'verify_audit')).length;
    for (const anchor of ['nope', '0:' + 'a'.repeat(64), '12:' + 'A'.repeat(64)]) {
      const html = await pageOf(await post(jar, '/admin/audit/verify', { csrf, anchor }), 400, anchor);
      expect(html, anchor).toContain('role="alert">An anchor is &lt;position>:&lt;hash>, as a verification');
      expect(html, anchor).toContain('Verify now');
    }
    expect((await eventsWhere((e) => e.data.action === 'verify_audit')).length).toBe(before);
  });

  it('when a revocation or lockdown is posted without a reason, then the form shows again (400) asking for one', async () => {
    for (const p of [`/admin/elevations/${elevationId}/revoke`, '/admin/bots/ci-bot/lock']) {
      const html = await pageOf(await post(jar, p, { csrf }), 400, p);
      expect(html, p).toContain('Give a reason: it is recorded in the audit trail.');
    }
    expect((await stack.services.requests.get(elevationId, { kind: 'admin' })).status).toBe('active');
    expect((await stack.services.bots.getBot('ci-bot')).locked).toBeFalsy();
  });

  it('when a bot the policy does not have is locked, then it is a 404 page', async () => {
    const forms: Record<string, string>[] = [{ csrf, reason: 'suspected leak' }, { csrf }];
    for (const form of forms) {
      const html = await pageOf(
        await post(jar, '/admin/bots/no-such-bot/lock', form),
        404,
        form.reason ?? '-',
      );
      expect(html).toContain('bot no-such-bot not found');
      expect(html).toContain('<h1>Not found</h1>');
    }
    expect(await eventsWhere((e) => e.type === 'bot.locked' && e.data.botId === 'no-such-bot')).toEqual([]);
  });

  it('when the sign-in callback carries an unknown state, then it is a 400 page', async () => {
    for (const q of ['state=nope&code=x', 'code=x', `state=${'s'.repeat(300)}`, 'state=a&state=b']) {
      const html = await pageOf(await get(new Jar(), `/admin/callback?${q}`), 400, q);
      expect(html, q).toContain('This sign-in is unknown, was already used, or has expired.');
    }
  });

  it('when the list is filtered by a value it does not know, then it is a 400 page naming the filter', async () => {
    const html = await pageOf(await get(jar, '/admin?status=nope'), 400, 'status');
    expect(html).toContain('status: is not a status.');
    const bot = await pageOf(await get(jar, '/admin?bot=CI-BOT'), 400, 'bot');
    expect(bot).toContain('bot: is not a bot id.');
  });

  it('when signing out without the CSRF token, then it is a 403 page and the session stays', async () => {
    const forms: Record<string, string>[] = [{}, { csrf: 'short' }, { csrf: 'x'.repeat(43) }];
    for (const form of forms) {
      const html = await pageOf(await post(jar, '/admin/logout', form), 403, JSON.stringify(form));
      expect(html).toContain('This form has no valid security token');
    }
    expect((await get(jar, '/admin')).status).toBe(200);
  });
});
