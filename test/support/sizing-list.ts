// A list with a known pace and cost written straight into the kitchen (no job runs): 2
// waiters of 2 slots finishing orders of exactly 30 s (8 a minute) for the last 10
// minutes, 4 RUNNING, 1,000 READY. `status --finish-by` sizes from it
// (test/cli-finish-by.test.ts) and docs/watching.md shows `--finish-by` and `--top` on it
// (test/examples.test.ts). Each finished order used 25 s of CPU, 300 MiB at its peak; two
// were retried and cost more: their attempts are in `spent` and history.
import type { Db } from 'mongodb';
import { SPENT_INDEX } from '../../src/kitchen/cost.js';
import type { Usage } from '../../src/order.js';
import type { WaiterDoc } from '../../src/fleet.js';
import { liveWaiter } from './serve.js';

const MiB = 1024 * 1024;
const used = (wallMs: number, cpuMs: number, peakMiB: number): Usage => ({ wallMs, cpuMs, peakRssBytes: peakMiB * MiB, measured: 'proc-sample+wait' });

/** Writes the list `list` (and its waiters) as of `now`. */
export async function sizingList(db: Db, list = 'orders', now = Date.now()): Promise<void> {
  const ago = (ms: number) => new Date(now - ms);
  const attempt = (n: number, result: 'DONE' | 'ERROR', stop: number, usage: Usage) => ({
    attempt: n,
    waiter: `box-${n % 2}`,
    start: ago(stop + usage.wallMs),
    stop: ago(stop),
    result,
    ...(result === 'ERROR' ? { exitCode: 1, error: 'exit code 1' } : { exitCode: 0 }),
    usage,
  });
  // The two retried: each earlier attempt failed late, so cost more than its last.
  const retried: Record<number, { args: string[]; before: Usage[] }> = {
    3: { args: ['render.sh', 'scene-4'], before: [used(1_500_000, 1_440_000, 3994), used(1_500_000, 1_430_000, 3980)] },
    9: { args: ['render.sh', 'scene-9'], before: [used(900_000, 860_000, 1229)] },
  };
  const done = Array.from({ length: 76 }, (_, i) => {
    const stop = 5_000 + 30_000 * Math.floor(i / 4);
    const last = used(30_000, 25_000, 300);
    const r = retried[i];
    const before = r?.before ?? [];
    const history = [...before.map((u, n) => attempt(n + 1, 'ERROR', stop + 30_000 + (before.length - n) * 60_000, u)), attempt(before.length + 1, 'DONE', stop, last)];
    const all = [...before, last];
    return {
      status: 'DONE',
      arguments: r?.args ?? [`d${i}`],
      attempts: all.length,
      start: ago(stop + 30_000),
      stop: ago(stop),
      due: ago(stop + 30_000),
      usage: last,
      history,
      spent: { cpuMs: all.reduce((s, u) => s + u.cpuMs!, 0), wallMs: all.reduce((s, u) => s + u.wallMs, 0), attempts: all.length },
    };
  });
  await db.collection(list).insertMany([
    ...done,
    ...Array.from({ length: 4 }, (_, i) => ({
      status: 'RUNNING',
      arguments: [`r${i}`],
      attempts: 1,
      start: ago(5_000),
      expires: new Date(now + 60_000),
      due: new Date(now + 60_000),
      claim: `c${i}`,
    })),
    ...Array.from({ length: 1000 }, (_, i) => ({ status: 'READY', arguments: [`${i}`], attempts: 0, due: ago(600_000) })),
  ]);
  // What deliver and serve make at start: without it status has no CPU figure to give.
  await db.collection(list).createIndex(SPENT_INDEX);
  await db
    .collection<WaiterDoc>(`${list}.waiters`)
    .insertMany(
      [0, 1].map((i) =>
        liveWaiter(now, { _id: `w${i}` as never, name: `box-${i}`, host: 'h', pid: i, concurrency: 2, lease: 60_000, started: ago(600_000), expires: new Date(now + 60_000) }),
      ),
    );
}
