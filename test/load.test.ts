// loadRows (src/load.ts) when the kitchen fails part-way: the error says how many
// orders made it. The kitchen here is a stand-in that fails its second insert while
// the next batch is still being read (the real server paths are in cli-load).
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { KitchenError } from '../src/errors.js';
import type { Kitchen } from '../src/kitchen.js';
import { loadRows } from '../src/load.js';

async function* slowRows(n: number): AsyncGenerator<string[]> {
  for (let i = 0; i < n; i++) {
    if (i % 10 === 0) await sleep(5); // reading the file takes time
    yield [String(i)];
  }
}

test('an insert that fails while the next batch is read ends in a KitchenError counting what was loaded', async () => {
  let inserts = 0;
  const kitchen = {
    insertOrders: async (rows: string[][]) => {
      if (++inserts === 2) throw new Error('the kitchen went away');
      return { inserted: rows.length, existing: 0, ids: [] };
    },
  } as unknown as Kitchen;

  const err = await loadRows(kitchen, slowRows(100), 100, {}, 10).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KitchenError);
  expect((err as Error).message).toBe('loaded 10 of 100 orders, then: the kitchen went away');
});
