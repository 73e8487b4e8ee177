// A simulated run for the ETA tests: `slots` workers take `n` orders one after another
// (each a run time from `duration`, plus `overheadMs` between one stop and the next
// start: the record and the next claim), and what `status` would see at any time.
import type { EtaInput, Finish } from '../../src/eta.js';

/** A small seeded PRNG (mulberry32): the same run every time. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimRun {
  /** Every attempt, in start order. */
  runs: Finish[];
  end: number;
  slots: number;
  /** What status sees at `t` (ms from the run's start). */
  at(t: number): EtaInput;
}

export function simulate(o: { n: number; slots: number; duration: () => number; overheadMs?: number; start?: number }): SimRun {
  const t0 = o.start ?? 0;
  const free = Array.from({ length: o.slots }, () => t0);
  const runs: Finish[] = [];
  for (let i = 0; i < o.n; i++) {
    let s = 0;
    for (let j = 1; j < free.length; j++) if (free[j]! < free[s]!) s = j;
    const start = free[s]!;
    const stop = start + o.duration();
    runs.push({ start, stop });
    free[s] = stop + (o.overheadMs ?? 0);
  }
  const end = Math.max(...runs.map((r) => r.stop));
  return { runs, end, slots: o.slots, at: (t) => seen(runs, t0 + t, o.slots) };
}

/** status's figures at `now` over these attempts. */
export function seen(runs: readonly Finish[], now: number, slots: number): EtaInput {
  const done = runs.filter((r) => r.stop <= now).sort((a, b) => b.stop - a.stop);
  return {
    now,
    ready: runs.filter((r) => r.start > now).length,
    running: runs.filter((r) => r.start <= now && r.stop > now).length,
    stale: 0,
    waiters: 1,
    slots,
    recent: done.slice(0, 300),
    finished10m: done.filter((r) => r.stop > now - 600_000).length,
  };
}
