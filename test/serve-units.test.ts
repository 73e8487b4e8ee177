// Pure parts of `waiter serve`: the pace chart's incremental reads, the shared cache,
// the token check and the loopback test.
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import type { Kitchen } from '../src/kitchen.js';
import { MAX_STALE_MS, createApp, tokenCheck } from '../src/serve/app.js';
import { answerAge, cached } from '../src/serve/cache.js';
import { MINUTE, Pace } from '../src/serve/pace.js';
import { isLoopback } from '../src/serve/server.js';
import { isUnspecified, printedUrl } from '../src/serve/hosts.js';
import { MAX_TIMER_MS, timerDuration } from '../src/values.js';

describe('Pace', () => {
  const t0 = Date.UTC(2026, 10, 25, 12, 0, 0);
  const at = (min: number, sec = 0) => new Date(t0 + min * MINUTE + sec * 1000);

  test('reads the hour once, then only from two minutes before the last complete minute; late results still count', async () => {
    const stops: Date[] = [at(-30, 5), at(-1, 30)];
    const asked: Date[] = [];
    const pace = new Pace({ finishTimes: async (since) => (asked.push(since), stops.filter((s) => s >= since)) });
    const first = await pace.chart(at(0, 10));
    expect(asked[0]).toEqual(at(-59));
    expect(first.minutes).toHaveLength(60);
    expect(first.minutes[29]).toEqual({ start: at(-30).toISOString(), finished: 1 });
    expect(first.minutes[58]!.finished).toBe(1);

    // A result for minute -1 written after the first read (the finish overlaps the next claim).
    stops.push(at(-1, 59), at(0, 20), at(1, 1));
    const second = await pace.chart(at(1, 30));
    expect(asked[1]).toEqual(at(-2));
    expect(second.minutes[59]).toEqual({ start: at(1).toISOString(), finished: 1 });
    expect(second.minutes[58]!.finished).toBe(1); // minute 0
    expect(second.minutes[57]!.finished).toBe(2); // minute -1, late one included
    expect(second.minutes[28]!.finished).toBe(1); // minute -30, from the cache
    expect(second.minutes.reduce((n, m) => n + m.finished, 0)).toBe(5);
  });
});

describe('cached', () => {
  function fake() {
    let calls = 0;
    const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
    const fn = () =>
      new Promise<number>((resolve, reject) => {
        calls++;
        pending.push({ resolve, reject });
      });
    return { fn, calls: () => calls, release: (v: number) => pending.shift()!.resolve(v), fail: () => pending.shift()!.reject(new Error('down')) };
  }

  /** A cache (maxAge 1 s, maxStale 30 s) that fetched 1 at time 0, its clock now at 5000: past maxAge. */
  async function primed(waitMs: number) {
    const clock = { now: 0 };
    const f = fake();
    const get = cached(f.fn, 1000, 30_000, () => clock.now, waitMs);
    const first = get();
    f.release(1);
    await first;
    clock.now = 5000;
    return { f, get, clock };
  }

  test('one query for concurrent callers, reused for maxAge', async () => {
    let now = 0;
    const f = fake();
    const get = cached(f.fn, 1000, 30_000, () => now);
    const a = get();
    const b = get();
    f.release(1);
    expect(await Promise.all([a, b])).toEqual([
      { value: 1, at: 0, ageMs: 0 },
      { value: 1, at: 0, ageMs: 0 },
    ]);
    now = 999;
    expect(await get()).toEqual({ value: 1, at: 0, ageMs: 999 });
    expect(f.calls()).toBe(1);
  });

  test('past maxAge: callers wait up to waitMs for the one refresh, and get the fresh answer when it comes in time', async () => {
    let now = 0;
    const f = fake();
    const get = cached(f.fn, 1000, 30_000, () => now, 5_000);
    const first = get();
    f.release(1);
    await first;
    now = 20_000; // a quiet spell: nobody asked for 20 s
    const a = get();
    const b = get();
    expect(f.calls()).toBe(2); // one refresh for both
    f.release(2);
    expect(await Promise.all([a, b])).toEqual([
      { value: 2, at: 20_000, ageMs: 0 },
      { value: 2, at: 20_000, ageMs: 0 },
    ]);
  });

  test('past maxAge: the last answer once waitMs has passed while one refresh runs; after a failed refresh, or past maxStale, callers wait', async () => {
    const { f, get, clock } = await primed(0);
    expect(await get()).toEqual({ value: 1, at: 0, ageMs: 5000 }); // refresh started in the background
    expect(await get()).toEqual({ value: 1, at: 0, ageMs: 5000 });
    expect(f.calls()).toBe(2);
    f.release(2);
    await new Promise((r) => setImmediate(r));
    expect(await get()).toEqual({ value: 2, at: 5000, ageMs: 0 });
    // The kitchen goes down: the old answer until the refresh fails, then the error.
    clock.now = 6000;
    expect((await get()).value).toBe(2);
    f.fail();
    await new Promise((r) => setImmediate(r));
    const next = get();
    f.fail();
    await expect(next).rejects.toThrow('down');
    // Back up: fresh figures; then an answer older than maxStale is not served either.
    const back = get();
    f.release(3);
    expect(await back).toEqual({ value: 3, at: 6000, ageMs: 0 });
    clock.now = 40_000;
    const late = get();
    expect(f.calls()).toBe(6);
    f.release(4);
    expect(await late).toEqual({ value: 4, at: 40_000, ageMs: 0 });
  });

  test('past maxAge, a refresh slower than waitMs holds only the callers of its first waitMs: later ones get the last answer at once', async () => {
    const { f, get, clock } = await primed(1000);
    let early: { value: number; ageMs: number } | undefined;
    const waiting = get().then((r) => (early = r)); // starts the refresh at 5000 and waits for it
    await new Promise((r) => setImmediate(r));
    expect(early).toBeUndefined();
    clock.now = 6500; // the refresh has run 1.5 s: a caller now is not held another second
    expect(await get()).toEqual({ value: 1, at: 0, ageMs: 6500 });
    expect(f.calls()).toBe(2);
    f.release(2);
    expect(await waiting).toEqual({ value: 2, at: 6500, ageMs: 0 });
  });

  test('an answer that took longer than maxStale to come is as old as the time since it came: served while the next slow refresh runs', async () => {
    let now = 0;
    const f = fake();
    const get = cached(f.fn, 1000, 30_000, () => now, 0);
    const first = get();
    now = 40_000; // the kitchen took 40 s to answer
    f.release(1);
    expect(await first).toEqual({ value: 1, at: 40_000, ageMs: 0 });
    now = 41_000;
    let got: unknown;
    void get().then((r) => (got = r)); // starts the next refresh; the last answer is 1 s old
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual({ value: 1, at: 40_000, ageMs: 1000 });
    expect(f.calls()).toBe(2);
    now = 80_000;
    f.release(2);
    await new Promise((r) => setImmediate(r));
    now = 80_500;
    expect(await get()).toEqual({ value: 2, at: 80_000, ageMs: 500 });
    // Past maxStale since it came, callers wait for the refresh in flight.
    now = 111_000;
    const late = get();
    got = undefined;
    void late.then((r) => (got = r));
    await new Promise((r) => setImmediate(r));
    expect(got).toBeUndefined();
    f.release(3);
    expect(await late).toEqual({ value: 3, at: 111_000, ageMs: 0 });
  });

  test('after a quiet spell callers wait longer (quiet.waitMs) for the refresh: a minute-old answer is not what a reopened page gets', async () => {
    let now = 0;
    const f = fake();
    const get = cached(f.fn, 1000, 120_000, () => now, 1000, { afterMs: 10_000, waitMs: 5000 });
    const first = get();
    f.release(1);
    await first;
    now = 48_000; // nobody asked for 48 s
    const a = get(); // starts the refresh
    now = 50_500; // 2.5 s into it: still within the quiet spell's wait
    let b: { value: number; ageMs: number } | undefined;
    const bDone = get().then((r) => (b = r));
    await new Promise((r) => setImmediate(r));
    expect(b).toBeUndefined(); // before: the 48 s old answer at once, as if fresh
    f.release(2);
    await bDone;
    expect([await a, b]).toEqual([
      { value: 2, at: 50_500, ageMs: 0 },
      { value: 2, at: 50_500, ageMs: 0 },
    ]);
    // Busy again (asked every second or two): the usual second's wait, then the last answer with its age.
    now = 52_000;
    const c = get();
    now = 53_500;
    expect(await get()).toEqual({ value: 2, at: 50_500, ageMs: 3000 }); // answered at 50.5 s
    f.release(3);
    expect(await c).toEqual({ value: 3, at: 53_500, ageMs: 0 });
  });

  test('an answer says when the kitchen gave it (at): every read of the same figures gives the same asOf, however much later it is read (issue 25)', async () => {
    let now = 0;
    const f = fake();
    const get = cached(f.fn, 1000, 30_000, () => now, 0);
    const first = get();
    now = 20; // the kitchen answers 20 ms after it was asked
    f.release(1);
    const reads = [await first];
    now = 700; // within maxAge
    reads.push(await get());
    now = 5000; // past it: the last answer while a refresh runs
    reads.push(await get());
    expect(reads.map((r) => [r.value, r.at])).toEqual([
      [1, 20],
      [1, 20],
      [1, 20],
    ]);
    expect([answerAge(reads[0]!.at, 23), answerAge(reads[1]!.at, 700), answerAge(reads[2]!.at, 5000)]).toEqual([
      { asOf: new Date(20).toISOString(), ageSeconds: 0 },
      { asOf: new Date(20).toISOString(), ageSeconds: 0 },
      { asOf: new Date(20).toISOString(), ageSeconds: 4 },
    ]);
    // An answer to a query begun before an invalidation is not kept, but its callers get when it came.
    const g = fake();
    const other = cached(g.fn, 1000, 30_000, () => now, 0);
    const before = other();
    other.invalidate();
    now = 5100;
    g.release(2);
    expect(await before).toMatchObject({ value: 2, at: 5100 });
  });

  test('after invalidate callers wait for a fresh answer', async () => {
    const now = 0;
    const f = fake();
    const get = cached(f.fn, 1000, 30_000, () => now);
    const a = get();
    f.release(1);
    await a;
    get.invalidate();
    const b = get();
    f.release(2);
    expect(await b).toEqual({ value: 2, at: 0, ageMs: 0 });
  });
});

test('tokenCheck: only "Bearer <exact token>"', () => {
  const ok = tokenCheck('s3cret-token');
  expect(ok('Bearer s3cret-token')).toBe(true);
  expect(ok('bearer s3cret-token')).toBe(true);
  for (const h of [undefined, '', 'Bearer', 'Bearer s3cret-toke', 'Bearer s3cret-token2', 'Basic s3cret-token', 's3cret-token']) expect(ok(h), String(h)).toBe(false);
  expect(tokenCheck(undefined)('Bearer ')).toBe(false);
});

test("a failure that is neither the request's nor the kitchen's (a bug): 500 with one fixed line, the stack only in the server's log", async () => {
  const logged: string[] = [];
  // A kitchen whose every read fails with a plain Error: not a KitchenError (503), not a refusal (400).
  const kitchen = { fleet: {}, where: 'x', guard: async () => Promise.reject(new TypeError('boom at line 42')) } as unknown as Kitchen;
  const app = createApp({ kitchen, list: 'orders', db: 'waiter', publicRead: false, log: (l) => logged.push(l) });
  const r = await app.request('/api/status');
  expect(r.status).toBe(500);
  expect(await r.json()).toEqual({ error: 'internal error (logged by the server)' }); // as docs/api.md shows it
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatch(/^waiter serve: GET \/api\/status: internal error: TypeError: boom at line 42\n\s+at /);
});

test('isLoopback', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopback(h), h).toBe(false);
});

test('docs/api.md says how old a served answer may be while the kitchen recounts: MAX_STALE_MS', async () => {
  const readme = await readFile(new URL('../docs/api.md', import.meta.url), 'utf8');
  const said = /the last answer \(≤ (\d+) (s|min) old/.exec(readme);
  expect(said, 'the sentence about stale answers').not.toBeNull();
  expect(Number(said![1]) * (said![2] === 'min' ? 60_000 : 1000)).toBe(MAX_STALE_MS);
});

test('isUnspecified: every spelling of "every address" that an IP parser reads', () => {
  for (const a of ['0.0.0.0', '::', '[::]', '0:0::0', '::ffff:0.0.0.0', '::ffff:0:0', '[::FFFF:0.0.0.0]']) expect(isUnspecified(a), a).toBe(true);
  for (const a of ['127.0.0.1', '::1', '10.0.0.0', '::ffff:127.0.0.1', 'localhost', 'zero.example']) expect(isUnspecified(a), a).toBe(false);
});

test('printedUrl: a URL the server answers, never 0.0.0.0 or ::', () => {
  const at = (bind: string, names: string[] = [], loopback = false) => printedUrl({ bind, port: 18735, names, loopback });
  expect(at('0.0.0.0')).toBe('http://127.0.0.1:18735/');
  expect(at('::')).toBe('http://127.0.0.1:18735/');
  expect(at('::ffff:0.0.0.0')).toBe('http://127.0.0.1:18735/');
  expect(at('10.1.2.3')).toBe('http://10.1.2.3:18735/');
  expect(at('fd00::1')).toBe('http://[fd00::1]:18735/');
  expect(at('127.0.0.1', ['waiter.test'], true)).toBe('http://127.0.0.1:18735/');
  // The first name without a port of its own; else the first name, with its own port (a reverse proxy's).
  expect(at('0.0.0.0', ['proxy.test:443', 'waiter.test'])).toBe('http://waiter.test:18735/');
  expect(at('0.0.0.0', ['proxy.test:443'])).toBe('https://proxy.test/');
  expect(at('::', ['proxy.test:80'])).toBe('http://proxy.test/');
  expect(at('0.0.0.0', ['proxy.test:8443', 'other.test:443'])).toBe('http://proxy.test:8443/');
});

test('timerDuration: whole milliseconds, at most what a timer can wait', () => {
  expect(timerDuration('t', '1.5ms')).toBe(2);
  expect(timerDuration('t', '0.0001')).toBe(1);
  expect(timerDuration('t', '24d')).toBe(24 * 86_400_000);
  expect(timerDuration('t', `${MAX_TIMER_MS}ms`)).toBe(MAX_TIMER_MS);
  expect(() => timerDuration('t', `${MAX_TIMER_MS + 1}ms`)).toThrow(/^--t: at most 24 days$/);
  expect(() => timerDuration('t', '30d')).toThrow(/^--t: at most 24 days$/);
});
