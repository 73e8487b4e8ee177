// The page's pace chart: orders finished (DONE or ERROR) per minute over the last hour.
// The first call reads the hour's stop times; later calls read only from a little
// before the last minute they counted (a result can be written a moment after its
// stop time: the finish overlaps the next claim, and outages delay it), so a refresh
// costs the kitchen the last few minutes' finishes, not the hour's.
import type { FleetQueries } from '../kitchen/fleet.js';

export const MINUTE = 60_000;
export const MINUTES = 60;
/** Minutes re-read on each refresh, for results written after their stop time. */
const LATE_MINUTES = 2;

export interface PaceChart {
  /** Start of each minute, oldest first; the last one is the current, partial minute. */
  minutes: { start: string; finished: number }[];
}

export class Pace {
  /** Finished per minute start (ms), for minutes already over. */
  private readonly counted = new Map<number, number>();
  /** Minutes before this (ms) are in `counted`; 0: none yet. */
  private countedUntil = 0;

  constructor(private readonly kitchen: Pick<FleetQueries, 'finishTimes'>) {}

  async chart(now = new Date()): Promise<PaceChart> {
    const current = Math.floor(+now / MINUTE) * MINUTE;
    const first = current - (MINUTES - 1) * MINUTE;
    const from = Math.max(first, this.countedUntil - LATE_MINUTES * MINUTE);
    const stops = await this.kitchen.finishTimes(new Date(from));
    const fresh = new Map<number, number>();
    for (const stop of stops) {
      const m = Math.floor(+stop / MINUTE) * MINUTE;
      fresh.set(m, (fresh.get(m) ?? 0) + 1);
    }
    for (let m = from; m < current; m += MINUTE) this.counted.set(m, fresh.get(m) ?? 0);
    for (const m of this.counted.keys()) if (m < first) this.counted.delete(m);
    this.countedUntil = current;
    const minutes = [];
    for (let m = first; m <= current; m += MINUTE) {
      minutes.push({ start: new Date(m).toISOString(), finished: m === current ? (fresh.get(m) ?? 0) : (this.counted.get(m) ?? 0) });
    }
    return { minutes };
  }
}
