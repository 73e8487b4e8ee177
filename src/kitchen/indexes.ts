// The order list's indexes, and the migration of a list an older waiter wrote (orders
// without `due` or `prio`). Kitchen.ensureIndexes runs it once per process, before the
// first claim, peek or insert.
import type { Collection } from 'mongodb';
import { PRIO_RUNNING, type Order } from '../order.js';
import { CLAIM_SORT, DUE_SORT, longAgo, STATUS_INDEX } from './plans.js';

const DUE_INDEX = 'due_1__id_1';
const CLAIM_INDEX = 'prio_-1_due_1__id_1';

/**
 * The indexes: {prio: -1, due: 1, _id: 1} for claims, {due: 1, _id: 1} for the
 * not-yet-due count, {status: 1, _id: 1} for counts and per-state listings.
 * Idempotent; once per process.
 * A list written by an older waiter (orders without `due`) is migrated first: READY
 * orders get longAgo() (taken before newer ones, in _id order), RUNNING ones their
 * lease expiry. The claim index is built only after that, so its presence says the
 * list is migrated (a process that dies midway leaves it to the next); two processes
 * migrating at once write the same values. Then `prio` likewise, before the claim
 * index {prio: -1, due: 1, _id: 1}. An older waiter still running beside this version
 * does not set `prio` on what it claims: its stale orders are taken over at their
 * own priority rather than first; an order it adds has none and sorts after all
 * others (still taken).
 */
export async function ensureOrderIndexes(orders: Collection<Order>): Promise<void> {
  await orders.createIndex(STATUS_INDEX);
  if (!(await orders.indexExists(CLAIM_INDEX).catch(() => false))) {
    if (!(await orders.indexExists(DUE_INDEX).catch(() => false))) {
      await orders.updateMany({ status: 'READY', due: { $exists: false } }, { $set: { due: longAgo() } });
      for await (const o of orders.find({ status: 'RUNNING', due: { $exists: false } })) {
        await orders.updateOne({ _id: o._id, claim: o.claim, status: 'RUNNING', due: { $exists: false } }, { $set: { due: o.expires ?? longAgo() } });
      }
      await orders.createIndex(DUE_SORT, { name: DUE_INDEX });
    }
    // Then `prio` (issue 15), the same way: orders of an older version have none.
    // Their READY orders get 0 (no priority was ever given), RUNNING ones PRIO_RUNNING;
    // only missing values are written, so it is idempotent and two at once agree.
    await orders.updateMany({ status: 'READY', prio: { $exists: false } }, { $set: { prio: 0 } });
    await orders.updateMany({ status: 'RUNNING', prio: { $exists: false } }, { $set: { prio: PRIO_RUNNING } });
    await orders.createIndex(CLAIM_SORT, { name: CLAIM_INDEX });
  }
}
