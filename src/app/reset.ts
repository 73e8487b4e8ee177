// reset: ERROR and stale RUNNING orders back to READY (waiter reset, POST /api/reset), and
// CANCELLED ones when named; then the release check, so what waited on them is never left behind.
// Ids, --where, --failed-with (cancel's selection, src/app/selection.ts) narrow it to some orders.
// HELD orders are never reset (not in RESETTABLE): an id of one is refused, they are released.
// A dry run counts what the reset would write with the same filters (./kitchen/reset-plans.ts).
import type { Filter } from 'mongodb';
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { Order, State } from '../order.js';
import { leftAloneFilter, resetFilter, type ResetAsk } from '../kitchen/reset-plans.js';
import { cancelledOrders } from '../kitchen/steer-plans.js';
import { selectionGiven, selectionOf, type Selection } from './selection.js';
import { DRY_RUN_IDS } from './steer.js';

/** The states reset takes (--status, the API's status). */
export const RESETTABLE: readonly State[] = ['ERROR', 'RUNNING', 'CANCELLED'];
/** Without --status: a cancel is a user's decision, undone only by naming it (--status CANCELLED). */
export const RESET_BY_DEFAULT: readonly State[] = ['ERROR', 'RUNNING'];

export interface ResetRequest extends Omit<Selection, 'status'> {
  /** The states to reset (--status, the API's status): named, a selection; absent, RESET_BY_DEFAULT (a plain reset). */
  statuses?: State[];
  /** Also RUNNING orders whose waiter is still alive. */
  force: boolean;
  /** RUNNING orders started longer ago than this, alive or not. */
  olderThanMs?: number;
  /** Say what would change, change nothing. */
  dryRun?: boolean;
}

export interface ResetReport {
  /** Orders reset (with a dry run: that would be). */
  reset: number;
  /** RUNNING orders alive (their waiter heartbeats; not --force, not --older-than): left alone. */
  leftAlone: number;
  dryRun: boolean;
  /** A dry run: the first ids it would reset. */
  ids?: string[];
}

export async function resetOrders(k: Kitchen, r: ResetRequest, now = new Date()): Promise<ResetReport> {
  // No selection: every order in the states, as before. With one, its refusals first (an id in
  // another state than the states: exit 2, nothing changed), then the states within it. A
  // part given but empty (ids [], where []) is refused, never read as none (selectionGiven).
  const statuses = r.statuses ?? [...RESET_BY_DEFAULT];
  const sel: Selection = { ...(r.ids ? { ids: r.ids } : {}), ...(r.where ? { where: r.where } : {}), ...(r.failedWith !== undefined ? { failedWith: r.failedWith } : {}) };
  const within = selectionGiven(sel, 'reset') ? await selectionOf(k, sel, 'reset', { states: statuses }) : undefined;
  const ask: ResetAsk = {
    statuses,
    force: r.force,
    ...(r.olderThanMs !== undefined ? { startedBefore: new Date(+now - r.olderThanMs) } : {}),
    ...(within ? { within } : {}),
  };
  const cancelled = statuses.includes('CANCELLED') ? cancelledOrders(within) : null;
  // Named orders or states with none to reset are refused like cancel's (exit 2, a 400);
  // a plain reset with none says 0: the routine "run what failed again".
  const explicit = Boolean(within || r.statuses);
  const refusal = (leftAlone: number) => nothingToReset(k, within && !r.ids?.length ? within : undefined, leftAlone);
  if (r.dryRun) {
    const would = await wouldReset(k, ask, cancelled, now);
    if (explicit && would.reset === 0) throw new UsageError(await refusal(would.leftAlone));
    const targets = [resetFilter(ask, now), cancelled].filter((f): f is Filter<Order> => f !== null);
    const ids = targets.length ? await k.steer.firstIds(targets.length === 1 ? targets[0]! : { $or: targets }, DRY_RUN_IDS) : [];
    return { ...would, dryRun: true, ids: ids.map((id) => id.toHexString()) };
  }
  // Written, then refused when it wrote nothing (nothing changed either way): no count before
  // the write, whose READY branch would read every READY order a second time.
  const done = await k.reset({ ...ask, now });
  if (cancelled) done.reset += await k.steer.resetCancelled(now, within);
  if (explicit && done.reset === 0) throw new UsageError(await refusal(done.leftAlone));
  // The self-healing check (src/pipeline/): a release lost with its waiter is made now. WAITING orders are never reset.
  await k.pipeline.releaseAll();
  return { ...done, dryRun: false };
}

/** What a reset would write, counted by its own filters (resetFilter, cancelledOrders, leftAloneFilter): index-backed counts, nothing written. */
async function wouldReset(k: Kitchen, ask: ResetAsk, cancelled: Filter<Order> | null, now: Date): Promise<{ reset: number; leftAlone: number }> {
  const count = async (f: Filter<Order> | null) => (f ? k.steer.count(f) : 0);
  return { reset: (await count(resetFilter(ask, now))) + (await count(cancelled)), leftAlone: await count(leftAloneFilter(ask, now)) };
}

/** The refusal of a selection with none to reset: the live RUNNING ones and (of a --where or --failed-with) the rest, left alone. */
async function nothingToReset(k: Kitchen, within: Filter<Order> | undefined, leftAlone: number): Promise<string> {
  const n = (x: number) => x.toLocaleString('en-US');
  const others = within ? (await k.steer.count(within)) - leftAlone : 0;
  const parts = [
    leftAlone ? `${n(leftAlone)} still running, left alone: --force resets ${leftAlone === 1 ? 'it' : 'them'}` : '',
    others > 0 ? `${n(others)} in other states, left alone` : '',
  ].filter(Boolean);
  return `reset: no order to reset in that selection${parts.length ? ` (${parts.join('; ')})` : ''}: nothing changed`;
}
