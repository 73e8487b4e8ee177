// READY orders per priority, for `status` and the page (issue 15). A kitchen room:
// FleetQueries.readyByPriority() (src/kitchen/fleet.ts) is its one caller.
import type { Collection } from 'mongodb';
import { PRIO_RUNNING, type Order } from '../order.js';

/** The earliest Date there is: every READY order's `due` is at or after it. */
const MIN_DATE = new Date(-8.64e15);

/**
 * READY orders by their claim key, as a range of the claim index {prio: -1, due: 1, _id: 1}:
 * a READY order has a user priority (below PRIO_RUNNING) and a `due`; a RUNNING one has
 * prio PRIO_RUNNING, a DONE/ERROR one no `due` (null sorts before every date, so each
 * priority's finished orders are skipped by one seek). Only index keys are read (the
 * $group needs `prio` alone): keys examined ≈ READY orders, no document fetched.
 * Not counted: a READY order reset while it ran (it keeps PRIO_RUNNING until its next
 * attempt ends: taken first) and one added by a waiter older than `prio`.
 */
export const READY_PRIO_FILTER = { prio: { $lt: PRIO_RUNNING }, due: { $gte: MIN_DATE } };

export interface PriorityCount {
  priority: number;
  READY: number;
}

/** READY orders per priority, highest first: ONE aggregate, $match then $group with $sum. */
export async function readyByPriority(orders: Collection<Order>): Promise<PriorityCount[]> {
  const rows = await orders.aggregate<{ _id: unknown; n: number }>([{ $match: READY_PRIO_FILTER }, { $group: { _id: '$prio', n: { $sum: 1 } } }]).toArray();
  return rows
    .filter((r): r is { _id: number; n: number } => typeof r._id === 'number')
    .map((r) => ({ priority: r._id, READY: r.n }))
    .sort((a, b) => b.priority - a.priority);
}
