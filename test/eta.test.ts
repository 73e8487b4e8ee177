// status's ETA (src/eta.ts, issue 25) over simulated runs: a stream of finishes from
// `slots` workers, what `status` would read at each moment, against the run's real end.
import { describe, expect, test } from 'vitest';
import { eta, measure, type Finish } from '../src/eta.js';
import { random, seen, simulate, type SimRun } from './support/eta-sim.js';

const uniform = (seed: number, from: number, to: number) => {
  const r = random(seed);
  return () => from + (to - from) * r();
};
const lognormal = (seed: number, median: number, sigma: number) => {
  const r = random(seed);
  return () => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(r() || 1e-9)) * Math.cos(2 * Math.PI * r()));
};

const RUNS = [
  { name: '2,000 orders of 0.5-1.5 s on 10 slots', n: 2000, slots: 10, duration: (s: number) => uniform(s, 500, 1500) },
  { name: '3,000 orders of 1.5-4.5 s on 50 slots, 50 ms between orders', n: 3000, slots: 50, duration: (s: number) => uniform(s, 1500, 4500), overheadMs: 50 },
  { name: '600 orders of ~2 s (lognormal) on 8 slots', n: 600, slots: 8, duration: (s: number) => lognormal(s, 2000, 0.4) },
  {
    name: '20,000 orders of 10-30 ms, 20 ms between orders (the pace, not the run time, is the truth)',
    n: 20_000,
    slots: 4,
    duration: (s: number) => uniform(s, 10, 30),
    overheadMs: 20,
  },
  { name: '400 orders of 40-80 s on 20 slots (a minute sees few finishes)', n: 400, slots: 20, duration: (s: number) => uniform(s, 40_000, 80_000) },
  { name: '100 orders of 20-40 s on one slot', n: 100, slots: 1, duration: (s: number) => uniform(s, 20_000, 40_000) },
];

describe('the ETA of a simulated run', () => {
  for (const r of RUNS) {
    test(`${r.name}: within 25 % of the real remaining time from 10 % of the run on`, () => {
      for (const seed of [1, 2, 3]) {
        const sim = simulate({ n: r.n, slots: r.slots, duration: r.duration(seed), overheadMs: r.overheadMs ?? 0 });
        const mean = sim.runs.reduce((a, x) => a + x.stop - x.start, 0) / sim.runs.length;
        const off: string[] = [];
        for (let f = 0.1; f < 1; f += 0.01) {
          const t = f * sim.end;
          const real = sim.end - t;
          const e = eta(sim.at(t));
          expect(e.reason, `seed ${seed} at ${f.toFixed(2)}`).toBeNull();
          const est = e.seconds! * 1000;
          // Until the last few orders per slot, within 25 %; after that what is left is a
          // few run times that nobody knows yet: within one and a half of the mean.
          const ok = real > 5 * mean ? Math.abs(est - real) <= 0.25 * real : Math.abs(est - real) <= 1.5 * mean + 1000;
          if (!ok) off.push(`seed ${seed} at ${(f * 100).toFixed(0)} %: ETA ${e.seconds} s, real ${(real / 1000).toFixed(1)} s`);
        }
        expect(off).toEqual([]);
      }
    });
  }

  test('READY read below 0 (counts read one after another while orders move) is none left, not a negative ETA', () => {
    const sim = simulate({ n: 200, slots: 4, duration: uniform(6, 500, 1500) });
    const e = eta({ ...sim.at(0.5 * sim.end), ready: -3, running: 4 });
    expect(e.seconds!).toBeGreaterThanOrEqual(0);
    expect(e.seconds).toBe(eta({ ...sim.at(0.5 * sim.end), ready: 0, running: 4 }).seconds);
  });

  test('nothing due now and nothing running: no ETA, and why', () => {
    const sim = simulate({ n: 200, slots: 4, duration: uniform(5, 500, 1500) });
    expect(eta({ ...sim.at(0.5 * sim.end), ready: 0, running: 0 })).toMatchObject({ seconds: null, reason: 'nothing READY' });
  });

  test('early in a run the live slots count: within the first minute of 30 s orders on 40 slots, not the pace of the first finishes', () => {
    // The previous run's orders took 30 s too (the last 300 finished are the mean's).
    const before = simulate({ n: 300, slots: 40, duration: uniform(9, 25_000, 35_000), start: -3_600_000 });
    const run = simulate({ n: 4000, slots: 40, duration: uniform(10, 25_000, 35_000) });
    for (const t of [40_000, 50_000, 59_000]) {
      const e = eta(seen([...before.runs, ...run.runs], t, 40));
      expect(Math.abs(e.seconds! * 1000 - (run.end - t)), `at ${t} ms: ETA ${e.seconds} s, real ${(run.end - t) / 1000} s`).toBeLessThanOrEqual(0.25 * (run.end - t));
    }
  });

  test('a reset of the few orders that failed in the last minute moves the ETA by their share of the work, not from 1 minute to 47', () => {
    // Orders of 50-70 s on 4 slots, 130 s in: the last minute's finishes all failed, and are reset.
    const sim = simulate({ n: 200, slots: 4, duration: uniform(11, 50_000, 70_000) });
    const now = sim.at(130_000);
    const failed = now.recent.filter((f) => f.stop > now.now - 60_000);
    expect(failed.length).toBeGreaterThan(0);
    const after = { ...now, recent: now.recent.filter((f) => !failed.includes(f)), ready: now.ready + failed.length, finished10m: now.finished10m - failed.length };
    const a = eta(now);
    const b = eta(after);
    const perOrder = 60 / a.perMinute!;
    expect(b.seconds!).toBeGreaterThanOrEqual(a.seconds! * 0.9);
    expect(b.seconds!).toBeLessThanOrEqual(a.seconds! * 1.25 + failed.length * perOrder);
  });
});

/** The ETA at each 1 % from 10 % of `run` on (after `before`), against its real end: the lines off by more than the bar. */
function offTheBar(before: readonly Finish[], run: SimRun, label: string): string[] {
  const mean = run.runs.reduce((a, x) => a + x.stop - x.start, 0) / run.runs.length;
  const t0 = Math.min(...run.runs.map((x) => x.start));
  const off: string[] = [];
  for (let f = 0.1; f < 1; f += 0.01) {
    const t = t0 + f * (run.end - t0);
    const real = run.end - t;
    const e = eta(seen([...before, ...run.runs], t, run.slots));
    const est = (e.seconds ?? NaN) * 1000;
    const ok = real > 5 * mean ? Math.abs(est - real) <= 0.25 * real : Math.abs(est - real) <= 1.5 * mean + 1000;
    if (!ok) off.push(`${label} at ${(f * 100).toFixed(0)} %: ETA ${e.seconds} s, real ${(real / 1000).toFixed(1)} s`);
  }
  return off;
}

describe('the ETA after what came before (review 3)', () => {
  test('after a lull: 400 orders of 1 s ended 9 minutes ago, 10 slots take a new batch; idle minutes are not working time', () => {
    const before = simulate({ n: 400, slots: 10, duration: uniform(31, 900, 1100), start: -600_000 });
    expect(before.end).toBeLessThan(-500_000);
    // At the very start of the new batch (20 READY, nothing of it finished yet): about 2 s, not 6 minutes.
    const start = eta({ ...seen(before.runs, 0, 10), ready: 20, waiters: 10 });
    expect(start.seconds!, `ETA ${start.seconds} s`).toBeLessThanOrEqual(4);
    const off: string[] = [];
    for (const seed of [1, 2, 3]) off.push(...offTheBar(before.runs, simulate({ n: 600, slots: 10, duration: uniform(seed, 500, 1500) }), `seed ${seed}`));
    expect(off).toEqual([]);
  });

  test('a new batch of slower orders in a reused list: 400 orders of 40-80 s on 20 slots after 300 of ~1 s', () => {
    const off: string[] = [];
    for (const [seed, ago] of [
      [1, 3_600_000],
      [2, 900_000],
      [3, 3_600_000],
    ] as const) {
      const before = simulate({ n: 300, slots: 20, duration: uniform(40 + seed, 900, 1100), start: -ago });
      off.push(...offTheBar(before.runs, simulate({ n: 400, slots: 20, duration: uniform(seed, 40_000, 80_000) }), `seed ${seed}, the last batch ${ago / 60_000} min before`));
    }
    expect(off).toEqual([]);
  });

  test('fewer orders left than slots: 5 READY on 100 idle slots of 60 s orders take a run time, not half of one', () => {
    const done = simulate({ n: 300, slots: 100, duration: uniform(7, 55_000, 65_000), start: -200_000 });
    const e = eta({ ...seen(done.runs, 0, 100), ready: 5, running: 0, waiters: 100 });
    expect(Math.abs(e.seconds! - 60), `ETA ${e.seconds} s`).toBeLessThanOrEqual(15);
  });
});

describe('the measured pace', () => {
  test('over the last minute, or over the time since the run began inside it', () => {
    const at = (start: number, stop: number) => ({ start, stop });
    // A steady minute: 30 finishes, the run began long ago.
    const steady = Array.from({ length: 30 }, (_, i) => at(-200_000 + i * 2000, -58_000 + i * 2000));
    expect(measure(steady, 0)).toEqual({ perMs: 30 / 60_000, finished: 30 });
    // A run begun 20 s ago: 10 finishes over 20 s, not over 60.
    const young = Array.from({ length: 10 }, (_, i) => at(-20_000 + i * 1000, -9_000 + i * 1000));
    expect(measure(young, 0).perMs).toBeCloseTo(10 / 20_000, 10);
    // Only the newest 300 are read: when all of them are in the minute, the window starts at the oldest of them.
    const busy = Array.from({ length: 300 }, (_, i) => at(-1000 - i * 100, -i * 100));
    expect(measure(busy, 0)).toEqual({ perMs: 299 / 29_900, finished: 299 });
  });
});
