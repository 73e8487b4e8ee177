// status --finish-by: the status report with the sizing (src/sizing.ts) beside it. One
// more read than status's own, beside it: the last finishes, for the ETA's mean run time.
import type { Kitchen } from '../kitchen.js';
import { meanRunMs, type Finish } from '../eta.js';
import { finishBy, type FinishBy } from '../sizing.js';
import { MEDIAN_OF, type StatusReport } from './status.js';

/** `report` (a status read at `now`) with finishBy: how many waiters finish by `at`. */
export async function withFinishBy<R extends StatusReport>(k: Pick<Kitchen, 'fleet'>, report: Promise<R>, at: Date, now: Date): Promise<R & { finishBy: FinishBy }> {
  const [r, recent] = await Promise.all([report, k.fleet.recentFinishes(MEDIAN_OF)]);
  return { ...r, finishBy: sizing(r, recent, at, now) };
}

export function sizing(r: StatusReport, recent: readonly Finish[], at: Date, now: Date): FinishBy {
  return finishBy({
    now: +now,
    at: +at,
    backlog: r.backlog,
    running: r.RUNNING,
    stale: r.stale,
    waiters: r.waiters,
    slots: r.slots,
    perMinute: r.etaPace,
    etaReason: r.etaReason,
    meanMs: meanRunMs(recent, +now),
  });
}
