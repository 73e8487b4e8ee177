// Steering the fleet from the page (issue 26 point 7), clicked in Debian's chromium: each
// button asks in the page's dialog, then POSTs with the token as a header, and says the
// answer in one line; the kitchen changes only with the right token. One page session
// for every click (browser tests are the slow ones).
import { expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { ObjectId } from 'mongodb';
import { badge, browse, count, text } from './support/browser.js';
import { until } from './support/cli.js';
import { needsChromium } from './support/gates.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { addOrders, byId, tempDir } from './support/recovery.js';

const XSS = '<img src=x onerror=alert(1)>';
// In CI a missing browser is a failure (the test runs and says why); elsewhere it is skipped, its title says so.
const browser = needsChromium();
const k = useDb();

/** Shows order id in the order view, once its buttons are drawn. */
async function show(page: Page, id: ObjectId): Promise<void> {
  await page.fill('#q', id.toHexString());
  await page.click('#search button');
  await until(
    async () =>
      (await page
        .locator('#found .mono.small')
        .first()
        .textContent()
        .catch(() => null)) === id.toHexString(),
    10_000,
    'the order view',
  );
}
const said = async (page: Page, sel: string) => (await page.locator(sel).textContent()) ?? '';
/** Confirms the open dialog, with a reason when given. */
async function confirm(page: Page, reason?: string): Promise<void> {
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: 5000 });
  if (reason !== undefined) await page.fill('#confirm-reason', reason);
  await page.click('#confirm-ok');
  await page.locator('#confirm').waitFor({ state: 'hidden', timeout: 5000 });
}

test.runIf(browser.run)(
  browser.title(
    'steering from the page: buttons disabled until a token is given (--public-read), a wrong token refused and said; cancel an order, pause and resume the list, stop a waiter, each after a confirmation',
  ),
  async () => {
    const dir = await tempDir('page-steer');
    const token = 'page-steer-token-42';
    const orders = k.db.collection('orders');
    const [doomed, kept] = await addOrders(k.db, [[XSS, 'a'], ['b']]);
    const held = (await orders.insertOne({ status: 'HELD', arguments: ['h'], attempts: 0 })).insertedId;
    const now = Date.now();
    // A live waiter's registry entry (no process: the stop is a write the waiter reads at its next heartbeat).
    const registry = k.db.collection('orders.waiters');
    await registry.insertOne({
      _id: 'w-box' as never,
      name: 'box-1',
      host: 'h1',
      pid: 1,
      command: ['x'],
      concurrency: 1,
      lease: 3_600_000,
      heartbeat: 10_000,
      started: new Date(now - 60_000),
      seen: new Date(now),
      expires: new Date(now + 3_600_000),
      running: [],
      delivered: 0,
      failed: 0,
    });
    const s = await serve(k, ['--public-read'], { WAITER_TOKEN: token });
    const { page, dialogs, errors } = await browse(dir);
    const posts: { url: string; body: string; auth: string | undefined }[] = [];
    page.on('request', (r) => r.method() === 'POST' && posts.push({ url: r.url(), body: r.postData() ?? '', auth: r.headers().authorization }));
    await page.goto(s.url);

    // Read without a token: the buttons are there, disabled, and the token is asked for.
    await until(async () => (await count(page, 'READY')) === 2, 15_000, 'the counts');
    const pause = page.locator('#pause-list');
    const stop = page.locator('#waiters tr[data-name="box-1"] button.steer');
    await until(() => page.locator('#auth').isVisible(), 10_000, 'the token form');
    await stop.waitFor({ timeout: 10_000 });
    expect([await pause.isDisabled(), await stop.isDisabled()]).toEqual([true, true]);

    // A wrong token: the server refuses the cancel, the page says so, nothing changed.
    await page.fill('#token', 'wrong-token-000');
    await page.click('#auth button');
    await until(() => pause.isEnabled(), 10_000, 'the buttons enabled');
    await show(page, doomed!);
    const found = page.locator('#found');
    expect(await found.locator('button.steer').allTextContents()).toEqual(['Cancel', 'Hold']);
    await found.locator('button.steer', { hasText: 'Cancel' }).click();
    expect(await text(page, '#confirm-text')).toContain(XSS); // the arguments, as text
    await confirm(page, 'wrong batch');
    await until(async () => /^missing or wrong token/.test(await said(page, '#found .said')), 10_000, 'the refusal said');
    expect((await byId(k.db, doomed!)).status).toBe('READY');

    // The right token: cancelled, in the kitchen and on the page.
    await page.fill('#token', token);
    await page.click('#auth button');
    await found.locator('button.steer', { hasText: 'Cancel' }).click();
    await confirm(page, 'wrong batch');
    await until(async () => (await said(page, '#found .said')) === 'Cancelled 1 order', 10_000, 'the cancel said');
    const o = await byId(k.db, doomed!);
    expect([o.status, o.cancelled?.reason, o.cancelled?.by]).toEqual(['CANCELLED', 'wrong batch', 'api 127.0.0.1']);
    await until(async () => (await found.locator('dl .badge').textContent()) === 'CANCELLED', 10_000, 'the order view redrawn');
    expect(await found.locator('button.steer').count()).toBe(0);
    await until(async () => (await count(page, 'CANCELLED')) === 1, 10_000, 'the counts');

    // Back: nothing asked, nothing changed.
    const control = k.db.collection('orders.control');
    await pause.click();
    await page.locator('#confirm').waitFor({ state: 'visible', timeout: 5000 });
    await page.click('#confirm-back');
    await page.locator('#confirm').waitFor({ state: 'hidden', timeout: 5000 });
    expect(await control.findOne({ paused: { $exists: true } })).toBeNull();

    // Pause, then resume the list.
    await pause.click();
    expect(await text(page, '#confirm-title')).toBe('Pause the list?');
    await confirm(page, 'deploy');
    await until(async () => (await said(page, '#said-list')).startsWith('Paused the list: 1 live waiter stop claiming'), 10_000, 'the pause said');
    expect((await control.findOne({}))?.paused).toMatchObject({ by: 'api 127.0.0.1', reason: 'deploy' });
    await until(async () => (await pause.textContent()) === 'Resume the list' && (await page.locator('#paused').isVisible()), 10_000, 'the page paused');
    expect(await text(page, '#paused')).toContain('(deploy)');
    await pause.click();
    await confirm(page);
    await until(async () => (await said(page, '#said-list')).startsWith('Resumed the list (paused since '), 10_000, 'the resume said');
    expect(await control.findOne({ paused: { $exists: true } })).toBeNull();
    await until(async () => (await pause.textContent()) === 'Pause the list' && !(await page.locator('#paused').isVisible()), 10_000, 'the page resumed');

    // Stop a waiter, now.
    await stop.click();
    expect(await text(page, '#confirm-title')).toBe('Stop waiter box-1?');
    await page.check('#confirm-now');
    if (process.env.WAITER_SCREENSHOTS) await page.screenshot({ path: `${process.env.WAITER_SCREENSHOTS}/page-steer-dialog.png` });
    await confirm(page, 'bad disk');
    await until(
      async () =>
        (await said(page, '#said-waiters')) === 'Asked 1 waiter (box-1) to stop: within one heartbeat they stop claiming, interrupt their running orders (back READY) and exit',
      10_000,
      'the stop said',
    );
    expect((await registry.findOne({ name: 'box-1' }))?.stop).toMatchObject({ by: 'api 127.0.0.1', now: true, reason: 'bad disk' });
    await until(async () => (await badge(page, 'box-1')) === 'STOPPING', 10_000, 'box-1 STOPPING');
    expect(await stop.count()).toBe(0);

    // Hold and release: the buttons and what they send.
    // TODO(lead): POST /api/hold and /api/release are built on another branch (HOLD.md). Once merged, drop these two
    // page.route()s and the raw {status: 'HELD'} insert above (hold the order with the button instead), and check the
    // kitchen: `kept` HELD with held.reason 'check first', then READY again after Release.
    await page.route('**/api/hold', (r) => r.fulfill({ json: { held: 1, running: 0, stale: 0, finished: 0, already: 0, busy: 0, dryRun: false } }));
    await page.route('**/api/release', (r) => r.fulfill({ json: { released: 1 } }));
    await show(page, kept!);
    await found.locator('button.steer', { hasText: 'Hold' }).click();
    await confirm(page, 'check first');
    await until(async () => (await said(page, '#found .said')) === 'Held 1 order', 10_000, 'the hold said');
    expect(posts.at(-1)).toEqual({ url: `${s.url}api/hold`, body: JSON.stringify({ ids: [kept!.toHexString()], reason: 'check first' }), auth: `Bearer ${token}` });
    await show(page, held);
    expect(await found.locator('button.steer').allTextContents()).toEqual(['Cancel', 'Release']);
    await found.locator('button.steer', { hasText: 'Release' }).click();
    expect(await page.locator('#confirm-reason-row').isVisible()).toBe(false);
    await confirm(page);
    await until(async () => (await said(page, '#found .said')) === 'Released 1 order', 10_000, 'the release said');
    expect(posts.at(-1)).toEqual({ url: `${s.url}api/release`, body: JSON.stringify({ ids: [held.toHexString()] }), auth: `Bearer ${token}` });

    // Every write carried the token as a header only; nothing ran from the data; no window.alert/confirm.
    expect(posts.map((p) => new URL(p.url).pathname)).toEqual(['/api/cancel', '/api/cancel', '/api/pause', '/api/resume', '/api/waiters/stop', '/api/hold', '/api/release']);
    expect(posts.filter((p) => p.url.includes(token) || p.url.includes('#'))).toEqual([]);
    expect(await page.locator('img, main script').count()).toBe(0);
    if (process.env.WAITER_SCREENSHOTS) await page.screenshot({ path: `${process.env.WAITER_SCREENSHOTS}/page-steer.png`, fullPage: true });
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  },
  90_000,
);
