// The end of a run (issue 25): what a waiter without --wait that found nothing to claim
// asks before leaving: are orders RUNNING on other waiters, whose leases could still
// run out? Imported by src/kitchen.ts (Kitchen.tail); never on an order's path (asked
// only after a claim found nothing).
import type { Collection, ObjectId } from 'mongodb';
import type { Order } from '../order.js';
import { CLAIM_SORT, TAIL_LATEST_FIRST, othersRunningFilter } from './plans.js';

/** `held`: the orders this waiter holds itself (at most its --concurrency), left out (othersRunningFilter). */
export class TailQueries {
  constructor(private readonly orders: Collection<Order>) {}

  /** The soonest lease end of an order RUNNING on another waiter, or null when none is: one key (plus `held`). */
  async nextLease(held: readonly ObjectId[]): Promise<Date | null> {
    const o = await this.orders
      .find(othersRunningFilter(held), { projection: { _id: 0, due: 1, expires: 1 } })
      .sort(CLAIM_SORT)
      .limit(1)
      .next();
    return o ? leaseEnd(o) : null;
  }

  /**
   * How many orders RUNNING on other waiters, and when the last of their leases ends
   * (unless renewed). Keys examined = RUNNING orders: asked once when a waiter starts
   * waiting for them, to say so, not on every poll.
   */
  async summary(held: readonly ObjectId[]): Promise<{ count: number; last: Date | null }> {
    const filter = othersRunningFilter(held);
    const [count, last] = await Promise.all([
      this.orders.countDocuments(filter),
      this.orders
        .find(filter, { projection: { _id: 0, due: 1, expires: 1 } })
        .sort(TAIL_LATEST_FIRST)
        .limit(1)
        .next(),
    ]);
    return { count, last: last ? leaseEnd(last) : null };
  }
}

/**
 * When an order's lease ends: the later of `due` and `expires`. A waiter of an older
 * version renews only `expires`, so its order's `due` lies in the past while the claim
 * (which checks `expires`) cannot take it yet: sleeping until `due` would spin.
 */
function leaseEnd(o: Pick<Order, 'due' | 'expires'>): Date {
  return new Date(Math.max(+(o.due ?? 0), +(o.expires ?? 0)));
}
