// What cancel and hold share (issue 26): a selection's orders READY, WAITING or RUNNING
// taken out of the run, CANCELLED or HELD, with who and why. The ones not running in ONE
// updateMany (hold: one per state held from); a RUNNING one by a write fenced by its
// claim, as its waiter's own finish is: whichever lands first wins, never both. Its
// waiter learns it at its next heartbeat, stops the command and records nothing.
import type { Filter } from 'mongodb';
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { Order, Steered } from '../order.js';
import { IDLE, inStates, type StopTo } from '../kitchen/steer-plans.js';
import { FINISHED, selectionOf, type Selection } from './selection.js';
import { reasonProblem } from './who.js';

export interface SteerRequest extends Selection {
  /** Say what would change, change nothing. */
  dryRun?: boolean;
  /** Why: kept trimmed; empty or only spaces is refused; at most MAX_REASON characters (copied onto every order changed). */
  reason?: string;
  /** Who asks: user@host, or "api <client address>". */
  by: string;
}

export interface SteerReport {
  /** Orders changed (with a dry run: that would be), the running ones among them. */
  changed: number;
  /** Of them, RUNNING: their waiters stop them within one heartbeat. */
  running: number;
  /** Of them, RUNNING but stale (lease ended: the waiter is gone): nothing to stop, the attempt recorded LOST. */
  stale: number;
  /** Selected but finished (DONE, ERROR, CANCELLED), before or while we wrote: left alone. */
  finished: number;
  /** Selected and already in the state asked (hold: HELD): left alone. */
  already: number;
  /** RUNNING orders taken over again and again while we wrote: left alone (try again). */
  busy: number;
  dryRun: boolean;
  /** A dry run: the first ids it would change. */
  ids?: string[];
}

/** How many ids a dry run shows. */
export const DRY_RUN_IDS = 5;

const VERB: Record<StopTo, string> = { CANCELLED: 'cancel', HELD: 'hold' };

/**
 * A --reason as kept: trimmed; refused (exit 2, 400) empty or only spaces (given, so never
 * read as none, as pause's and stop's) and over the cap, before anything is read or written.
 */
export function checkedReason(reason: string | undefined, verb: string): string | undefined {
  if (reason === undefined) return undefined;
  const r = reason.trim();
  const problem = r === '' ? 'is empty: say why, or leave the option out' : reasonProblem(r);
  if (problem) throw new UsageError(`${verb}: --reason ${problem}: nothing changed`);
  return r;
}

/**
 * Cancels (to CANCELLED) or holds (to HELD) the orders of a selection; with the selection's
 * filter, who did it, and the filter of the orders it takes (a cancel's dependants are
 * found from them). Refused (a UsageError, nothing written) when the selection has none to
 * change and none already so.
 */
export async function steerOrders(
  k: Kitchen,
  r: SteerRequest,
  to: StopTo,
  now = new Date(),
): Promise<{ report: SteerReport; selected: Filter<Order>; s: Steered; targets: Filter<Order> | null }> {
  const verb = VERB[to];
  // Checked here, for the CLI (exit 2) and the API (400) alike, before anything is read or written.
  const reason = checkedReason(r.reason, verb);
  const selected = await selectionOf(k, r, verb);
  const idle = inStates(selected, IDLE[to]);
  const running = inStates(selected, ['RUNNING']);
  const targets = inStates(selected, [...IDLE[to], 'RUNNING']);
  const count = async (f: Filter<Order> | null) => (f ? k.steer.count(f) : 0);
  const nIdle = await count(idle);
  const nRunning = await count(running);
  // Left alone and said so: a selection by --where or --failed-with reaches finished orders too (ids and --status never do).
  const finished = r.status || r.ids?.length ? 0 : await count(inStates(selected, FINISHED));
  // HELD is not finished: ids may name a held order, a hold leaves it alone.
  const already = to === 'CANCELLED' ? 0 : await count(inStates(selected, [to]));
  if (nIdle + nRunning + already === 0) {
    throw new UsageError(`${verb}: no order to ${verb} in that selection${finished ? ` (${finished.toLocaleString('en-US')} finished, left alone)` : ''}: nothing changed`);
  }
  const s: Steered = { by: r.by, at: now, ...(reason ? { reason } : {}) };
  const report: SteerReport = { changed: 0, running: 0, stale: 0, finished, already, busy: 0, dryRun: Boolean(r.dryRun) };
  if (r.dryRun || nIdle + nRunning === 0) {
    report.changed = nIdle + nRunning;
    report.running = nRunning;
    if (r.dryRun) report.ids = targets ? (await k.steer.firstIds(targets, DRY_RUN_IDS)).map((id) => id.toHexString()) : [];
    return { report, selected, s, targets };
  }
  if (idle) report.changed += await k.steer.stopMany(to, selected, s);
  const live = running ? await k.steer.running(running) : [];
  for (const o of live) {
    const got = await k.steer.stopRunning(o, s, to);
    if (got === 'stopped') report.running++;
    if (got === 'stale') report.stale++;
    if (got === 'stopped' || got === 'stale' || got === 'not-running') report.changed++;
    // CANCELLED by another hand is finished; HELD by another, already held.
    if (got === 'finished' || (got === 'already' && to === 'CANCELLED')) report.finished++;
    if (got === 'already' && to === 'HELD') report.already++;
    if (got === 'busy') report.busy++;
  }
  // An order RUNNING at the first update and back READY (a retry, an interrupt, a reset
  // --force) before the running read escaped both: the same update once more takes it
  // (only when the selection reaches RUNNING orders: --status READY needs none).
  const again = idle && running ? await k.steer.stopMany(to, selected, s) : 0;
  report.changed += again;
  // Counted RUNNING a moment ago, neither read running nor taken again: finished meanwhile, left alone like one the fence refuses.
  report.finished += Math.max(0, nRunning - live.length - again);
  return { report, selected, s, targets };
}
