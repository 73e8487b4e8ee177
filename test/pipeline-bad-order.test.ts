// Pipelines (issue 18) and the rules for failure: one order whose pipeline fields waiter
// did not write (by hand, another tool) must not stop the waiters that check the list.
import { ObjectId } from 'mongodb';
import { expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();

test('an order WAITING on "ids" that are not ids: a waiter runs the rest and exits as usual (exit 0), saying its release check failed', async () => {
  expect((await waiter(k, ['add', 'x'])).exitCode).toBe(0);
  const orders = k.db.collection('orders');
  await orders.insertOne({ _id: new ObjectId(), status: 'WAITING', arguments: ['b'], attempts: 0, after: ['nope'], wait: 1 });
  const r = await waiter(k, ['deliver', 'true']);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stderr).toContain('waiter: the release check failed, going on without it: ');
  expect(await orders.findOne({ arguments: ['x'] })).toMatchObject({ status: 'DONE' });
  expect(await orders.findOne({ arguments: ['b'] })).toMatchObject({ status: 'WAITING' });
});
