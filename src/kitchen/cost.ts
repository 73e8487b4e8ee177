// The list's cost (issue 28): what its orders used, for `status` and GET /metrics. Only
// reads; its one index is made with the fleet view's (FleetQueries.ensureFleetIndexes).
//
// Every attempt with a CPU figure adds to its order's `spent` on the finish write
// (src/kitchen/plans.ts finishUpdate), so the list's total is a sum over one index,
// not over histories: {spent.cpuMs: -1, spent.attempts: 1}. An order without `spent`
// (never measured, or finished by an older waiter) has no key in the range {$gte: 0}.
import type { Collection, Filter } from 'mongodb';
import type { Order, Spent } from '../order.js';
import { RECENT_SORT, finishedFilter } from './plans.js';

export const SPENT_INDEX = Object.freeze({ 'spent.cpuMs': -1, 'spent.attempts': 1 } as const);
export const SPENT_INDEX_NAME = 'spent.cpuMs_-1_spent.attempts_1';

/** Orders that used CPU: a range of the spent index (a number, so missing and null are out). */
export const SPENT_RANGE = Object.freeze({ 'spent.cpuMs': { $gte: 0 } }) as Filter<Order>;
/** The costliest first: the spent index read forwards. */
export const SPENT_SORT = Object.freeze({ 'spent.cpuMs': -1 } as const);

/** The list's total: CPU and attempts summed over the orders with a `spent`, and how many orders that is. */
export interface SpentTotal {
  cpuMs: number;
  attempts: number;
  orders: number;
}

export type CostlyOrder = Pick<Order, '_id' | 'status' | 'arguments' | 'usage' | 'history'> & { spent: Spent };

export class CostQueries {
  constructor(private readonly orders: Collection<Order>) {}

  /**
   * Whether the spent index is there. Without it no waiter of this version has prepared
   * the list (deliver and serve make it at start), so no order has a `spent`, and a sum
   * would read the whole list to find none: callers then say there is no figure.
   */
  async indexed(): Promise<boolean> {
    return this.orders.indexExists(SPENT_INDEX_NAME).catch(() => false);
  }

  /**
   * The list's total. Filter: SPENT_RANGE · Index used: {spent.cpuMs: -1, spent.attempts: 1},
   * covered (MongoDB: no document fetched) · Cost: keys = orders with a `spent` (as the
   * counts per state read their keys), three times. Three round trips at once, one
   * accumulator each: FerretDB v1 sums every accumulator of a $group after the first to 0.
   */
  async total(): Promise<SpentTotal> {
    const sum = async (field: 'cpuMs' | 'attempts') => {
      const [g] = await this.orders.aggregate<{ n: number }>([{ $match: SPENT_RANGE }, { $group: { _id: null, n: { $sum: `$spent.${field}` } } }]).toArray();
      return Number(g?.n ?? 0);
    };
    const [cpuMs, attempts, orders] = await Promise.all([sum('cpuMs'), sum('attempts'), this.orders.countDocuments(SPENT_RANGE)]);
    return { cpuMs, attempts, orders };
  }

  /**
   * The `limit` orders that used the most CPU (every attempt recorded), costliest first.
   * Filter: SPENT_RANGE · Sort: SPENT_SORT · Index used: the spent index · Cost: keys and
   * documents = limit (history read for the peak of each).
   */
  async top(limit: number): Promise<CostlyOrder[]> {
    const docs = await this.orders
      .find(SPENT_RANGE, { projection: { _id: 1, status: 1, arguments: 1, usage: 1, history: 1, spent: 1 } })
      .sort(SPENT_SORT)
      .limit(limit)
      .toArray();
    return docs as CostlyOrder[];
  }

  /**
   * The last attempt's usage of the `limit` most recently finished orders (DONE, ERROR),
   * newest first; undefined for those without. Filter: finishedFilter() · Sort:
   * RECENT_SORT · Index used: {status: 1, stop: 1} read backwards (as recentFinishes) ·
   * Cost: keys and documents = limit.
   */
  async recent(limit: number): Promise<Pick<Order, 'usage'>[]> {
    return this.orders
      .find(finishedFilter(), { projection: { _id: 0, usage: 1 } })
      .sort(RECENT_SORT)
      .limit(limit)
      .toArray();
  }
}
