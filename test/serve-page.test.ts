// The page in a real browser (Debian's chromium driven by playwright-core): live counts
// while a real `waiter deliver` runs, a kill -9'd waiter turning STALE, untrusted text
// shown as text, and screenshots (desktop and phone width) in the test's temp dir.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import type { WaiterDoc } from '../src/fleet.js';
import { expect, test } from 'vitest';
import { badge, browse, count, open, text } from './support/browser.js';
import { FIXTURES, until, waiter } from './support/cli.js';
import { needsChromium } from './support/gates.js';
import { useDb } from './support/kitchen.js';
import { liveWaiter, serve } from './support/serve.js';
import { addOrders, alive, background, byId, killAfterTest, pidFrom, tempDir } from './support/recovery.js';

const XSS = '<img src=x onerror=alert(1)>';
// In CI a missing browser is a failure (the test runs and says why); elsewhere it is
// skipped, and its title says so.
const browser = needsChromium();

const k = useDb();

test.runIf(browser.run)(
  browser.title("the page: READY falls and DONE rises during a real deliver, a kill -9'd waiter turns STALE, untrusted text stays text"),
  async () => {
    const dir = await tempDir('page');
    const orders = k.db.collection('orders');
    await orders.insertOne({
      status: 'ERROR',
      arguments: [`<b>${XSS}</b>`],
      attempts: 1,
      stop: new Date(),
      error: `exit code 1: <script>alert(2)</script>`,
      exitCode: 1,
      output: `line one\n${XSS}\n`,
    });
    const xssId = (await orders.findOne({ status: 'ERROR' }))!._id.toHexString();
    const s = await serve(k);
    const N = 10;
    const added = await s.call('/api/orders', { method: 'POST', json: Array.from({ length: N }, () => ({ arguments: ['0.5'] })) });
    expect(added.status).toBe(201);

    const { page, dialogs, errors } = await browse(dir, { consoleErrors: true });
    await page.goto(s.url);
    await until(async () => (await count(page, 'READY')) === N, 15_000, 'READY to show the new orders');
    expect(await count(page, 'DONE')).toBe(0);

    // A real deliver: the page follows it without a reload.
    const w = background(k, ['-n', 'cook', 'deliver', join(FIXTURES, 'slow.sh')]);
    const seen: [number, number][] = [];
    await until(
      async () => {
        const pair: [number, number] = [await count(page, 'READY'), await count(page, 'DONE')];
        if (seen.at(-1)?.join() !== pair.join()) seen.push(pair);
        return pair[0] === 0 && pair[1] === N;
      },
      60_000,
      'READY 0 and DONE all',
    );
    expect((await w.proc).exitCode).toBe(0);
    const readies = seen.map(([r]) => r);
    const dones = seen.map(([, d]) => d);
    expect(
      readies.some((r) => r > 0 && r < N),
      JSON.stringify(seen),
    ).toBe(true); // seen mid-way, live
    expect(readies).toEqual([...readies].sort((a, b) => b - a)); // only ever falls
    expect(dones).toEqual([...dones].sort((a, b) => a - b)); // only ever rises
    const exited = await until(async () => (await badge(page, 'cook')) === 'EXITED' || undefined, 15_000, 'cook to show EXITED');
    expect(exited).toBe(true);

    // A waiter killed with -9 is never cleaned up: the page derives STALE from its lease.
    await s.call('/api/orders', { method: 'POST', json: { arguments: ['hold'] } });
    const doomed = background(k, ['-n', 'doomed', 'deliver', '--lease', '6s', '--heartbeat', '300ms', join(FIXTURES, 'hang.sh')], { HANG_DIR: dir });
    const child = await until(
      async () => {
        const o = await orders.findOne({ status: 'RUNNING' });
        return o ? pidFrom(join(dir, `${o._id.toHexString()}.1.pid`)) : undefined;
      },
      20_000,
      'the held order to start',
    );
    killAfterTest(child);
    await until(async () => (await badge(page, 'doomed')) === 'PROCESSING' || undefined, 15_000, 'doomed to show PROCESSING');
    process.kill(doomed.pid, 'SIGKILL');
    await until(() => !alive(doomed.pid), 10_000, 'the waiter to die');
    await until(async () => (await badge(page, 'doomed')) === 'STALE' || undefined, 20_000, 'doomed to show STALE');

    // Untrusted output, error and arguments: shown as characters, never run.
    const failed = page.locator(`#failed li[data-id="${xssId}"]`);
    await failed.waitFor({ timeout: 10_000 });
    expect(await failed.locator('pre.output').textContent()).toContain(XSS);
    expect(await failed.textContent()).toContain('<script>alert(2)</script>');
    expect(await failed.textContent()).toContain(`<b>${XSS}</b>`);
    await page.fill('#q', xssId);
    await page.click('#search button');
    await page.locator('#found pre.output').waitFor({ timeout: 10_000 });
    expect(await page.locator('#found pre.output').textContent()).toBe(`line one\n${XSS}\n`);
    expect(await page.locator('#found dl').textContent()).toContain('exit code 1: <script>alert(2)</script>');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('main script, #failed b, #found b').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);

    await page.screenshot({ path: join(dir, 'page-desktop.png'), fullPage: true });
    // Phone width: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(dir, 'page-phone.png'), fullPage: true });
    expect(existsSync(join(dir, 'page-desktop.png')) && existsSync(join(dir, 'page-phone.png'))).toBe(true);
    if (process.env.WAITER_SCREENSHOTS) {
      const { cp } = await import('node:fs/promises');
      await cp(dir, process.env.WAITER_SCREENSHOTS, { recursive: true, filter: (f) => !f.includes('profile') });
    }
  },
  180_000,
);

test.runIf(browser.run)(
  browser.title('with a token the page asks for it once (or takes #token=), then shows the kitchen, orders not yet due too'),
  async () => {
    const dir = await tempDir('page-token');
    const token = 'page-token-1234';
    const now = new Date();
    const later = new Date(Date.now() + 86_400_000);
    await k.db.collection('orders').insertMany([
      { status: 'READY', arguments: ['a'], attempts: 0, due: now },
      { status: 'READY', arguments: ['later'], attempts: 0, due: later },
      // What it used (as a waiter's finish records it): the cost section's figures.
      {
        status: 'DONE',
        arguments: ['b'],
        attempts: 1,
        due: now,
        stop: now,
        usage: { wallMs: 5000, cpuMs: 4000, peakRssBytes: 300 * 1024 * 1024, measured: 'proc-sample+wait' },
        spent: { cpuMs: 4000, wallMs: 5000, attempts: 1 },
      },
    ]);
    const s = await serve(k, [], { WAITER_TOKEN: token });
    const context = await open(join(dir, 'profile'));
    const page = await context.newPage();
    await page.goto(s.url);
    await page.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await text(page, '#count-total')).toBe('–');
    await page.fill('#token', token);
    await page.click('#auth button');
    await until(async () => (await count(page, 'total')) === 3, 15_000, 'the counts once the token is given');
    expect(await page.locator('#auth').isVisible()).toBe(false);
    // The header names the list and kitchen at once, without a reload.
    await until(async () => (await page.locator('#list').textContent()) === 'orders', 10_000, 'the list in the header');
    expect(await page.locator('#where').textContent()).toContain(k.name);
    expect(await page.title()).toBe('waiter · orders');
    expect(await text(page, '#later')).toMatch(/^\(1 not yet due, next .+\)$/);
    // The cost (GET /api/cost), asked once the token is given, with its age.
    await until(async () => (await text(page, '#cost-cpu')) === '4.0 s', 10_000, 'the cost once the token is given');
    expect(await text(page, '#cost-orders')).toBe('1');
    expect(await text(page, '#cost-attempts')).toBe('1');
    expect(await text(page, '#cost-cpu-per')).toBe('4.0 s / 4.0 s');
    expect(await text(page, '#cost-wall-per')).toBe('5.0 s / 5.0 s');
    expect(await text(page, '#cost-peak')).toBe('300 MiB / 300 MiB');
    expect(await text(page, '#cost-of')).toContain('of the last 1 finished order (1 with CPU, 1 with wall, 1 with a peak)');
    expect(await text(page, '#cost-age')).toMatch(/^as of .+ \([\d.]+ s old; asked every 30 s\)$/);

    // Once: a reload of the tab keeps the token (no prompt), and the counts come back.
    await page.reload();
    await until(async () => (await count(page, 'total')) === 3, 15_000, 'the counts after a reload');
    expect(await page.locator('#auth').isVisible()).toBe(false);

    // A fresh tab with the token in the fragment: no prompt, and the fragment is dropped from the address.
    const other = await context.newPage();
    await other.goto(`${s.url}#token=${token}`);
    await until(async () => (await count(other, 'DONE')) === 1, 15_000, 'the counts from #token=');
    expect(new URL(other.url()).hash).toBe('');
    expect(await other.locator('#auth').isVisible()).toBe(false);
  },
  60_000,
);

test.runIf(browser.run)(
  browser.title(
    "an order's output on the page: its first lines while it runs, then the rest and how it ended; stderr marked, HTML as text, what --keep-output dropped said; priorities shown",
  ),
  async () => {
    const dir = await tempDir('page-output');
    const HTML = `<script>alert(3)</script>${XSS}`;
    // A finished order whose output was cut in the middle by --keep-output (the sleeps: two
    // pipes are read in the order written only when apart in time).
    const [big] = await addOrders(k.db, [['big']]);
    expect((await waiter(k, ['deliver', '--keep-output', '10KiB', '--shell', 'echo first; sleep 0.3; seq 1 30000 >&2; sleep 0.3; echo last'])).exitCode).toBe(0);
    const s = await serve(k);
    const added = await s.call('/api/orders', { method: 'POST', json: { arguments: [HTML, '3'], priority: 5 } });
    expect(added.status).toBe(201);
    const id = added.body.ids[0] as string;
    // A short heartbeat: the progress talk.sh writes reaches the order with the next one.
    const w = background(k, ['deliver', '--once', '--heartbeat', '300ms', join(FIXTURES, 'talk.sh')], { TALK_DIR: dir });
    killAfterTest(await pidFrom(join(dir, `${id}.pid`), 'the command to start'));

    const { page, dialogs, errors } = await browse(dir);
    await page.goto(s.url);
    await page.fill('#q', id);
    await page.click('#search button');
    const live = page.locator('#found pre.output-live');
    const note = page.locator('#found p.ended');
    // Still running (it waits for its go file): what it printed so far is on the page.
    await until(async () => ((await live.count()) > 0 && (await live.textContent())) === `hello ${HTML}\nwarning ${HTML}\n`, 20_000, 'the first lines while it runs');
    expect((await byId(k.db, new ObjectId(id))).status).toBe('RUNNING');
    expect(await note.textContent()).toBe('attempt 1 running · live');
    expect(await live.locator('span.stderr').allTextContents()).toEqual([`warning ${HTML}\n`]);
    expect(await page.locator('#found dl').textContent()).toContain('priority5');
    // Its progress (WAITER_PROGRESS), kept current while it runs: the job's words, as text.
    await until(async () => (await text(page, '#order-progress')) === `50% half of ${HTML}`, 10_000, 'the progress while it runs');

    await writeFile(join(dir, `${id}.go`), '');
    await until(async () => (await note.textContent()) === 'attempt 1 ended: ERROR: exit code 3', 20_000, 'the ending');
    expect(await live.textContent()).toBe(`hello ${HTML}\nwarning ${HTML}\nbye ${HTML}\n`);
    expect((await w.proc).exitCode).toBe(1);
    // The order's fields as they are once it ended.
    await until(async () => (await page.locator('#found dl .badge').textContent()) === 'ERROR', 10_000, 'the status to turn ERROR');
    expect(await page.locator('img, main script').count()).toBe(0);
    // What the attempt used (src/usage/), as show says it, how it was measured in its tooltip; where it had got to.
    expect(await text(page, '#order-usage')).toMatch(/^wall [\d.]+ s(, cpu [\d.]+ s)?(, peak [\d.]+ [KMG]iB|, peak not seen .*)?$/);
    expect(await page.locator('#order-usage').getAttribute('title')).toMatch(/^measured: /);
    expect(await page.locator('#found ol.history li').first().textContent()).toMatch(/ · wall [\d.]+ s.* · progress 50% half of <script>alert\(3\)<\/script>/);

    // The cut order: head, the dropped bytes said, the end; stderr marked.
    await page.fill('#q', big!.toHexString());
    await page.click('#search button');
    await until(async () => /ended: DONE \(exit code 0\)$/.test((await note.textContent().catch(() => '')) ?? ''), 20_000, 'the cut order');
    const dropped = (await live.locator('span.dropped').allTextContents()).join('|');
    expect(dropped).toMatch(/^\[… [\d,]+ bytes not kept \(--keep-output\) …\]$/);
    expect(await live.locator('span.stdout').first().textContent()).toBe('first\n');
    expect(await live.locator('span.stdout').last().textContent()).toBe('last\n');
    expect(await live.locator('span.stderr').count()).toBeGreaterThan(1);
    if (process.env.WAITER_SCREENSHOTS) await page.screenshot({ path: join(process.env.WAITER_SCREENSHOTS, 'page-output.png'), fullPage: true });

    // READY per priority beside the READY count, when more than one priority is waiting.
    await s.call('/api/orders', { method: 'POST', json: [{ arguments: ['p7'], priority: 7 }, { arguments: ['p0'] }] });
    await until(async () => (await page.locator('#by-prio').textContent()) === 'by priority: 7: 1 · 0: 1', 15_000, 'READY per priority');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  },
  90_000,
);

test.runIf(browser.run)(
  browser.title(
    "an order's result files on the page: path, size and attempt listed, a download byte-exact through the token (never in a URL); WAITING counted, and those on failed orders",
  ),
  async () => {
    const dir = await tempDir('page-files');
    const token = 'page-files-token-5678';
    const [id] = await addOrders(k.db, [['x']]);
    const hex = id!.toHexString();
    const BIN = 'out/sub dir/ünï <b>data.bin';
    const d = await waiter(k, [
      'deliver',
      '--workdir',
      join(dir, 'runs', '{hash}'),
      '--collect',
      'out/*.csv',
      '--collect',
      'out/*/*.bin',
      '--shell',
      `mkdir -p "out/sub dir" && head -c 600000 /dev/urandom > "${BIN}" && printf "a,b\\n" > out/t.csv`,
    ]);
    expect(d.exitCode, d.stderr).toBe(0);
    const made = await readFile(join((await byId(k.db, id!)).workdir!, BIN));
    // A pipeline: an order after one not yet run is WAITING (issue 18).
    const [first] = await addOrders(k.db, [['first']]);
    const after = await waiter(k, ['add', '--after', first!.toHexString(), '--', 'then']);
    expect(after.exitCode, after.stderr).toBe(0);

    const s = await serve(k, [], { WAITER_TOKEN: token });
    const { page, dialogs, errors } = await browse(dir, { consoleErrors: true });
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    await page.goto(`${s.url}#token=${token}`);
    await until(async () => (await count(page, 'WAITING')) === 1, 15_000, 'the WAITING count');
    expect([await count(page, 'READY'), await count(page, 'DONE'), await count(page, 'total')]).toEqual([1, 1, 3]);

    await page.fill('#q', hex);
    await page.click('#search button');
    const rows = page.locator('#found table.files tbody tr');
    await until(async () => (await rows.count()) === 2, 15_000, 'the files listed');
    const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(cells).toEqual([
      [BIN, '585.9 KiB', '#1'],
      ['out/t.csv', '4 B', '#1'],
    ]);
    expect(await page.locator('#found h2.sub').allTextContents()).toContain('result files (2)');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), rows.first().locator('a.file').click()]);
    expect(download.suggestedFilename()).toBe('ünï _b_data.bin'); // the file's own name; Chromium turns < and > into _ when saving
    const got = await readFile(await download.path());
    expect(got.length).toBe(600_000);
    expect(got.equals(made)).toBe(true);
    // Asked for with the token as a header: no request the page made has it in its URL.
    expect(urls.some((u) => u.includes(`/api/orders/${hex}/files/out/`))).toBe(true);
    expect(urls.filter((u) => u.includes(token))).toEqual([]);
    expect(await page.locator('#found b, img').count()).toBe(0);
    // Phone width: the list of files fits the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await until(async () => (await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, 5000, 'the page to fit 390 px');
    if (process.env.WAITER_SCREENSHOTS) await page.screenshot({ path: join(process.env.WAITER_SCREENSHOTS, 'page-files-phone.png'), fullPage: true });
    // Nothing to claim or running, two WAITING: one on an order that failed, one on a DONE order (its release not run yet).
    await k.db.collection('orders').updateOne({ _id: first }, { $set: { status: 'ERROR', error: 'exit code 1', attempts: 1, stop: new Date() } });
    await k.db.collection('orders').insertOne({ status: 'WAITING', arguments: ['late'], attempts: 0, after: [id], wait: 1 });
    await until(async () => (await count(page, 'WAITING')) === 2 && (await count(page, 'READY')) === 0, 15_000, 'two WAITING, none READY');
    // And one HELD from WAITING on the failed order: a release alone would leave it waiting.
    expect(await text(page, '#heldonfailed')).toBe('');
    await k.db.collection('orders').insertOne({ status: 'HELD', arguments: ['kept'], attempts: 0, after: [first], held: { by: 'alice@box', at: new Date(), from: 'WAITING' } });
    await until(async () => (await text(page, '#onfailed')) === '(1 on failed orders)', 15_000, 'the WAITING on failed orders');
    await until(async () => (await text(page, '#heldonfailed')) === '(1 on failed orders once released)', 15_000, 'the HELD on failed orders');
    expect(await count(page, 'HELD')).toBe(1);
    expect(await text(page, '#eta')).toBe('1 of 2 WAITING on failed orders: reset them');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  },
  90_000,
);

test.runIf(browser.run)(
  browser.title(
    'figures say their age: after a quiet spell with the kitchen slow to count, the header turns amber with how old the counts are (never "updated <now>"), and the order view beside them says it is newer; fresh again once the kitchen answers',
  ),
  async () => {
    const { holdProxy } = await import('./support/hold-proxy.js');
    const dir = await tempDir('page-age');
    const orders = k.db.collection('orders');
    const ids = (await orders.insertMany(Array.from({ length: 3 }, (_, i) => ({ status: 'READY', arguments: [`${i}`], attempts: 0, due: new Date() })))).insertedIds;
    const proxy = await holdProxy(k.uri, 'aggregate'); // status's counts are held; an order's find passes
    const s = await serve({ uri: proxy.uri, name: k.name });
    expect((await s.call('/api/status')).body.RUNNING).toBe(0);
    proxy.hold();
    await new Promise((r) => setTimeout(r, 11_000)); // a quiet spell: nobody asks
    // Meanwhile an order starts on gpu-4.
    const id = ids[0]!.toHexString();
    await orders.updateOne({ _id: ids[0] }, { $set: { status: 'RUNNING', waiter: 'gpu-4', start: new Date(), attempts: 1, claim: 'c', expires: new Date(Date.now() + 60_000) } });

    const { page, errors } = await browse(dir);
    await page.goto(s.url);
    const label = page.locator('#updated');
    await until(async () => (await label.getAttribute('class')) === 'live old', 20_000, 'the header to turn amber');
    expect(await label.textContent()).toMatch(/^figures \d+ s old \(from .+\)$/);
    expect(await count(page, 'RUNNING')).toBe(0); // the old figures, said to be old
    const color = await label.evaluate((e) => getComputedStyle(e, '::before').backgroundColor);
    expect(color).toBe('rgb(226, 161, 0)'); // --running: amber, not the green of fresh figures
    await page.fill('#q', id);
    await page.click('#search button');
    await until(
      async () =>
        (await page
          .locator('#found dl .badge')
          .textContent()
          .catch(() => null)) === 'RUNNING',
      15_000,
      'the order view',
    );
    expect(await page.locator('#found dl').textContent()).toContain('gpu-4');
    const note = page.locator('#order-age');
    await until(async () => /newer than the counts above \(they are \d+ s older\)$/.test((await note.textContent()) ?? ''), 10_000, 'the order view to say it is newer');
    expect(await note.getAttribute('class')).toContain('warn');
    if (process.env.WAITER_SCREENSHOTS) await page.screenshot({ path: join(process.env.WAITER_SCREENSHOTS, 'page-old-figures.png'), fullPage: true });

    proxy.release();
    await until(async () => (await count(page, 'RUNNING')) === 1 && (await label.getAttribute('class')) === 'live', 20_000, 'fresh figures');
    expect(await label.textContent()).toMatch(/^updated /);
    await until(async () => /^read at [^·]+$/.test((await note.textContent()) ?? ''), 10_000, 'the order view no longer apart from the counts');
    expect(errors).toEqual([]);
  },
  90_000,
);

test.runIf(browser.run)(
  browser.title("the ETA's clock is this browser's now + the time left, not the server's clock (a box 3 hours off), and WAITING orders are said to be left out"),
  async () => {
    const dir = await tempDir('page-eta-skew');
    const now = Date.now();
    const orders = k.db.collection('orders');
    await orders.insertMany(
      Array.from({ length: 40 }, (_, i) => ({
        status: 'DONE',
        arguments: [`d${i}`],
        attempts: 1,
        start: new Date(now - 52_000 + i * 1000),
        stop: new Date(now - 50_000 + i * 1000),
        due: new Date(now - 60_000),
      })),
    );
    await orders.insertMany(Array.from({ length: 20 }, (_, i) => ({ status: 'READY', arguments: [`r${i}`], attempts: 0, due: new Date(now - 60_000) })));
    await orders.insertMany(Array.from({ length: 2 }, (_, i) => ({ status: 'WAITING', arguments: [`w${i}`], attempts: 0, after: [new ObjectId()], wait: 1 })));
    await k.db.collection<WaiterDoc>('orders.waiters').insertOne(liveWaiter(now, { _id: 'w0', name: 'box', host: 'h', concurrency: 2, delivered: 40 }));
    const s = await serve(k);
    const api = (await s.call('/api/status')).body as { etaSeconds: number; eta: string };
    expect(api.etaSeconds).toBeGreaterThan(0);
    const { page, errors } = await browse(dir);
    const skewed = now + 3 * 3_600_000;
    await page.clock.setFixedTime(skewed);
    await page.goto(s.url);
    await until(async () => / not counted$/.test((await text(page, '#eta')) ?? ''), 15_000, 'the ETA');
    const shown = (await text(page, '#eta'))!;
    expect(shown).toMatch(/; 2 WAITING not counted$/);
    const clock = shown.replace(/ \(in .*$/, '');
    // This browser's clocks for the ETA give or take a minute (the figures move while read), none of them the server's.
    const near = await page.evaluate(([t, eta]) => Array.from({ length: 121 }, (_, i) => new Date(t + (eta - 60 + i) * 1000).toLocaleTimeString()), [
      skewed,
      api.etaSeconds,
    ] as const);
    expect(near).toContain(clock);
    expect(clock).not.toBe(await page.evaluate((iso) => new Date(iso).toLocaleTimeString(), api.eta));
    expect(errors).toEqual([]);
  },
  60_000,
);
