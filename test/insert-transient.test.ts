// Transient server errors while inserting orders (issue 25 item 8): FerretDB 2.x over
// PostgreSQL says "deadlock detected" when loads meet, MongoDB WriteConflict (112) or a
// TransientTransactionError label. A seam around the real collection (not a driver
// mock: every call reaches the real server) writes part of the batch for real, then
// throws that error once, as a server that wrote some documents before failing would.
import { MongoServerError, type Collection } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { OrderInserter } from '../src/kitchen/insert.js';
import { isTransient } from '../src/deliver/retry.js';
import type { Order } from '../src/order.js';
import { useDb } from './support/kitchen.js';

const k = useDb();

/** The real collection, whose first insertMany writes its first `part` documents and then fails with `error`. */
function failingOnce(orders: Collection<Order>, error: Error, part: number): { coll: Collection<Order>; calls: () => number } {
  let calls = 0;
  const coll = new Proxy(orders, {
    get(target, prop, receiver) {
      if (prop !== 'insertMany') {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async (docs: Order[], opts: object) => {
        if (calls++ === 0) {
          await target.insertMany(docs.slice(0, part), opts);
          throw error;
        }
        return target.insertMany(docs, opts);
      };
    },
  });
  return { coll, calls: () => calls };
}

const deadlock = () => new MongoServerError({ errmsg: 'ERROR: deadlock detected (SQLSTATE 40P01)', code: 1, ok: 0 });
const conflict = () => new MongoServerError({ errmsg: 'WriteConflict error: this operation conflicted with another operation', code: 112, codeName: 'WriteConflict', ok: 0 });
const labelled = () => new MongoServerError({ errmsg: 'Transaction aborted', code: 251, ok: 0, errorLabels: ['TransientTransactionError'] });

const rows = (n: number) => Array.from({ length: n }, (_, i) => [`row-${i}`]);

describe('transient errors while inserting are retried, each row written exactly once', () => {
  test.each([
    ['a plain load, "deadlock detected"', false, deadlock],
    ['a plain load, WriteConflict', false, conflict],
    ['load --unique, "deadlock detected"', true, deadlock],
    ['load --unique, TransientTransactionError', true, labelled],
  ])('%s', async (_name, unique, error) => {
    const real = k.db.collection<Order>('orders');
    const { coll, calls } = failingOnce(real, error(), 3);
    const lines: string[] = [];
    const inserter = new OrderInserter(coll, async () => undefined);
    const r = await inserter.insertOrders(rows(10), { unique, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ inserted: 10, existing: 0 });
    expect(r.ids).toHaveLength(10);
    expect(calls()).toBe(2);
    const docs = await real.find().sort({ _id: 1 }).toArray();
    expect(docs.map((d) => d.arguments[0])).toEqual(rows(10).map((x) => x[0]));
    expect(docs.map((d) => d._id.toHexString())).toEqual(r.ids.map((id) => id.toHexString()));
    // Said once, with why.
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^waiter: inserting 10 order\(s\): the kitchen refused it for now \(.+\); retry 1 in \d+ ms \(retrying for up to 60 s\)$/);
    expect(lines[1]).toBe('waiter: inserting 10 order(s): the kitchen answers again');
  });

  test('the classifier: deadlock by message, WriteConflict by code, the two labels; not a duplicate key or a refused document', () => {
    expect([deadlock(), conflict(), labelled()].map(isTransient)).toEqual([true, true, true]);
    const retryable = new MongoServerError({ errmsg: 'x', code: 6, ok: 0, errorLabels: ['RetryableWriteError'] });
    expect(isTransient(retryable)).toBe(true);
    expect(isTransient(new MongoServerError({ errmsg: 'E11000 duplicate key error', code: 11000, ok: 0 }))).toBe(false);
    expect(isTransient(new MongoServerError({ errmsg: 'Document failed validation', code: 121, ok: 0 }))).toBe(false);
  });
});
