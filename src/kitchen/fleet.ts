// The fleet view's queries (status, waiters, the page): orders one by one, pace, the
// waiter registry. Imported by src/kitchen.ts (Kitchen.fleet); only reads, except the
// registry's own documents and the fleet indexes, and never on an order's path.
import type { Collection, Filter, ObjectId } from 'mongodb';
import type { WaiterDoc } from '../fleet.js';
import type { Order, State } from '../order.js';
import { readyByPriority, type PriorityCount } from './priorities.js';

/**
 * The fleet view's order queries (exported, like the claim's, for the explain test):
 * orders finished at or after `since` (all finished ones without it), two ranges on
 * {status: 1, stop: 1}; read newest first with RECENT_SORT, the same index backwards.
 */
export function finishedFilter(since?: Date): Filter<Order> {
  return { status: { $in: ['DONE', 'ERROR'] }, ...(since ? { stop: { $gte: since } } : {}) };
}
export const RECENT_SORT = { stop: -1 } as const;
/** A waiter that has not ended (null matches a missing field, and is an index range). */
const NOT_ENDED = { ended: null } as unknown as Filter<WaiterDoc>;
/** Live waiters: not ended, seen within their lease. One range on {ended: 1, expires: 1}. */
export function liveFilter(now: Date): Filter<WaiterDoc> {
  return { ...NOT_ENDED, expires: { $gt: now } };
}

export class FleetQueries {
  constructor(
    private readonly orders: Collection<Order>,
    readonly waiters: Collection<WaiterDoc>,
  ) {}

  /**
   * The indexes of the fleet view, made by `deliver` at start (status only reads, and
   * may run as a read-only user):
   * - orders {status:1, stop:1}: pace counts are ranges on it (keys examined = orders
   *   finished in the window), and the latest finished orders a merge of two ranges
   *   read backwards (keys examined = the limit);
   * - waiters {ended:1, expires:1}: live waiters are one range on it.
   */
  async ensureFleetIndexes(): Promise<void> {
    await this.orders.createIndex({ status: 1, stop: 1 });
    await this.waiters.createIndex({ ended: 1, expires: 1 });
  }

  /** READY orders per priority, highest first: one aggregate on the claim index (src/kitchen/priorities.ts). */
  async readyByPriority(): Promise<PriorityCount[]> {
    return readyByPriority(this.orders);
  }

  /**
   * Pace: how many orders finished (DONE or ERROR) with `stop` at or after `since`.
   * A range per status on {status, stop}; counted from the index.
   */
  async finishedSince(since: Date): Promise<number> {
    return this.orders.countDocuments(finishedFilter(since));
  }

  /**
   * The run times (ms, stop - start of the last attempt) of the `limit` most recently
   * finished orders: {status, stop} read backwards, at most `limit` documents.
   */
  async recentRunTimes(limit: number): Promise<number[]> {
    const docs = await this.orders
      .find(finishedFilter(), { projection: { _id: 0, start: 1, stop: 1 } })
      .sort(RECENT_SORT)
      .limit(limit)
      .toArray();
    return docs.flatMap((o) => (o.start && o.stop ? [+o.stop - +o.start] : []));
  }

  /** Live waiters: not ended, seen within their lease. One range on {ended, expires}. */
  async liveWaiters(now = new Date()): Promise<number> {
    return this.waiters.countDocuments(liveFilter(now));
  }

  /**
   * The registry, oldest first: every waiter not ended, and those that ended at or
   * after `endedSince` (all of them without it). Two ranges on {ended, expires}; the
   * registry holds one document per deliver process, so it is small.
   */
  async listWaiters(endedSince?: Date): Promise<WaiterDoc[]> {
    const filter: Filter<WaiterDoc> = endedSince ? { $or: [NOT_ENDED, { ended: { $gte: endedSince } }] } : {};
    return this.waiters.find(filter).sort({ started: 1, _id: 1 }).toArray();
  }

  /**
   * The RUNNING orders recorded as run by these waiter names (oldest first, their id and
   * arguments only): what a STALE waiter actually holds, which its registry document,
   * written before it died, may not say. One range on {status: 1, _id: 1}: keys examined
   * = RUNNING orders (at most the fleet's concurrency); asked only when a waiter is STALE.
   */
  async runningOf(names: string[]): Promise<Pick<Order, '_id' | 'arguments' | 'waiter'>[]> {
    if (names.length === 0) return [];
    return this.orders
      .find({ status: 'RUNNING', waiter: { $in: names } }, { projection: { _id: 1, arguments: 1, waiter: 1 } })
      .sort({ status: 1, _id: 1 })
      .toArray();
  }

  /**
   * Writes this waiter's whole registry document (upsert by its random instance id):
   * at start, every heartbeat, at exit. Never on an order's critical path. Whole, so a
   * write lost in an outage (or a `clean` meanwhile) is made good by the next.
   */
  async saveWaiter(doc: WaiterDoc): Promise<void> {
    const { _id, ...rest } = doc;
    const unset: Record<string, ''> = {};
    if (!doc.current) unset.current = '';
    await this.waiters.updateOne({ _id }, { $set: rest, ...(Object.keys(unset).length ? { $unset: unset } : {}) }, { upsert: true });
  }

  /**
   * A page of orders in _id order (newest first with `newest`), of one state if given,
   * starting after the cursor `after` (exclusive): at most `limit`, without `claim`
   * (internal) and `history` (GET one order for it). Backed by {status:1, _id:1} with
   * a status, by _id without: keys examined = limit.
   */
  async page(opts: { status?: State; after?: ObjectId; limit: number; newest?: boolean }): Promise<Order[]> {
    const filter: Filter<Order> = {};
    if (opts.status) filter.status = opts.status;
    if (opts.after) filter._id = opts.newest ? { $lt: opts.after } : { $gt: opts.after };
    return this.orders
      .find(filter, { projection: { claim: 0, history: 0 } })
      .sort({ _id: opts.newest ? -1 : 1 })
      .limit(opts.limit)
      .toArray();
  }

  /**
   * When orders finished (DONE or ERROR) at or after `since`: their stop times only,
   * for the pace chart. Two ranges on {status:1, stop:1} (ensureFleetIndexes), covered
   * by it: keys examined = orders finished since then, so callers ask for short
   * windows (the chart reads the last hour once, then only its last few minutes).
   */
  async finishTimes(since: Date): Promise<Date[]> {
    const docs = await this.orders.find(finishedFilter(since), { projection: { _id: 0, stop: 1 } }).toArray();
    return docs.flatMap((d) => (d.stop instanceof Date ? [d.stop] : []));
  }

  /**
   * The `limit` orders that failed last (ERROR, latest `stop` first), without claim
   * and history. {status:1, stop:1} read backwards: keys examined = limit.
   */
  async latestFailed(limit: number): Promise<Order[]> {
    return this.orders
      .find({ status: 'ERROR' }, { projection: { claim: 0, history: 0 } })
      .sort({ status: -1, stop: -1 })
      .limit(limit)
      .toArray();
  }
}
