// Pipelines (issue 18) and `clean`: an order cleaned away holds nothing back, so
// what waited for it is released by the clean itself, not at some idle waiter's check.
import { expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();

test('clean --status ERROR releases the orders that waited for the failed ones (READY at once, no waiter needed)', async () => {
  const a = /Added order ([0-9a-f]{24})/.exec((await waiter(k, ['add', 'A'])).stdout)![1]!;
  expect((await waiter(k, ['add', '--after', a, 'B'])).exitCode).toBe(0);
  expect((await waiter(k, ['deliver', '--shell', 'exit 3'])).exitCode).toBe(1); // A fails; B stays WAITING
  const orders = k.db.collection('orders');
  expect(await orders.findOne({ arguments: ['B'] })).toMatchObject({ status: 'WAITING' });

  const r = await waiter(k, ['clean', '--status', 'ERROR']);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(await orders.countDocuments({ arguments: ['A'] })).toBe(0);
  expect(await orders.findOne({ arguments: ['B'] })).toMatchObject({ status: 'READY' });
});
