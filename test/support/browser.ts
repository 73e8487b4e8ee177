// Debian's chromium driven by playwright-core, for the page's tests (test/serve-page*.test.ts):
// a fresh profile per browser, closed after each test; alert()s and script errors collected.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterEach } from 'vitest';
import { CHROMIUM } from './gates.js';
// Registers its afterEach (removing temp dirs, a profile among them) before ours: vitest runs
// after-hooks last-registered first, so the browser is closed before its profile is removed.
import './recovery.js';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const opened: BrowserContext[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

/** A browser with its profile in userDataDir, closed after the test. */
export async function open(userDataDir: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  // A fresh profile per run; the flags above and nothing from the network.
  const c = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  opened.push(c);
  return c;
}

/**
 * A browser (open()) and a page in it, with the alert()s it raised and its script
 * errors (and, with consoleErrors, console.error lines) collected for the test to check.
 */
export async function browse(dir: string, { consoleErrors = false } = {}): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
  const context = await open(join(dir, 'profile'));
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (consoleErrors) page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return { page, dialogs, errors };
}

export const text = (page: Page, sel: string) => page.locator(sel).first().textContent({ timeout: 5000 });
/** The state badge of waiter `name` now, or null while it has no row (for polling with until()). */
export const badge = async (page: Page, name: string) => {
  const l = page.locator(`#waiters tr[data-name="${name}"] .badge`);
  return (await l.count()) > 0 ? l.first().textContent() : null;
};
export const count = async (page: Page, state: string) => Number(((await text(page, `#count-${state}`)) ?? '').replace(/\D/g, '') || NaN);
