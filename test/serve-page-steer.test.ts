// Steering the fleet from the page (issue 26 point 7), clicked in Debian's chromium: each
// button reads what it steers again, asks in the page's dialog, then POSTs with the token
// as a header, and says the answer in one line as the command does; the kitchen changes
// only with the right token. One page session for every click (browser tests are the slow ones).
import { expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { ObjectId } from 'mongodb';
import type { WaiterDoc } from '../src/fleet.js';
import { badge, browse, count, text } from './support/browser.js';
import { until } from './support/cli.js';
import { needsChromium } from './support/gates.js';
import { useDb } from './support/kitchen.js';
import { liveWaiter, serve } from './support/serve.js';
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
const dialog = (page: Page, state: 'visible' | 'hidden') => page.locator('#confirm').waitFor({ state, timeout: 5000 });
/** Confirms the open dialog, with a reason when given. */
async function confirm(page: Page, reason?: string): Promise<void> {
  await dialog(page, 'visible');
  if (reason !== undefined) await page.fill('#confirm-reason', reason);
  await page.click('#confirm-ok');
  await dialog(page, 'hidden');
}
/**
 * Holds every request to url until go(): what the page shows while a POST is in flight,
 * or before its next refresh. there: the first one is held (any before it answered).
 * The route stays, passing requests through once opened (an unroute while a handler
 * waits would answer that request twice).
 */
async function holdRequests(page: Page, url: string): Promise<{ there: Promise<void>; go: () => void }> {
  let arrived = () => {};
  let go = () => {};
  const there = new Promise<void>((r) => (arrived = r));
  const opened = new Promise<void>((r) => (go = r));
  await page.route(url, async (r) => {
    arrived();
    await opened;
    await r.continue();
  });
  return { there, go };
}

test.runIf(browser.run)(
  browser.title(
    'steering from the page: buttons disabled until a token is given (--public-read, /api/info asked again after a failure), a wrong token refused and said; cancel, hold and release an order (read again first), pause and resume the list, stop the waiters of a name, each after a confirmation that Back, Escape and Enter leave unsent',
  ),
  async () => {
    const dir = await tempDir('page-steer');
    const token = 'page-steer-token-42';
    const [doomed, kept] = await addOrders(k.db, [[XSS, 'a'], ['b']]);
    const now = Date.now();
    // Names are not unique among live waiters: a stop by name stops both.
    const registry = k.db.collection<WaiterDoc>('orders.waiters');
    await registry.insertMany([liveWaiter(now, { _id: 'w-box', name: 'box-1', host: 'h1' }), liveWaiter(now, { _id: 'w-box2', name: 'box-1', host: 'h2' })]);
    const s = await serve(k, ['--public-read'], { WAITER_TOKEN: token });
    const { page, dialogs, errors } = await browse(dir);
    const posts: { url: string; body: string; auth: string | undefined }[] = [];
    page.on('request', (r) => r.method() === 'POST' && posts.push({ url: r.url(), body: r.postData() ?? '', auth: r.headers().authorization }));
    // /api/info fails at load: asked again at the next refresh, else the token form never comes and the buttons stay disabled.
    await page.route('**/api/info', (r) => r.abort(), { times: 1 });
    await page.goto(s.url);

    // Read without a token: the buttons are there, disabled, and the token is asked for.
    await until(async () => (await count(page, 'READY')) === 2, 15_000, 'the counts');
    const pause = page.locator('#pause-list');
    const stop = page.locator('#waiters tr[data-name="box-1"] button.steer');
    await until(() => page.locator('#auth').isVisible(), 10_000, 'the token form');
    await stop.first().waitFor({ timeout: 10_000 });
    expect([await pause.isDisabled(), await stop.first().isDisabled()]).toEqual([true, true]);

    // A wrong token: the server refuses the cancel, the page says what to do, nothing changed.
    await page.fill('#token', 'wrong-token-000');
    await page.click('#auth button');
    await until(() => pause.isEnabled(), 10_000, 'the buttons enabled');
    await show(page, doomed!);
    const found = page.locator('#found');
    const buttons = () => found.locator('button.steer').allTextContents();
    expect(await buttons()).toEqual(['Cancel', 'Hold']);
    await found.locator('button.steer', { hasText: 'Cancel' }).click();
    await dialog(page, 'visible'); // once the order is read again
    expect(await text(page, '#confirm-text')).toContain(XSS); // the arguments, as text
    await confirm(page, 'wrong batch');
    await until(async () => (await said(page, '#found .said')) === 'wrong or missing token: enter it above', 10_000, 'the refusal said');
    expect((await byId(k.db, doomed!)).status).toBe('READY');

    // The right token: cancelled, in the kitchen and on the page; the order's buttons disabled while the POST is in flight.
    await page.fill('#token', token);
    await page.click('#auth button');
    const cancelling = await holdRequests(page, '**/api/cancel');
    await found.locator('button.steer', { hasText: 'Cancel' }).click();
    await confirm(page, 'wrong batch');
    await cancelling.there;
    expect(await found.locator('button.steer').evaluateAll((bs) => bs.map((b) => (b as HTMLButtonElement).disabled))).toEqual([true, true]);
    cancelling.go();
    await until(async () => (await said(page, '#found .said')) === 'Cancelled 1 order', 10_000, 'the cancel said');
    const o = await byId(k.db, doomed!);
    expect([o.status, o.cancelled?.reason, o.cancelled?.by]).toEqual(['CANCELLED', 'wrong batch', 'api 127.0.0.1']);
    await until(async () => (await found.locator('dl .badge').textContent()) === 'CANCELLED', 10_000, 'the order view redrawn');
    expect(await found.locator('button.steer').count()).toBe(0);
    await until(async () => (await count(page, 'CANCELLED')) === 1, 10_000, 'the counts');

    // Back, Escape, and Enter in the reason field: nothing sent, nothing changed (Back is the dialog's default).
    const control = k.db.collection('orders.control');
    for (const leave of ['Back', 'Escape', 'Enter']) {
      await pause.click();
      await dialog(page, 'visible');
      if (leave === 'Back') await page.click('#confirm-back');
      if (leave === 'Escape') await page.keyboard.press('Escape');
      if (leave === 'Enter') await page.fill('#confirm-reason', 'typed, then Enter');
      if (leave === 'Enter') await page.press('#confirm-reason', 'Enter');
      await dialog(page, 'hidden');
    }
    expect(await control.findOne({ paused: { $exists: true } })).toBeNull();
    // A pause that never reaches the server: said so (not fetch's "Failed to fetch"), the button free again.
    await page.route('**/api/pause', (r) => r.abort(), { times: 1 });
    await pause.click();
    await confirm(page);
    await until(async () => (await said(page, '#said-list')) === 'the server did not answer', 10_000, 'the failure said');
    await until(() => pause.isEnabled(), 10_000, 'the pause button free');

    // Pause, then resume the list: the button turns from the answer, the status still held.
    let held = await holdRequests(page, '**/api/status');
    await held.there; // the refresh before waits: no older status lands after the answer
    await pause.click();
    expect(await text(page, '#confirm-title')).toBe('Pause the list?');
    await confirm(page, 'deploy');
    await until(async () => (await said(page, '#said-list')).startsWith('Paused the list: 2 live waiters stop claiming'), 10_000, 'the pause said');
    expect(await pause.textContent()).toBe('Resume the list');
    held.go();
    const paused = (await control.findOne({}))?.paused as { at: Date };
    expect(paused).toMatchObject({ by: 'api 127.0.0.1', reason: 'deploy' });
    await until(() => page.locator('#paused').isVisible(), 10_000, 'the page paused');
    const at = await page.evaluate((iso) => new Date(iso).toLocaleString(), paused.at.toISOString()); // local, as the page says times
    // Since when and by whom, first on the page.
    expect(await text(page, '#paused')).toBe(`PAUSED since ${at} by api 127.0.0.1 (deploy): no new orders are claimed until waiter resume`);
    held = await holdRequests(page, '**/api/status');
    await held.there;
    await pause.click();
    await confirm(page);
    await until(
      async () => (await said(page, '#said-list')) === `Resumed the list (paused since ${at} by api 127.0.0.1): 2 live waiters claim again within one heartbeat`,
      10_000,
      'the resume said',
    );
    expect(await pause.textContent()).toBe('Pause the list');
    held.go();
    expect(await control.findOne({ paused: { $exists: true } })).toBeNull();
    await until(async () => !(await page.locator('#paused').isVisible()), 10_000, 'the page resumed');

    // Stop by name, now: the dialog says it stops both box-1s.
    await stop.first().click();
    expect(await text(page, '#confirm-title')).toBe('Stop 2 waiters named box-1?');
    expect(await text(page, '#confirm-text')).toContain('This stops 2 waiters named box-1 (on h1, h2)');
    await page.check('#confirm-now');
    if (process.env.WAITER_SCREENSHOTS) await page.screenshot({ path: `${process.env.WAITER_SCREENSHOTS}/page-steer-dialog.png` });
    await confirm(page, 'bad disk');
    await until(
      async () =>
        (await said(page, '#said-waiters')) === 'Asked 2 waiters (box-1) to stop: within one heartbeat they stop claiming, interrupt their running orders (back READY) and exit',
      10_000,
      'the stop said',
    );
    for (const w of await registry.find({ name: 'box-1' }).toArray()) expect(w.stop).toMatchObject({ by: 'api 127.0.0.1', now: true, reason: 'bad disk' });
    await until(async () => (await badge(page, 'box-1')) === 'STOPPING' && (await stop.count()) === 0, 10_000, 'box-1s STOPPING');

    // Hold, then release an order: in the kitchen, and the view redrawn with the buttons of its new state.
    await show(page, kept!);
    await found.locator('button.steer', { hasText: 'Hold' }).click();
    await confirm(page, 'check first');
    await until(async () => (await said(page, '#found .said')) === 'Held 1 order', 10_000, 'the hold said');
    expect(await byId(k.db, kept!)).toMatchObject({ status: 'HELD', held: { reason: 'check first', by: 'api 127.0.0.1', from: 'READY' } });
    await until(async () => (await buttons()).join() === 'Cancel,Release', 10_000, 'the view HELD');
    await found.locator('button.steer', { hasText: 'Release' }).click();
    await dialog(page, 'visible');
    expect(await page.locator('#confirm-reason-row').isVisible()).toBe(false);
    await confirm(page);
    await until(async () => (await said(page, '#found .said')) === 'Released 1 order', 10_000, 'the release said');
    expect((await byId(k.db, kept!)).status).toBe('READY');
    await until(async () => (await buttons()).join() === 'Cancel,Hold', 10_000, 'the view READY');

    // Changed behind the view's back: a button reads the order again before it asks, and after a refusal.
    const orders = k.db.collection('orders');
    const setStatus = (status: string) => orders.updateOne({ _id: kept! }, { $set: { status } });
    await setStatus('HELD');
    await found.locator('button.steer', { hasText: 'Cancel' }).click();
    await dialog(page, 'visible');
    expect(await text(page, '#confirm-text')).toContain('(HELD)');
    await page.keyboard.press('Escape');
    await dialog(page, 'hidden');
    expect(await buttons()).toEqual(['Cancel', 'Release']);
    await found.locator('button.steer', { hasText: 'Release' }).click();
    await dialog(page, 'visible');
    await setStatus('READY'); // while the dialog is open
    await page.click('#confirm-ok');
    await until(async () => (await said(page, '#found .said')).startsWith('release: '), 10_000, 'the refusal said');
    await until(async () => (await buttons()).join() === 'Cancel,Hold', 10_000, 'the view read again after the refusal');
    await setStatus('DONE');
    await found.locator('button.steer', { hasText: 'Cancel' }).click();
    await until(async () => (await said(page, '#found .said')) === 'It is DONE now: nothing to cancel', 10_000, 'the finished order said');
    expect([await page.locator('#confirm').isVisible(), await found.locator('button.steer').count()]).toEqual([false, 0]);

    // Every write carried the token as a header only; nothing ran from the data; no window.alert/confirm.
    expect(posts.map((p) => new URL(p.url).pathname)).toEqual([
      '/api/cancel',
      '/api/cancel',
      '/api/pause',
      '/api/pause',
      '/api/resume',
      '/api/waiters/stop',
      '/api/hold',
      '/api/release',
      '/api/release',
    ]);
    expect(posts.slice(5, 8).map((p) => [p.body, p.auth])).toEqual([
      [JSON.stringify({ name: 'box-1', now: true, reason: 'bad disk' }), `Bearer ${token}`],
      [JSON.stringify({ ids: [kept!.toHexString()], reason: 'check first' }), `Bearer ${token}`],
      [JSON.stringify({ ids: [kept!.toHexString()] }), `Bearer ${token}`],
    ]);
    expect(posts.filter((p) => p.url.includes(token) || p.url.includes('#'))).toEqual([]);
    // The token lives in the tab's sessionStorage only: not in the document, nothing in localStorage.
    const content = await page.content();
    expect([content.includes(token), content.includes('wrong-token-000'), await page.evaluate(() => localStorage.length)]).toEqual([false, false, 0]);
    expect(await page.locator('img, main script').count()).toBe(0);
    if (process.env.WAITER_SCREENSHOTS) await page.screenshot({ path: `${process.env.WAITER_SCREENSHOTS}/page-steer.png`, fullPage: true });
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  },
  90_000,
);
