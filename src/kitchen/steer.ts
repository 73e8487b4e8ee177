// Steering (issue 26): the queries that change orders from outside their waiter (cancel, edit).
// Imported by src/kitchen.ts (Kitchen.steer); the filters and updates are ./steer-plans.ts, ./edit-plans.ts.
import type { Collection, Filter, ObjectId } from 'mongodb';
import type { Attempt, Order, Steered } from '../order.js';
import { ID_ORDER, byIdsFilter, fence } from './plans.js';
import {
  CANCELLED_BARRIERS,
  RUNNING_READ,
  cancelRunningUpdate,
  cancelledBy,
  uncancelBarrier,
  uncancelSteps,
  cancelUpdate,
  inStates,
  staleAt,
  takeoverLost,
  waitingOnFilter,
  type RunningRead,
} from './steer-plans.js';
import { editPlan, type EditAsk } from './edit-plans.js';

/** ids per `$in` (far below the 16 MB BSON limit). */
const IDS_PER_QUERY = 10_000;
/** ids per page read back (--with-dependants). */
const PAGE = 10_000;
/** A RUNNING order taken over between our read and our write is read again this many times. */
const RUNNING_TRIES = 3;

/** What one fenced cancel of a RUNNING order came to. */
export type RunningCancel = 'cancelled' | 'stale' | 'not-running' | 'finished' | 'busy';

export class SteerQueries {
  constructor(private readonly orders: Collection<Order>) {}

  /** How many orders a filter matches (dry runs, refusals). */
  count(filter: Filter<Order>): Promise<number> {
    return this.orders.countDocuments(filter);
  }

  /** The first `n` ids of a filter, oldest first (dry runs). */
  firstIds(filter: Filter<Order>, n: number): Promise<ObjectId[]> {
    return this.orders
      .find(filter, { projection: { _id: 1 } })
      .sort(ID_ORDER)
      .limit(n)
      .map((o) => o._id)
      .toArray();
  }

  /** Every id a filter matches (--with-dependants only: the cancelled ones, to find what waits on them). */
  allIds(filter: Filter<Order>): Promise<ObjectId[]> {
    return this.orders
      .find(filter, { projection: { _id: 1 } })
      .map((o) => o._id)
      .toArray();
  }

  /** Cancels the orders of a filter that are not running, in ONE updateMany (cancelUpdate); how many it changed. */
  async cancelMany(filter: Filter<Order>, s: Steered): Promise<number> {
    return (await this.orders.updateMany(filter, cancelUpdate(s))).modifiedCount;
  }

  /** Cancels these ids (their dependants) where still READY or WAITING, IDS_PER_QUERY per updateMany. */
  async cancelIds(ids: readonly ObjectId[], s: Steered): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) n += await this.cancelMany(inStates(byIdsFilter(ids.slice(i, i + IDS_PER_QUERY)), ['READY', 'WAITING'])!, s);
    return n;
  }

  /** A page of the orders of a selection this cancel changed (cancelledBy), after `after`, in _id order: --with-dependants reads them back, PAGE ids at a time. */
  cancelledPage(selected: Filter<Order>, s: Steered, after?: ObjectId, n = PAGE): Promise<ObjectId[]> {
    return this.firstIds(cancelledBy(selected, s, after), n);
  }

  /** The RUNNING orders of a filter, with what a fenced cancel needs (a fleet's worth at most). */
  running(filter: Filter<Order>): Promise<RunningRead[]> {
    return this.orders.find<RunningRead>(filter, { projection: RUNNING_READ }).toArray();
  }

  /**
   * Cancels one RUNNING order, fenced by the claim read (cancelRunningUpdate): 'stale' when its
   * lease had ended (nobody to stop: its attempt recorded LOST). Matching nothing,
   * it reads the order again: finished meanwhile (DONE, ERROR, CANCELLED: left alone); back
   * READY or WAITING (a reset: cancelled as such); taken over (a new claim: tried again, at most
   * RUNNING_TRIES times, then 'busy').
   */
  async cancelRunning(o: RunningRead, s: Steered): Promise<RunningCancel> {
    let cur: RunningRead | null = o;
    let lost: Attempt | undefined;
    for (let i = 0; i < RUNNING_TRIES && cur; i++) {
      if (cur.status === 'READY' || cur.status === 'WAITING') return (await this.cancelMany(inStates({ _id: cur._id }, [cur.status])!, s)) === 1 ? 'not-running' : 'finished';
      if (cur.status !== 'RUNNING' || !cur.claim) return 'finished';
      const r = await this.orders.updateOne(fence(cur._id, cur.claim), cancelRunningUpdate(cur, s, lost));
      if (r.matchedCount === 1) return staleAt(cur, s.at) ? 'stale' : 'cancelled';
      const before: RunningRead = cur;
      cur = await this.orders.findOne<RunningRead>({ _id: o._id }, { projection: RUNNING_READ });
      // Taken over: the taker's LOST line for `before` may not be written yet (takeoverLost).
      lost = cur ? takeoverLost(before, cur) : undefined;
    }
    return cur ? 'busy' : 'finished';
  }

  /** waiter edit (editPlan): the not-running orders of a selection get a priority or an --at; how many changed. */
  async edit(selected: Filter<Order>, ask: EditAsk, s: Steered): Promise<number> {
    let n = 0;
    for (const { filter, update } of editPlan(selected, ask, s)) n += (await this.orders.updateMany(filter, update)).modifiedCount;
    return n;
  }

  /** reset --status CANCELLED (uncancelSteps): every CANCELLED order (of `within`) back, WAITING again where it waits on others; how many. */
  async resetCancelled(now: Date, within: Filter<Order> = {}): Promise<number> {
    for (const b of await this.orders.distinct('barrier', { ...within, ...CANCELLED_BARRIERS })) {
      const { filter, update } = uncancelBarrier(b as ObjectId, within);
      await this.orders.updateMany(filter, update);
    }
    let n = 0;
    for (const { filter, update } of uncancelSteps(now, within)) n += (await this.orders.updateMany(filter, update)).modifiedCount;
    return n;
  }

  /** The WAITING orders that wait on these (waitingOnFilter), IDS_PER_QUERY ids per find; their ids. */
  async waitingOn(ids: readonly ObjectId[]): Promise<ObjectId[]> {
    const out: ObjectId[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) out.push(...(await this.allIds(waitingOnFilter(ids.slice(i, i + IDS_PER_QUERY)))));
    return out;
  }
}
