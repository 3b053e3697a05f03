/**
 * Debian's Chromium (installed by scripts/setup), headless, driven by playwright-core: the real
 * browser the console and API-reference tests look through.
 */
import { chromium, type Browser } from 'playwright-core';

/** Start a headless Chromium; close it when the tests are done. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
}
