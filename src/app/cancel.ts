// cancel (waiter cancel, POST /api/cancel): orders READY, WAITING, HELD or RUNNING become
// CANCELLED, finished by a user and kept with their history (issue 26): ./steer.ts, as a
// hold; and with --with-dependants what waits on them, then the release check.
import type { ObjectId } from 'mongodb';
import type { Kitchen } from '../kitchen.js';
import type { Steered } from '../order.js';
import { DRY_RUN_IDS, steerOrders, type SteerRequest } from './steer.js';

export { DRY_RUN_IDS };

export interface CancelRequest extends SteerRequest {
  /** Also the orders that wait on the cancelled ones, WAITING or held from WAITING, transitively. */
  withDependants?: boolean;
}

export interface CancelReport {
  /** Orders cancelled (with a dry run: that would be), the running and dependant ones among them. */
  cancelled: number;
  /** Of them, RUNNING: their waiters stop them within one heartbeat. */
  running: number;
  /** Of them, RUNNING but stale (lease ended: the waiter is gone): nothing to stop, the attempt recorded LOST. */
  stale: number;
  /** Of them, waiting on the selection, WAITING or held from WAITING (--with-dependants). */
  dependants: number;
  /** Selected but finished (DONE, ERROR, CANCELLED), before or while we wrote: left alone. */
  finished: number;
  /** RUNNING orders taken over again and again while we wrote: left alone (try again). */
  busy: number;
  dryRun: boolean;
  /** A dry run: the first ids it would cancel. */
  ids?: string[];
}

export async function cancelOrders(k: Kitchen, r: CancelRequest, now = new Date()): Promise<CancelReport> {
  const { report: t, selected, s, targets } = await steerOrders(k, r, 'CANCELLED', now);
  const report: CancelReport = { cancelled: t.changed, running: t.running, stale: t.stale, dependants: 0, finished: t.finished, busy: t.busy, dryRun: t.dryRun };
  if (t.dryRun) {
    // --with-dependants needs the ids (to find what waits on them); otherwise none are read.
    report.dependants = r.withDependants && targets ? (await dependantsOf(k, await k.steer.allIds(targets))).length : 0;
    report.cancelled += report.dependants;
    return { ...report, ids: t.ids ?? [] };
  }
  if (r.withDependants) {
    // From what the writes changed (read back by this cancel's stamp, in pages), not from what
    // was selected: a RUNNING order whose own finish landed first keeps its dependants.
    for (let after: ObjectId | undefined, page: ObjectId[]; (page = await k.steer.cancelledPage(selected, s, after)).length > 0; after = page.at(-1)) {
      report.dependants += await cancelDependants(k, page, s);
    }
    report.cancelled += report.dependants;
  }
  // --after-any orders waiting on the cancelled ones may be free now (CANCELLED is finished for them).
  await k.pipeline.releaseAll();
  return report;
}

/**
 * Cancels the orders that wait on `ids` (WAITING, or HELD from WAITING: released, they would
 * wait on a cancelled one), transitively, round by round (what waits on the last round's);
 * how many. No set of those seen: a cancelled one is WAITING or HELD no more, so no later
 * round reads it again; memory is one round's ids.
 */
async function cancelDependants(k: Kitchen, ids: ObjectId[], s: Steered): Promise<number> {
  let n = 0;
  for (let round = ids; round.length > 0;) {
    round = await k.steer.dependantsOf(round);
    n += await k.steer.cancelIds(round, s);
  }
  return n;
}

/** A dry run: the orders that wait on `ids` (WAITING, or HELD from WAITING), transitively (each round: what waits on the last round's). */
async function dependantsOf(k: Kitchen, ids: ObjectId[]): Promise<ObjectId[]> {
  const seen = new Set(ids.map((id) => id.toHexString()));
  const out: ObjectId[] = [];
  for (let round = ids; round.length > 0;) {
    const next = (await k.steer.dependantsOf(round)).filter((id) => !seen.has(id.toHexString()));
    for (const id of next) seen.add(id.toHexString());
    out.push(...next);
    round = next;
  }
  return out;
}
