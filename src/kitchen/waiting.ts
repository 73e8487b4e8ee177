// What a WAITING order is made of (issue 18), pure: the ids that keep it above what it
// waits for, its fields at insert, what a claim passes on of them, and whether an
// order holds another back. Its queries: ./pipeline.ts; their plans: ./pipeline-plans.ts.
import { ObjectId } from 'mongodb';
import type { Order, State } from '../order.js';
import { UNFINISHED, UNFINISHED_ANY } from './pipeline-plans.js';

/** Whether an order holds another back: unfinished (ERROR counts unless --after-any). */
export function blocks(status: State | undefined, any: boolean): boolean {
  return status !== undefined && (any ? UNFINISHED_ANY : UNFINISHED).includes(status);
}

/** An ObjectId of this process, `seconds` after `id`'s second. */
export function after(id: ObjectId, seconds: number): ObjectId {
  return new ObjectId(ObjectId.generate(Math.floor(+id.getTimestamp() / 1000) + seconds));
}

/** Ids of this process, each above the one before, starting above `first`: see newBarrier. */
export function increasing(first: ObjectId): () => ObjectId {
  let last = first.toHexString();
  let lastId = first;
  return () => {
    let id = new ObjectId();
    if (!(id.toHexString() > last)) {
      id = after(lastId, 0);
      if (!(id.toHexString() > last)) id = after(lastId, 1);
    }
    last = id.toHexString();
    return (lastId = id);
  };
}

/**
 * The _id of an order on ids: `fresh`, or (when a box's clock is behind one of them)
 * an id of this process above every id it waits for. So a dependant always sorts above
 * what it waits for, and a barrier, which holds back only what is below it, never
 * waits on an order that waits on one of the barrier's own (a deadlock).
 */
export function idAbove(ids: readonly ObjectId[], fresh: ObjectId): ObjectId {
  const top = ids.reduce((a, b) => (b.toHexString() > a.toHexString() ? b : a));
  return fresh.toHexString() > top.toHexString() ? fresh : increasing(top)();
}

/** What a new order waits for (add --after/--after-any, load/add --after-all); see Kitchen.insertOrders. */
export interface WaitFor {
  after?: ObjectId[];
  any?: boolean;
  barrier?: ObjectId;
}

/** The WAITING fields of a new order; `due` is then left out (the claim must not reach it) and a later --at kept in `at`. */
export function waitingFields(w: WaitFor, due: Date, now: Date): Partial<Order> {
  const o: Partial<Order> = { status: 'WAITING' };
  if (w.after?.length) Object.assign(o, { after: w.after, wait: 1 }, w.any ? { any: true } : {});
  if (w.barrier) Object.assign(o, { hold: w.barrier, barrier: w.barrier });
  if (+due > +now) o.at = due;
  return o;
}

/** What a claim passes on of what the order waited for: WAITER_AFTER, WAITER_AFTER_ALL, {after}. */
export function inputsOf(o: Order): { after?: string[]; barrier?: string } {
  return {
    ...(o.after?.length ? { after: o.after.map((id) => id.toHexString()) } : {}),
    ...(o.barrier ? { barrier: o.barrier.toHexString() } : {}),
  };
}
