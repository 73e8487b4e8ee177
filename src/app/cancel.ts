// cancel (waiter cancel, POST /api/cancel): orders READY, WAITING or RUNNING become
// CANCELLED, finished by a user and kept with their history (issue 26). The ones not
// running in ONE updateMany over the selection; a RUNNING one by a write fenced by its
// claim, as its waiter's own finish is: whichever lands first wins, never both. Its
// waiter learns it at its next heartbeat, stops the command and records nothing.
import type { ObjectId } from 'mongodb';
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { Steered } from '../order.js';
import { inStates } from '../kitchen/steer-plans.js';
import { FINISHED, selectionOf, type Selection } from './selection.js';
import { reasonProblem } from './who.js';

export interface CancelRequest extends Selection {
  /** Say what would change, change nothing. */
  dryRun?: boolean;
  /** Why: trimmed; only spaces is none; at most MAX_REASON characters (copied onto every order cancelled). */
  reason?: string;
  /** Also the WAITING orders that wait on the cancelled ones, transitively. */
  withDependants?: boolean;
  /** Who asks: user@host, or "api <client address>". */
  by: string;
}

export interface CancelReport {
  /** Orders cancelled (with a dry run: that would be), the running and dependant ones among them. */
  cancelled: number;
  /** Of them, RUNNING: their waiters stop them within one heartbeat. */
  running: number;
  /** Of them, RUNNING but stale (lease ended: the waiter is gone): nothing to stop, the attempt recorded LOST. */
  stale: number;
  /** Of them, WAITING on the selection (--with-dependants). */
  dependants: number;
  /** Selected but finished (DONE, ERROR, CANCELLED), before or while we wrote: left alone. */
  finished: number;
  /** RUNNING orders taken over again and again while we wrote: left alone (try again). */
  busy: number;
  dryRun: boolean;
  /** A dry run: the first ids it would cancel. */
  ids?: string[];
}

/** How many ids a dry run shows. */
export const DRY_RUN_IDS = 5;

export async function cancelOrders(k: Kitchen, r: CancelRequest, now = new Date()): Promise<CancelReport> {
  // Checked here, for the CLI (exit 2) and the API (400) alike, before anything is read or written.
  const reason = r.reason?.trim() || undefined;
  const problem = reason === undefined ? undefined : reasonProblem(reason);
  if (problem) throw new UsageError(`cancel: --reason ${problem}: nothing changed`);
  const selected = await selectionOf(k, r, 'cancel');
  const idle = inStates(selected, ['READY', 'WAITING']);
  const running = inStates(selected, ['RUNNING']);
  const cancellable = inStates(selected, ['READY', 'WAITING', 'RUNNING']);
  const nIdle = idle ? await k.steer.count(idle) : 0;
  const nRunning = running ? await k.steer.count(running) : 0;
  // Left alone and said so: a selection by --where or --failed-with reaches finished orders too.
  const finished = r.status || r.ids?.length ? 0 : await k.steer.count(inStates(selected, FINISHED)!);
  if (nIdle + nRunning === 0) {
    throw new UsageError(`cancel: no order to cancel in that selection${finished ? ` (${finished.toLocaleString('en-US')} finished, left alone)` : ''}: nothing changed`);
  }
  if (r.dryRun) {
    // --with-dependants needs the ids (to find what waits on them); otherwise none are read.
    const dependants = r.withDependants ? await waitingOn(k, await k.steer.allIds(cancellable!)) : [];
    return {
      cancelled: nIdle + nRunning + dependants.length,
      running: nRunning,
      stale: 0,
      dependants: dependants.length,
      finished,
      busy: 0,
      dryRun: true,
      ids: (await k.steer.firstIds(cancellable!, DRY_RUN_IDS)).map((id) => id.toHexString()),
    };
  }
  const s: Steered = { by: r.by, at: now, ...(reason ? { reason } : {}) };
  const report: CancelReport = { cancelled: 0, running: 0, stale: 0, dependants: 0, finished, busy: 0, dryRun: false };
  if (idle) report.cancelled += await k.steer.cancelMany(idle, s);
  const live = running ? await k.steer.running(running) : [];
  for (const o of live) {
    const got = await k.steer.cancelRunning(o, s);
    if (got === 'cancelled') report.running++;
    if (got === 'stale') report.stale++;
    if (got === 'cancelled' || got === 'stale' || got === 'not-running') report.cancelled++;
    if (got === 'finished') report.finished++;
    if (got === 'busy') report.busy++;
  }
  // An order RUNNING at the first update and back READY (a retry, an interrupt, a reset
  // --force) before the running read escaped both: the same update once more takes it
  // (only when the selection reaches RUNNING orders: --status READY needs none).
  const again = idle && running ? await k.steer.cancelMany(idle, s) : 0;
  report.cancelled += again;
  // Counted RUNNING a moment ago, neither read running nor taken again: finished meanwhile, left alone like one the fence refuses.
  report.finished += Math.max(0, nRunning - live.length - again);
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
 * Cancels the WAITING orders that wait on `ids`, transitively, round by round (what waits on
 * the last round's); how many. No set of those seen: a cancelled one is WAITING no more, so
 * no later round reads it again; memory is one round's ids.
 */
async function cancelDependants(k: Kitchen, ids: ObjectId[], s: Steered): Promise<number> {
  let n = 0;
  for (let round = ids; round.length > 0;) {
    round = await k.steer.waitingOn(round);
    n += await k.steer.cancelIds(round, s);
  }
  return n;
}

/** A dry run: the WAITING orders that wait on `ids`, transitively (each round: what waits on the last round's). */
async function waitingOn(k: Kitchen, ids: ObjectId[]): Promise<ObjectId[]> {
  const seen = new Set(ids.map((id) => id.toHexString()));
  const out: ObjectId[] = [];
  for (let round = ids; round.length > 0;) {
    const next = (await k.steer.waitingOn(round)).filter((id) => !seen.has(id.toHexString()));
    for (const id of next) seen.add(id.toHexString());
    out.push(...next);
    round = next;
  }
  return out;
}
