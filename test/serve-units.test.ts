// Pure parts of `waiter serve`: the pace chart's incremental reads, the shared cache,
// the token check and the loopback test.
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { MAX_STALE_MS, tokenCheck } from '../src/serve/app.js';
import { cached } from '../src/serve/cache.js';
import { MINUTE, Pace } from '../src/serve/pace.js';
import { isLoopback } from '../src/serve/server.js';

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
      { value: 1, ageMs: 0 },
      { value: 1, ageMs: 0 },
    ]);
    now = 999;
    expect(await get()).toEqual({ value: 1, ageMs: 999 });
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
      { value: 2, ageMs: 0 },
      { value: 2, ageMs: 0 },
    ]);
  });

  test('past maxAge: the last answer once waitMs has passed while one refresh runs; after a failed refresh, or past maxStale, callers wait', async () => {
    const { f, get, clock } = await primed(0);
    expect(await get()).toEqual({ value: 1, ageMs: 5000 }); // refresh started in the background
    expect(await get()).toEqual({ value: 1, ageMs: 5000 });
    expect(f.calls()).toBe(2);
    f.release(2);
    await new Promise((r) => setImmediate(r));
    expect(await get()).toEqual({ value: 2, ageMs: 0 });
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
    expect(await back).toEqual({ value: 3, ageMs: 0 });
    clock.now = 40_000;
    const late = get();
    expect(f.calls()).toBe(6);
    f.release(4);
    expect(await late).toEqual({ value: 4, ageMs: 0 });
  });

  test('past maxAge, a refresh slower than waitMs holds only the callers of its first waitMs: later ones get the last answer at once', async () => {
    const { f, get, clock } = await primed(1000);
    let early: { value: number; ageMs: number } | undefined;
    const waiting = get().then((r) => (early = r)); // starts the refresh at 5000 and waits for it
    await new Promise((r) => setImmediate(r));
    expect(early).toBeUndefined();
    clock.now = 6500; // the refresh has run 1.5 s: a caller now is not held another second
    expect(await get()).toEqual({ value: 1, ageMs: 6500 });
    expect(f.calls()).toBe(2);
    f.release(2);
    expect(await waiting).toEqual({ value: 2, ageMs: 0 });
  });

  test('an answer that took longer than maxStale to come is as old as the time since it came: served while the next slow refresh runs', async () => {
    let now = 0;
    const f = fake();
    const get = cached(f.fn, 1000, 30_000, () => now, 0);
    const first = get();
    now = 40_000; // the kitchen took 40 s to answer
    f.release(1);
    expect(await first).toEqual({ value: 1, ageMs: 0 });
    now = 41_000;
    let got: unknown;
    void get().then((r) => (got = r)); // starts the next refresh; the last answer is 1 s old
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual({ value: 1, ageMs: 1000 });
    expect(f.calls()).toBe(2);
    now = 80_000;
    f.release(2);
    await new Promise((r) => setImmediate(r));
    now = 80_500;
    expect(await get()).toEqual({ value: 2, ageMs: 500 });
    // Past maxStale since it came, callers wait for the refresh in flight.
    now = 111_000;
    const late = get();
    got = undefined;
    void late.then((r) => (got = r));
    await new Promise((r) => setImmediate(r));
    expect(got).toBeUndefined();
    f.release(3);
    expect(await late).toEqual({ value: 3, ageMs: 0 });
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
    expect(await b).toEqual({ value: 2, ageMs: 0 });
  });
});

test('tokenCheck: only "Bearer <exact token>"', () => {
  const ok = tokenCheck('s3cret-token');
  expect(ok('Bearer s3cret-token')).toBe(true);
  expect(ok('bearer s3cret-token')).toBe(true);
  for (const h of [undefined, '', 'Bearer', 'Bearer s3cret-toke', 'Bearer s3cret-token2', 'Basic s3cret-token', 's3cret-token']) expect(ok(h), String(h)).toBe(false);
  expect(tokenCheck(undefined)('Bearer ')).toBe(false);
});

test('isLoopback', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopback(h), h).toBe(false);
});

test('the README says how old a served answer may be while the kitchen recounts: MAX_STALE_MS', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const said = /the last answer \(≤ (\d+) (s|min) old/.exec(readme);
  expect(said, 'the sentence about stale answers').not.toBeNull();
  expect(Number(said![1]) * (said![2] === 'min' ? 60_000 : 1000)).toBe(MAX_STALE_MS);
});
