// Steering (issue 26): the queries that change orders from outside their waiter (cancel,
// hold, release, edit). Imported by src/kitchen.ts (Kitchen.steer); the filters and updates
// are ./steer-plans.ts, ./hold-plans.ts and ./edit-plans.ts.
import type { Collection, Filter, ObjectId } from 'mongodb';
import type { Attempt, Order, Steered } from '../order.js';
import { ID_ORDER, byIdsFilter, fence } from './plans.js';
import {
  IDLE,
  RUNNING_READ,
  barrierBack,
  barriersIn,
  cancelledBy,
  cancelledOrders,
  cancelUpdate,
  heldOnFilter,
  inStates,
  staleAt,
  stopRunningUpdate,
  takeoverLost,
  uncancelSteps,
  waitingOnFilter,
  type RunningRead,
  type Step,
  type StopTo,
} from './steer-plans.js';
import { HELD_FROM, heldFromWaiting, holdUpdate, releaseSteps } from './hold-plans.js';
import { editPlan, type EditAsk } from './edit-plans.js';

/** ids per `$in` (far below the 16 MB BSON limit). */
const IDS_PER_QUERY = 10_000;
/** ids per page read back (--with-dependants). */
const PAGE = 10_000;
/** A RUNNING order taken over between our read and our write is read again this many times. */
const RUNNING_TRIES = 3;

/** What one fenced cancel or hold of a RUNNING order came to ('already': it was in that state, CANCELLED or HELD, by another hand). */
export type RunningStop = 'stopped' | 'stale' | 'not-running' | 'already' | 'finished' | 'busy';

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

  /**
   * Cancels or holds the orders of a selection that are not running (IDLE): ONE updateMany
   * (cancelUpdate), or one per state held from (holdUpdate); how many it changed.
   */
  async stopMany(to: StopTo, selected: Filter<Order>, s: Steered): Promise<number> {
    if (to === 'CANCELLED') {
      const f = inStates(selected, IDLE.CANCELLED);
      return f ? this.cancelMany(f, s) : 0;
    }
    let n = 0;
    for (const from of HELD_FROM) {
      const f = inStates(selected, [from]);
      if (f) n += (await this.orders.updateMany(f, holdUpdate(s, from))).modifiedCount;
    }
    return n;
  }

  /** Cancels these ids (their dependants) where still READY, WAITING or HELD (the status is the fence), IDS_PER_QUERY per updateMany. */
  async cancelIds(ids: readonly ObjectId[], s: Steered): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) n += await this.cancelMany(inStates(byIdsFilter(ids.slice(i, i + IDS_PER_QUERY)), IDLE.CANCELLED)!, s);
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
   * Cancels or holds one RUNNING order, fenced by the claim read (stopRunningUpdate): 'stale'
   * when its lease had ended (nobody to stop: its attempt recorded LOST). Matching nothing,
   * it reads the order again: finished meanwhile (DONE, ERROR, CANCELLED: left alone); in
   * the state asked ('already'); back READY or WAITING (a reset), or HELD for a cancel:
   * changed as such (stopMany); taken over (a new claim: tried again, at most RUNNING_TRIES
   * times, then 'busy').
   */
  async stopRunning(o: RunningRead, s: Steered, to: StopTo): Promise<RunningStop> {
    let cur: RunningRead | null = o;
    let lost: Attempt | undefined;
    for (let i = 0; i < RUNNING_TRIES && cur; i++) {
      if (cur.status === to) return 'already';
      if (IDLE[to].includes(cur.status)) return (await this.stopMany(to, { _id: cur._id, status: cur.status }, s)) === 1 ? 'not-running' : 'finished';
      if (cur.status !== 'RUNNING' || !cur.claim) return 'finished';
      const r = await this.orders.updateOne(fence(cur._id, cur.claim), stopRunningUpdate(cur, s, to, lost));
      if (r.matchedCount === 1) return staleAt(cur, s.at) ? 'stale' : 'stopped';
      const before: RunningRead = cur;
      cur = await this.orders.findOne<RunningRead>({ _id: o._id }, { projection: RUNNING_READ });
      // Taken over: the taker's LOST line for `before` may not be written yet (takeoverLost).
      lost = cur ? takeoverLost(before, cur) : undefined;
    }
    return cur ? 'busy' : 'finished';
  }

  /** waiter edit (editPlan): the not-running orders of a selection get a priority or an --at; how many changed. */
  async edit(selected: Filter<Order>, ask: EditAsk, s: Steered): Promise<number> {
    return this.steps(editPlan(selected, ask, s));
  }

  /** reset --status CANCELLED (uncancelSteps): every CANCELLED order (of `within`) back, WAITING again where it waits on others; how many. */
  async resetCancelled(now: Date, within: Filter<Order> = {}): Promise<number> {
    await this.barriersBack(cancelledOrders(within));
    return this.steps(uncancelSteps(now, within));
  }

  /**
   * release: the HELD orders of `held` (a selection, status HELD) back (releaseSteps): WAITING
   * again on their barrier (barriersBack) or ids, or READY; how many of each.
   */
  async releaseHeld(held: Filter<Order>, s: Steered, now: Date): Promise<{ waiting: number; ready: number }> {
    await this.barriersBack(heldFromWaiting(held));
    const { waiting, ready } = releaseSteps(held, s, now);
    return { waiting: await this.steps(waiting), ready: await this.steps(ready) };
  }

  /** Of `orders`, the barrier each waited on as its hold again (barrierBack), one updateMany per distinct barrier. */
  private async barriersBack(orders: Filter<Order>): Promise<void> {
    for (const b of await this.orders.distinct('barrier', barriersIn(orders))) {
      const { filter, update } = barrierBack(orders, b as ObjectId);
      await this.orders.updateMany(filter, update);
    }
  }

  /** Steps in order, one updateMany each; how many they changed. */
  private async steps(steps: readonly Step[]): Promise<number> {
    let n = 0;
    for (const { filter, update } of steps) n += (await this.orders.updateMany(filter, update)).modifiedCount;
    return n;
  }

  /** The orders that wait on these: WAITING (waitingOnFilter) or held from WAITING (heldOnFilter), IDS_PER_QUERY ids per find; their ids. */
  async dependantsOf(ids: readonly ObjectId[]): Promise<ObjectId[]> {
    const out: ObjectId[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + IDS_PER_QUERY);
      out.push(...(await this.allIds(waitingOnFilter(chunk))), ...(await this.allIds(heldOnFilter(chunk))));
    }
    return out;
  }
}
