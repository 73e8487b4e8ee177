// status --finish-by (issue 28 point 6): the arithmetic of src/sizing.ts on known paces,
// on simulated runs (the waiters it asks for do finish in time), and the time it reads.
import { describe, expect, test } from 'vitest';
import { eta, meanRunMs } from '../src/eta.js';
import { finishBy, type SizingInput } from '../src/sizing.js';
import { deadline } from '../src/values.js';
import { UsageError } from '../src/errors.js';
import { finishByLine } from '../src/commands/finish-by.js';
import type { StatusReport } from '../src/app/status.js';
import { random, simulate } from './support/eta-sim.js';

const MIN = 60_000;
const NOW = Date.parse('2026-12-07T15:00:00Z');
/** 4 waiters of 2 slots finishing 8 orders a minute (2 per waiter), orders of 60 s on average, 3 h left. */
const known: SizingInput = {
  now: NOW,
  at: NOW + 180 * MIN,
  backlog: 3000,
  running: 8,
  stale: 0,
  waiters: 4,
  slots: 8,
  perMinute: 8,
  etaReason: null,
  meanMs: 60_000,
};

describe('finishBy on a known pace', () => {
  test('needed = ceil(left ÷ (rate per waiter × (time left − half a run time))), more = needed − live', () => {
    // left = 3000 + 8 ÷ 2 = 3004; one waiter does 2/min × (180 − 0.5) min = 359 in the time: 8.37 → 9.
    expect(finishBy(known)).toEqual({
      at: '2026-12-07T18:00:00.000Z',
      waitersNeeded: 9,
      more: 5,
      reason: null,
      basis: { left: 3004, secondsLeft: 10_800, waiters: 4, slotsPerWaiter: 2, perWaiterPace: 2, meanRunSeconds: 60 },
    });
  });

  test('a whole number of waiters exactly is that number, not one more; enough live ones is 0 more', () => {
    // left = 714 + 4 = 718 = 2 × 359.
    expect(finishBy({ ...known, backlog: 714 })).toMatchObject({ waitersNeeded: 2, more: 0, reason: null });
    expect(finishBy({ ...known, backlog: 715 })).toMatchObject({ waitersNeeded: 3, more: 0 });
    // A stale RUNNING order is in the backlog (run again), not half done.
    expect(finishBy({ ...known, backlog: 714, stale: 2 }).basis.left).toBe(717);
  });

  test('twice the time left, about half the waiters; twice the pace per waiter, half', () => {
    const long = finishBy({ ...known, backlog: 30_000, at: NOW + 600 * MIN }).waitersNeeded!;
    const twice = finishBy({ ...known, backlog: 30_000, at: NOW + 1200 * MIN }).waitersNeeded!;
    expect(twice).toBe(Math.ceil(30_004 / (2 * 1199.5)));
    expect(long).toBe(Math.ceil(30_004 / (2 * 599.5)));
    expect(finishBy({ ...known, backlog: 30_000, at: NOW + 600 * MIN, perMinute: 16 }).waitersNeeded).toBe(Math.ceil(30_004 / (4 * 599.5)));
  });

  test('the shape is slots per live waiter, as measured now', () => {
    expect(finishBy({ ...known, slots: 10, waiters: 4 }).basis.slotsPerWaiter).toBe(2.5);
    expect(finishBy({ ...known, slots: 0, waiters: 3 }).basis.slotsPerWaiter).toBe(1);
  });

  test('says plainly when it cannot tell, never a number', () => {
    const none = (over: Partial<SizingInput>) => {
      const f = finishBy({ ...known, ...over });
      return [f.waitersNeeded, f.more, f.reason];
    };
    expect(none({ at: NOW - MIN })).toEqual([null, null, 'the time is past']);
    expect(none({ at: NOW })).toEqual([null, null, 'the time is past']);
    // Nothing to claim: no waiter added would have anything to do.
    expect(none({ backlog: 0 })).toEqual([null, 0, 'nothing left to claim']);
    expect(none({ waiters: 0, slots: 0, perMinute: null, etaReason: 'no live waiters' })).toEqual([null, null, 'no live waiters (no pace or shape to size from)']);
    expect(none({ perMinute: null, etaReason: 'no finished orders in the last 10 minutes', meanMs: NaN })).toEqual([
      null,
      null,
      'no pace measured yet (no finished orders in the last 10 minutes)',
    ]);
    expect(none({ perMinute: 0 })[2]).toMatch(/^no pace measured yet/);
    // 30 s left for orders of a minute: no number of waiters does it.
    expect(none({ at: NOW + 30_000 })).toEqual([null, null, 'too soon: an order takes longer on average than the time left']);
  });
});

describe('finishBy on simulated runs: the waiters it asks for finish in time', () => {
  /** When `left` orders (run times `durations`) are done on `slots` slots, the `busy` ones free at their stops. */
  const finishOn = (slots: number, busy: number[], durations: number[], now: number) => {
    const free = [...busy, ...Array.from({ length: Math.max(0, slots - busy.length) }, () => now)];
    for (const d of durations) {
      free.sort((a, b) => a - b);
      free[0] = free[0]! + d;
    }
    return Math.max(...free);
  };
  const uniform = (seed: number, from: number, to: number) => {
    const r = random(seed);
    return () => from + (to - from) * r();
  };

  for (const c of [
    { name: '3,000 orders of 20-40 s, 2 waiters of 4 slots', n: 3000, waiters: 2, shape: 4, d: [20_000, 40_000] },
    { name: '2,000 orders of 1-3 min, 5 waiters of 2 slots', n: 2000, waiters: 5, shape: 2, d: [60_000, 180_000] },
  ]) {
    test(c.name, () => {
      for (const seed of [1, 2, 3]) {
        const sim = simulate({ n: c.n, slots: c.waiters * c.shape, duration: uniform(seed, c.d[0]!, c.d[1]!) });
        const now = 0.1 * sim.end;
        const seen = { ...sim.at(now), waiters: c.waiters };
        const e = eta(seen);
        const base = {
          now,
          backlog: seen.ready,
          running: seen.running,
          stale: 0,
          waiters: c.waiters,
          slots: seen.slots,
          perMinute: e.perMinute,
          etaReason: e.reason,
          meanMs: meanRunMs(seen.recent, now),
        };
        const todo = sim.runs.filter((r) => r.start > now).map((r) => r.stop - r.start);
        const busy = sim.runs.filter((r) => r.start <= now && r.stop > now).map((r) => r.stop);
        // The run as it goes would end about at its ETA: asked for a quarter and a third of that, it asks for more waiters.
        for (const part of [0.25, 0.33, 0.5]) {
          const at = now + part * (sim.end - now);
          const f = finishBy({ ...base, at });
          expect(f.reason).toBeNull();
          const n = f.waitersNeeded!;
          expect(n, `seed ${seed}, ${part} of the time`).toBeGreaterThan(c.waiters);
          // With that many, the rest is done by the time (within 10 %: the pace is an estimate);
          // with a quarter fewer, it is not.
          const end = finishOn(n * c.shape, busy, todo, now);
          expect(end - now, `seed ${seed}, ${part}: ${n} waiters`).toBeLessThanOrEqual(1.1 * (at - now));
          const fewer = finishOn(Math.floor(0.75 * n) * c.shape, busy, todo, now);
          expect(fewer, `seed ${seed}, ${part}: ${Math.floor(0.75 * n)} waiters`).toBeGreaterThan(at);
        }
        // Given the run's own end, the live waiters are enough.
        expect(finishBy({ ...base, at: sim.end + 0.1 * (sim.end - now) })).toMatchObject({ more: 0, reason: null });
      }
    });
  }
});

describe('--finish-by reads a clock time, a date-time or a duration', () => {
  const now = new Date('2026-12-07T15:30:00Z');
  const at = (v: string) => deadline('finish-by', v, now).toISOString();

  test('a duration (or +duration, or bare seconds) from now', () => {
    expect(at('3h')).toBe('2026-12-07T18:30:00.000Z');
    expect(at('+90m')).toBe('2026-12-07T17:00:00.000Z');
    expect(at('90')).toBe('2026-12-07T15:31:30.000Z');
  });

  test('a date-time as --at reads it; a past one is returned for status to say so', () => {
    expect(at('2026-12-07T18:00Z')).toBe('2026-12-07T18:00:00.000Z');
    expect(at('2026-12-07T18:00:00+01:00')).toBe('2026-12-07T17:00:00.000Z');
    expect(at('2026-12-01T00:00:00Z')).toBe('2026-12-01T00:00:00.000Z');
  });

  test('a clock time is its next coming: today, or tomorrow once passed (UTC with Z, else local)', () => {
    expect(at('18:00Z')).toBe('2026-12-07T18:00:00.000Z');
    expect(at('15:00Z')).toBe('2026-12-08T15:00:00.000Z');
    expect(at('15:30:01z')).toBe('2026-12-07T15:30:01.000Z');
    const local = deadline('finish-by', '7:05', now);
    expect([local.getHours(), local.getMinutes(), local.getSeconds()]).toEqual([7, 5, 0]);
    expect(+local - +now).toBeGreaterThan(0);
    expect(+local - +now).toBeLessThanOrEqual(86_400_000);
  });

  test('anything else is a usage error naming the option', () => {
    for (const bad of ['tonight', '25:00', '18:60', '', '-3h', '3 hours later']) {
      expect(() => deadline('finish-by', bad, now), bad).toThrow(UsageError);
    }
    expect(() => deadline('finish-by', 'tonight', now)).toThrow("--finish-by: 'tonight' is not a time or a duration (try 18:00, 2026-12-07T18:00Z or 3h)");
  });
});

describe("status's line for it", () => {
  const r = { notYetDue: 0, WAITING: 0, HELD: 0 } as StatusReport;
  const line = (over: Partial<SizingInput>, report = r) => finishByLine(finishBy({ ...known, ...over }), report, new Date(NOW));

  test('the answer, what it rests on, and what it leaves out', () => {
    expect(line({})).toBe(
      'finish by 2026-12-07T18:00:00Z (in 3h00m): 5 more waiters, 9 in all (2 slots each, as the 4 live): 3,004 orders left at 2/min per waiter, 1m00s per order on average',
    );
    expect(line({ backlog: 714 }, { ...r, notYetDue: 3, HELD: 1 })).toBe(
      'finish by 2026-12-07T18:00:00Z (in 3h00m): no more waiters: the 4 live ones are enough (2 would do): 718 orders left at 2/min per waiter, 1m00s per order on average; 3 not yet due, 1 HELD not counted',
    );
  });

  test('why there is none, in words', () => {
    expect(line({ at: NOW + 30_000 })).toBe(
      'finish by 2026-12-07T15:00:30Z (in 30s): cannot say: too soon: an order takes longer on average than the time left (1m00s per order, 30s left)',
    );
    expect(line({ at: NOW - 3_600_000 })).toBe('finish by 2026-12-07T14:00:00Z (1h00m ago): cannot say: the time is past');
    expect(line({ backlog: 0 })).toBe('finish by 2026-12-07T18:00:00Z (in 3h00m): no more waiters: nothing left to claim');
  });
});
