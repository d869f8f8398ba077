// Debian's Chromium driven by playwright-core, for the dashboard's tests. Without a Chromium the
// tests are skipped with the command that installs one, never passed; where a browser must be
// there (CI sets HYPERVISOR_REQUIRE_BROWSER=1 after installing it), its absence fails them.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

/** @default /usr/bin/chromium (Debian's package); HYPERVISOR_CHROMIUM names another. */
export const CHROMIUM = process.env.HYPERVISOR_CHROMIUM ?? '/usr/bin/chromium';
export const INSTALL_HINT = 'apt-get install -y chromium';

/** Where the tests write their screenshots for a person to look at (gitignored). */
export const SCREENSHOTS = path.resolve('test-results', 'dashboard');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** Null when a Chromium is there; else why the browser tests cannot run. */
export function missingBrowser(): string | null {
  if (existsSync(CHROMIUM)) return null;
  return `no Chromium at ${CHROMIUM}: install it with \`${INSTALL_HINT}\` (or set HYPERVISOR_CHROMIUM)`;
}

/** In a mocha `before`: skips the suite (saying why and how to fix it), or fails it where a browser is required. */
export function needBrowser(context: Mocha.Context): void {
  const missing = missingBrowser();
  if (missing === null) return;
  if (process.env.HYPERVISOR_REQUIRE_BROWSER === '1') throw new Error(`browser tests required: ${missing}`);
  process.stdout.write(`      dashboard tests skipped: ${missing}\n`);
  context.skip();
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}

/** The page's script errors and console errors (a CSP refusal shows up there), to assert none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (message: ConsoleMessage) => {
    // A refused request (the 401 of a wrong password) is logged as an error too: it is the test's to judge.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(`console: ${message.text()}`);
  });
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
