// The fleet view's queries (status, waiters, the page): orders one by one, pace, the
// waiter registry. Imported by src/kitchen.ts (Kitchen.fleet); only reads, except the
// registry's own documents and the fleet indexes, and never on an order's path.
import { ObjectId, type Collection, type Filter } from 'mongodb';
import type { AttemptsOf, Settled, WaiterDoc } from '../fleet.js';
import type { Order, State } from '../order.js';
import { NOT_ENDED, RECENT_SORT, finishedFilter, liveFilter, saveWaiterUpdate } from './plans.js';
import { readyByPriority, type PriorityCount } from './priorities.js';
import { SPENT_INDEX, SPENT_INDEX_NAME } from './cost.js';

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
   * - waiters {ended:1, expires:1}: live waiters are one range on it;
   * - waiters {name:1, started:1}: the documents of a STALE waiter's name (waitersNamed);
   * - orders {spent.cpuMs:-1, spent.attempts:1}: the list's cost (src/kitchen/cost.ts).
   */
  async ensureFleetIndexes(): Promise<void> {
    await this.orders.createIndex({ status: 1, stop: 1 });
    await this.orders.createIndex(SPENT_INDEX, { name: SPENT_INDEX_NAME });
    await this.waiters.createIndex({ ended: 1, expires: 1 });
    await this.waiters.createIndex({ name: 1, started: 1 });
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
   * The start and stop (ms) of the last attempt of the `limit` most recently finished
   * orders, newest first: {status, stop} read backwards, at most `limit` documents. The
   * median run time and the ETA's measured pace (src/eta.ts) are read from them.
   */
  async recentFinishes(limit: number): Promise<{ start: number; stop: number }[]> {
    const docs = await this.orders
      .find(finishedFilter(), { projection: { _id: 0, start: 1, stop: 1 } })
      .sort(RECENT_SORT)
      .limit(limit)
      .toArray();
    return docs.flatMap((o) => (o.start && o.stop ? [{ start: +o.start, stop: +o.stop }] : []));
  }

  /**
   * Live waiters (not ended, seen within their lease), the sum of their --concurrency, and
   * how many of them `waiter stop` asked to stop (they claim nothing more): one range on
   * {ended, expires}, keys and documents examined = live waiters, each read for its
   * concurrency and stop alone. (Not a $group: FerretDB v1 sums '$concurrency' to 0
   * beside a {$sum: 1} in the same group.)
   */
  async liveWaiters(now = new Date()): Promise<{ waiters: number; slots: number; stopping: number }> {
    const docs = await this.waiters.find(liveFilter(now), { projection: { _id: 0, concurrency: 1, stop: 1 } }).toArray();
    return {
      waiters: docs.length,
      slots: docs.reduce((n, w) => n + (typeof w.concurrency === 'number' && w.concurrency > 0 ? w.concurrency : 1), 0),
      stopping: docs.filter((w) => w.stop).length,
    };
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

  /** Every registry document (ended or not) of these names: what bounds a STALE waiter's window (staleWindow). On {name, started}. */
  async waitersNamed(names: string[]): Promise<WaiterDoc[]> {
    if (names.length === 0) return [];
    return this.waiters
      .find({ name: { $in: names } })
      .sort({ name: 1, started: 1 })
      .toArray();
  }

  /**
   * Writes dead waiters' settled figures (WaiterDoc.settled) back, in one round trip.
   * Fenced like a write to an order from outside: only a document still as read (`seen`
   * unchanged: it did not come back), not ended and not settled yet. Two readers settling
   * at once write the same values; the first wins, the other matches nothing.
   */
  async settleWaiters(settled: { id: string; seen: Date; settled: Settled }[]): Promise<void> {
    if (settled.length === 0) return;
    await this.waiters.bulkWrite(
      settled.map((x) => ({
        updateOne: { filter: { _id: x.id, seen: x.seen, ended: null, settled: null } as unknown as Filter<WaiterDoc>, update: { $set: { settled: x.settled } } },
      })),
      { ordered: false },
    );
  }

  /**
   * The RUNNING orders recorded as run by these waiter names (oldest first, their id and
   * arguments only): what a STALE waiter actually holds, which its registry document,
   * written before it died, may not say. One range on {status: 1, _id: 1}: keys examined
   * = RUNNING orders (at most the fleet's concurrency); asked only when a waiter is STALE.
   */
  async runningOf(names: string[]): Promise<Pick<Order, '_id' | 'arguments' | 'waiter' | 'heartbeat' | 'status' | 'start' | 'progress'>[]> {
    if (names.length === 0) return [];
    return this.orders
      .find({ status: 'RUNNING', waiter: { $in: names } }, { projection: { _id: 1, arguments: 1, waiter: 1, heartbeat: 1, status: 1, start: 1, progress: 1 } })
      .sort({ status: 1, _id: 1 })
      .toArray();
  }

  /**
   * The orders that can hold what STALE waiters recorded after their last write
   * (settleStale, src/fleet.ts), for all of them in one go (three queries at once,
   * whatever their number): those finished (DONE, ERROR, or READY for a retry) with
   * `stop` in one of their windows (from, to] that one of these names ran once, ranges
   * on {status: 1, stop: 1}: keys examined = orders the whole fleet finished in those
   * windows, each at most one lease long; the RUNNING ones they ran once (taken again
   * since), on {status: 1, _id: 1}: keys = RUNNING orders; and the ones they were writing
   * (`ids`, at most two per slot), by _id. Ambiguous windows are left out. Asked only for
   * STALE waiters not settled yet (settleDue), their history only.
   */
  async attemptsOf(names: string[], wins: readonly { from: Date; to: Date; ambiguous: boolean }[], ids: string[]): Promise<AttemptsOf[]> {
    const projection = { _id: 1, status: 1, history: 1, waiter: 1 };
    const mine = { 'history.waiter': { $in: names } } as Filter<Order>;
    const clear = wins.filter((w) => !w.ambiguous);
    const [finished, running, writing] = await Promise.all([
      clear.length
        ? this.orders
            .find({ $or: clear.map((w) => ({ status: { $in: ['DONE', 'ERROR', 'READY'] }, stop: { $gt: w.from, $lte: w.to } })), ...mine } as Filter<Order>, { projection })
            .toArray()
        : [],
      clear.length ? this.orders.find({ status: 'RUNNING', ...mine }, { projection }).toArray() : [],
      ids.length ? this.orders.find({ _id: { $in: ids.map((x) => ObjectId.createFromHexString(x)) } }, { projection }).toArray() : [],
    ]);
    return [...finished, ...running, ...writing];
  }

  /**
   * Writes this waiter's whole registry document (upsert by its random instance id):
   * at start, every heartbeat, at exit. Never on an order's critical path. Whole, so a
   * write lost in an outage (or a `clean` meanwhile) is made good by the next. A $set of
   * its own fields (saveWaiterUpdate), so what others set on it (`paused`, `stop`:
   * src/kitchen/control.ts) survives, and comes back in the answer: the document after,
   * in the same one round trip (findOneAndUpdate, no projection: FerretDB).
   */
  async saveWaiter(doc: WaiterDoc): Promise<{ doc: WaiterDoc | null; created: boolean }> {
    const r = await this.waiters.findOneAndUpdate({ _id: doc._id }, saveWaiterUpdate(doc), { upsert: true, returnDocument: 'after', includeResultMetadata: true });
    // Created: its first write, or again after a whole `clean` emptied the registry (the list's pause is then read again).
    return { doc: r.value, created: r.lastErrorObject?.updatedExisting !== true };
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
