/**
 * The API reference page (`GET /docs/api`) in a real browser (Debian's Chromium through
 * playwright-core), served by the real route with its Content-Security-Policy: the contents
 * list's entries never overlap one another or run out of the list, on a desktop screen and on a
 * phone, and the phone does not have to scroll the page sideways. Each case leaves a screenshot
 * under `test-artifacts/api-reference/`.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../dev/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountApiReference } from '../../server/openapi/serve.js';
import type { PageRect, PageWindow } from '../support/page-dom.js';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/api-reference');

let server: Server;
let url = '';
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const app = express();
  mountApiReference(app);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/docs/api`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

interface Box {
  text: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Every line box of every link in the contents list, and the list's own box. */
async function contents(page: Page): Promise<{ entries: Box[][]; nav: Box }> {
  return page.evaluate(() => {
    const w = globalThis as unknown as PageWindow;
    const box = (r: PageRect, text: string) => ({
      text,
      left: r.left,
      right: r.right,
      top: r.top,
      bottom: r.bottom,
    });
    const nav = w.document.querySelector('nav > ul')!;
    const entries = [...nav.querySelectorAll('a')].map((a) =>
      [...a.getClientRects()].map((r) => box(r, a.textContent ?? '')),
    );
    return { entries, nav: box(nav.getBoundingClientRect(), 'nav') };
  });
}

/** Pairs of entries whose boxes intersect (by more than a rounding error), as readable text. */
function overlaps(entries: Box[][]): string[] {
  const found: string[] = [];
  const cross = (a: Box, b: Box) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      if (entries[i]!.some((a) => entries[j]!.some((b) => cross(a, b)))) {
        found.push(`${entries[i]![0]?.text} × ${entries[j]![0]?.text}`);
      }
    }
  }
  return found;
}

describe('the contents of /docs/api', () => {
  for (const [name, width, height] of [
    ['desktop', 1280, 900],
    ['narrow desktop', 900, 900],
    ['phone', 390, 844],
  ] as const) {
    it(`when shown on a ${name} (${width} px), then no two entries overlap and none runs out of the list`, async () => {
      const context = await browser.newContext({ viewport: { width, height } });
      const page = await context.newPage();
      const cspErrors: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
      });
      try {
        expect((await page.goto(url))?.status()).toBe(200);
        await page.locator('nav').screenshot({ path: path.join(ARTIFACTS, `contents-${width}.png`) });
        const { entries, nav } = await contents(page);
        // Every operation, the two extra sections and the tag headings are there.
        expect(entries.length).toBeGreaterThan(40);
        expect(entries.every((lines) => lines.length > 0)).toBe(true);
        expect(overlaps(entries)).toEqual([]);
        const outside = entries
          .flat()
          .filter((b) => b.left < nav.left - 1 || b.right > nav.right + 1)
          .map((b) => b.text);
        expect(outside).toEqual([]);
        // The page itself fits the screen: nothing makes it scroll sideways.
        const widths = await page.evaluate(() => {
          const w = globalThis as unknown as PageWindow;
          return [w.document.documentElement.scrollWidth, w.innerWidth];
        });
        expect(widths[0]).toBeLessThanOrEqual(widths[1]!);
        expect(cspErrors).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }

  it('when shown on a desktop, then the contents use two columns', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    try {
      await page.goto(url);
      const { entries, nav } = await contents(page);
      const middle = (nav.left + nav.right) / 2;
      const lefts = entries.map((lines) => lines[0]!.left);
      expect(lefts.some((l) => l < middle)).toBe(true);
      expect(lefts.some((l) => l > middle)).toBe(true);
    } finally {
      await context.close();
    }
  });
});
