// The plans of reset (waiter reset, POST /api/reset): which ERROR and RUNNING orders it puts
// back READY, the write, and the RUNNING orders it leaves alone. A dry run counts the same
// filters the reset writes with. Pure, like ./plans.ts (which re-exports them; same
// contract form); checked in test/plans.test.ts without a server. reset --status
// CANCELLED's steps: ./steer-plans.ts (uncancelSteps).
import type { Filter, UpdateFilter } from 'mongodb';
import type { Order, State } from '../order.js';

export interface ResetAsk {
  statuses: State[];
  force: boolean;
  startedBefore?: Date;
  /** reset <ids…> | --where | --failed-with: only orders of this selection (selectionFilter). */
  within?: Filter<Order>;
}

/** Of RUNNING orders, what reset takes (each ANDed with status RUNNING): every one with force, else stale (expires < now) or started before `startedBefore`; none unless asked. */
function runningTaken(ask: ResetAsk, now: Date): Filter<Order>[] {
  if (!ask.statuses.includes('RUNNING')) return [];
  if (ask.force) return [{}];
  const taken: Filter<Order>[] = [{ expires: { $lt: now } }];
  if (ask.startedBefore) taken.push({ start: { $lt: ask.startedBefore } });
  return taken;
}

/**
 * Reset. Filter: $or of ERROR (if asked); RUNNING ones (if asked): every one with force,
 * else stale (expires < now) or started before `startedBefore`; and READY orders with no
 * `due` (left by an older waiter: no claim sees them). Null when nothing is asked ·
 * Index used: {status:1,_id:1} per branch · Fence: the status (a waiter's fence is the
 * claim, which the update removes) · Cost: keys = the orders in those states, and the
 * READY branch reads EVERY READY order: READY orders an older waiter added or reset after
 * the list was migrated have no `due`, so no claim sees them, and {status:1,_id:1}
 * cannot tell which lack it (a rare, manual command may read every READY order; claims never do).
 * With `within`: {$and: [within, the $or]} (Index used: _id for ids). A dry run counts it.
 */
export function resetFilter(ask: ResetAsk, now: Date): Filter<Order> | null {
  const or: Filter<Order>[] = [];
  if (ask.statuses.includes('ERROR')) or.push({ status: 'ERROR' });
  for (const t of runningTaken(ask, now)) or.push({ status: 'RUNNING', ...t });
  if (or.length === 0) return null;
  or.push({ status: 'READY', due: { $exists: false } });
  return ask.within ? { $and: [ask.within, { $or: or }] } : { $or: or };
}

/**
 * The RUNNING orders a reset leaves alone (alive: counted and said so; a dry run counts them
 * before the reset, the reset after). Filter: within, status RUNNING, $nor of what resetFilter
 * takes of them. Null unless RUNNING is asked, and with force (it takes every one) ·
 * Index used: {status:1,_id:1} (_id for ids) · Cost: keys = the RUNNING orders (a fleet's worth).
 */
export function leftAloneFilter(ask: ResetAsk, now: Date): Filter<Order> | null {
  if (!ask.statuses.includes('RUNNING') || ask.force) return null;
  return { ...ask.within, status: 'RUNNING', $nor: runningTaken(ask, now) };
}

/**
 * Reset. Update: $set status READY, due = now · $unset claim, heartbeat, expires. `prio` is
 * left (no per-document update without a pipeline): a RUNNING order reset keeps
 * PRIO_RUNNING, taken first like crashed work, its priority back once that attempt ends.
 * An ERROR order keeps its last attempt's exitCode, signal, error and usage until its next
 * claim (show's "last attempt"; history has them too); a RUNNING one has none (claimUpdate).
 */
export function resetUpdate(now: Date): UpdateFilter<Order> {
  return { $set: { status: 'READY', due: now }, $unset: { claim: '', heartbeat: '', expires: '' } };
}
