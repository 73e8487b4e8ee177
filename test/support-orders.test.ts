// The tests' shortcut for inserting orders (test/support/recovery.ts addOrders) must
// write what `waiter add` writes, or the tests exercise documents the product never
// makes (it once wrote no `prio`, which the claim index sorts on).
import { expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, orders } from './support/recovery.js';

const k = useDb();

test('addOrders writes the fields and values `waiter add` writes (but _id and due)', async () => {
  expect((await waiter(k, ['add', 'a', 'b'])).exitCode).toBe(0);
  const [id] = await addOrders(k.db, [['a', 'b']]);
  const added = await orders(k.db).findOne({ _id: { $ne: id! } });
  const ours = await orders(k.db).findOne({ _id: id! });
  const shape = (o: object | null) => Object.fromEntries(Object.entries(o ?? {}).filter(([key]) => key !== '_id' && key !== 'due'));
  expect(added).not.toBeNull();
  expect(shape(ours)).toEqual(shape(added));
  expect(Object.keys(ours ?? {}).sort()).toEqual(Object.keys(added ?? {}).sort());
});
