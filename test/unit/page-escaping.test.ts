/**
 * Every HTML page Elevate renders (admin console, approval pages, the development identity
 * provider's login pages) with markup in every value that comes from outside: a bot's id,
 * justification and ticket, role and policy texts, an approver's name and MFA evidence, a
 * reason, audit event data, the filters and cursor of the URL. The renderer escapes them all,
 * each exactly once, wherever the page shows them (text, attributes, links, the SVG charts).
 */
import { describe, expect, it } from 'vitest';
import { everyPage } from '../support/page-fixtures.js';

/** Closes an attribute, opens a script and an image with a handler. */
const PAYLOAD = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
/** The same as text or a quoted attribute value, escaped as the renderer escapes (`"`, `&`, `<`). */
const ESCAPED = `&quot;>&lt;script>alert(1)&lt;/script>&lt;img src=x onerror=alert(2)>`;
/** The same in a link's query string (the pager's links carry the filters and the cursor). */
const IN_QUERY = new URLSearchParams({ v: PAYLOAD }).toString().slice('v='.length);
/** Stands in for the payload to count where a page shows the values; longer than a shortened hash. */
const MARKER = 'zzzzMARKERzzzzzz';

const count = (text: string, part: string) => text.split(part).length - 1;

const evil = everyPage(PAYLOAD);
const plain = everyPage(MARKER);

describe('every page, with markup in every value from outside', () => {
  it.each(Object.keys(evil))('when %s is rendered, then no tag from a value reaches the page', (name) => {
    const html = evil[name]!;
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(html).not.toMatch(/<script|<img/i);
  });

  it.each(Object.keys(evil))(
    'when %s is rendered, then each place that shows a value shows it escaped once',
    (name) => {
      const html = evil[name]!;
      const shown = count(plain[name]!, MARKER);
      // Escaped (text, attributes) or percent-encoded (query strings), as often as the marker
      // shows, and nothing of it in any other form (not raw, not escaped twice).
      expect(count(html, ESCAPED) + count(html, IN_QUERY)).toBe(shown);
      expect(count(html.replaceAll(ESCAPED, '').replaceAll(IN_QUERY, ''), 'alert(')).toBe(0);
    },
  );

  it('when a page takes values from outside, then it shows them (the checks above are not vacuous)', () => {
    for (const [name, html] of Object.entries(plain)) {
      // The page that says how to turn the console on is the only one without any.
      if (name === 'consoleOff') expect(count(html, MARKER)).toBe(0);
      else expect(count(html, MARKER), name).toBeGreaterThan(0);
    }
    // The elevation page shows nearly every field: the request, the approval's evidence, the
    // receipts and each event's data.
    expect(count(plain.elevation!, MARKER)).toBeGreaterThan(100);
  });

  it('when a console page is rendered, then it has no inline script or style for the CSP to block', () => {
    for (const [name, html] of Object.entries(plain)) {
      if (name.startsWith('dev') || name.startsWith('approv')) continue;
      expect(html, name).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
      expect(html, name).toContain('<link rel="stylesheet" href="/admin/console.css"/>');
    }
  });

  it('when a form that changes something is rendered, then it carries the CSRF token', () => {
    for (const name of ['revokeConfirm', 'lock', 'unlock', 'verifyConfirm', 'list']) {
      const forms = [...plain[name]!.matchAll(/<form method="post"[^>]*>([\s\S]*?)<\/form>/g)];
      expect(forms.length, name).toBeGreaterThan(0);
      for (const [, body] of forms)
        expect(body).toContain(`<input type="hidden" name="csrf" value="${MARKER}"/>`);
    }
  });
});
