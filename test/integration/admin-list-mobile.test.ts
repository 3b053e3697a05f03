/**
 * The admin console's elevation list on a phone, in a real browser (Debian's Chromium through
 * playwright-core): the page the console renders (`listPage`) with its own stylesheet and
 * Content-Security-Policy, at 390 × 844. The page never scrolls sideways, each elevation is a
 * card whose cells carry their column's name; on a tablet the table scrolls in its own box, and
 * on a desktop the list is a plain table.
 * Screenshots go to `test-artifacts/admin-console-mobile/`.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type BrowserContext } from 'playwright-core';
import { launchChromium } from '../../dev/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSS } from '../../server/admin/views/console-css.js';
import { listPage } from '../../server/admin/views/list.js';
import type { ElevationStatus, ElevationView } from '../../core/model/elevation.js';
import type { PageWindow } from '../support/page-dom.js';
import { buildPolicy } from '../support/stack.js';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/admin-console-mobile');

const { policy } = buildPolicy(
  [
    {
      id: 'nightly-reconciliation-robot',
      roles: ['finance-ledger-writer'],
      owner: 'finance-platform-team@example.org',
    },
    { id: 'ci-bot', roles: ['deploy'] },
  ],
  [{ id: 'finance-ledger-writer' }, { id: 'deploy' }],
);

/** Elevations as long as real ones get: long bot, role and owner names, every status. */
function elevations(): ElevationView[] {
  const statuses: ElevationStatus[] = [
    'active',
    'pending_approval',
    'revoking',
    'revoked',
    'denied',
    'failed',
  ];
  return statuses.map((status, i) => ({
    id: `el_${'0123456789abcdef01234567'.slice(i)}${'f'.repeat(i)}`,
    workflowId: `elevation-el_${i}`,
    status,
    botId: i % 2 ? 'ci-bot' : 'nightly-reconciliation-robot',
    roleId: i % 2 ? 'deploy' : 'finance-ledger-writer',
    owner: i % 2 ? 'ci-bot-owner@example.org' : 'finance-platform-team@example.org',
    environment: 'production',
    durationSeconds: 3600,
    justification: 'quarterly close',
    requestedAt: new Date(Date.UTC(2026, 2, 31, 23, 59, i)).toISOString(),
    approval: { mode: 'auto' },
    approvals: [],
    ...(status === 'active' || status === 'revoking' ? { expiresAt: '2026-04-01T00:59:00.000Z' } : {}),
    ...(['revoked', 'denied', 'failed'].includes(status) ? { endedAt: '2026-04-01T00:30:00.000Z' } : {}),
    revokeAttempts: 0,
  }));
}

let server: Server;
let url = '';
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = createServer((req, res) => {
    // As the console serves its pages: its one stylesheet, and nothing inline.
    res.setHeader(
      'content-security-policy',
      "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    if (req.url === '/admin/console.css') {
      res.writeHead(200, { 'content-type': 'text/css' }).end(CONSOLE_CSS);
      return;
    }
    const html = listPage({
      user: { email: 'alice.longname-approver@example.org', csrf: 'csrf-token' },
      policy,
      filters: { status: ['active'] },
      query: new URLSearchParams('status=active'),
      items: elevations(),
      nextCursor: 'next-page-cursor',
      onFirst: false,
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function open(
  width: number,
  height: number,
): Promise<{ context: BrowserContext; cspErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  expect((await page.goto(url))?.status()).toBe(200);
  return { context, cspErrors };
}

describe('the elevation list on a phone', () => {
  it('when shown at 390 × 844, then the page does not scroll sideways and each elevation is a card with named cells', async () => {
    const { context, cspErrors } = await open(390, 844);
    try {
      const page = context.pages()[0]!;
      await page.screenshot({ path: path.join(ARTIFACTS, 'elevations-390.png'), fullPage: true });
      const fit = await page.evaluate(() => {
        const w = globalThis as unknown as PageWindow;
        return { scrollWidth: w.document.documentElement.scrollWidth, innerWidth: w.innerWidth };
      });
      expect(fit.scrollWidth).toBeLessThanOrEqual(fit.innerWidth);

      const cards = await page.evaluate(() => {
        const w = globalThis as unknown as PageWindow;
        return [...w.document.querySelectorAll('table.list tbody tr')].map((tr) => {
          const r = tr.getBoundingClientRect();
          return {
            left: r.left,
            right: r.right,
            cells: [...tr.querySelectorAll('td')].map((td) => ({
              label: w.getComputedStyle(td, '::before').content,
              right: td.getBoundingClientRect().right,
              text: td.textContent ?? '',
            })),
          };
        });
      });
      expect(cards).toHaveLength(6);
      for (const card of cards) {
        expect(card.left).toBeGreaterThanOrEqual(0);
        expect(card.right).toBeLessThanOrEqual(fit.innerWidth);
        expect(card.cells.map((c) => c.label)).toEqual([
          '"Requested"',
          '"Elevation"',
          '"Bot"',
          '"Role"',
          '"Owner"',
          '"Environment"',
          '"Status"',
          '"Risk"',
          '"Ended"',
        ]);
        for (const c of card.cells) expect(c.right, c.text).toBeLessThanOrEqual(card.right);
      }
      // The column headings are still there for screen readers, just not shown.
      expect(await page.locator('table.list thead th').count()).toBe(9);
      expect((await page.locator('table.list thead').boundingBox())?.height).toBeLessThanOrEqual(1);
      expect(cspErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('when shown on a tablet (768 px), then the table scrolls sideways in its own box and the page does not', async () => {
    const { context } = await open(768, 1024);
    try {
      const page = context.pages()[0]!;
      await page.screenshot({ path: path.join(ARTIFACTS, 'elevations-768.png'), fullPage: true });
      const fit = await page.evaluate(() => {
        const w = globalThis as unknown as PageWindow;
        const box = w.document.querySelector('table.list')!.parentElement!;
        return {
          scrollWidth: w.document.documentElement.scrollWidth,
          innerWidth: w.innerWidth,
          boxRight: box.getBoundingClientRect().right,
          row: w.getComputedStyle(w.document.querySelector('table.list tbody tr')!).display,
        };
      });
      expect(fit.scrollWidth).toBeLessThanOrEqual(fit.innerWidth);
      expect(fit.boxRight).toBeLessThanOrEqual(fit.innerWidth);
      expect(fit.row).toBe('table-row');
    } finally {
      await context.close();
    }
  });

  it('when shown on a desktop, then the list is a table with its headings', async () => {
    const { context } = await open(1280, 900);
    try {
      const page = context.pages()[0]!;
      await page.screenshot({ path: path.join(ARTIFACTS, 'elevations-1280.png'), fullPage: true });
      const display = await page.evaluate(() => {
        const w = globalThis as unknown as PageWindow;
        const style = (selector: string, pseudo?: string) =>
          w.getComputedStyle(w.document.querySelector(selector)!, pseudo);
        return {
          thead: style('table.list thead').display,
          row: style('table.list tbody tr').display,
          label: style('table.list td', '::before').content,
        };
      });
      expect(display).toEqual({ thead: 'table-header-group', row: 'table-row', label: 'none' });
      const headings = await page.locator('table.list thead th').allTextContents();
      expect(headings).toEqual([
        'Requested',
        'Elevation',
        'Bot',
        'Role',
        'Owner',
        'Env.',
        'Status',
        'Risk',
        'Ended',
      ]);
    } finally {
      await context.close();
    }
  });
});
