// Pipelines (issue 18): a load --after-all that failed part way, loaded again with
// --unique, joins the stage its first rows wait in, instead of waiting for them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { Order } from '../src/order.js';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { tempDir } from './support/recovery.js';

const k = useDb();

test('load --unique --after-all again after a part of it went in: the new rows wait on the same barrier (one stage), and say so; once that stage was released, a new barrier', async () => {
  const dir = await tempDir('rejoin');
  const file = async (name: string, rows: string[]) => {
    await writeFile(join(dir, name), rows.join('\n') + '\n');
    return join(dir, name);
  };
  const orders = k.db.collection<Order>('orders');
  const load = async (...args: string[]) => {
    const r = await waiter(k, ['load', ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r;
  };
  await load(await file('s1.csv', ['m1', 'm2']));
  // As if the stage-2 load had died after its first two rows.
  await load('--unique', '--after-all', await file('part.csv', ['r1', 'r2']));
  const again = await load('--unique', '--after-all', await file('s2.csv', ['r1', 'r2', 'r3', 'r4']));
  expect(again.stdout).toBe('Loaded 2 orders (2 already there)');
  const barrier = (await orders.findOne({ arguments: ['r1'] }))!.hold!;
  expect(again.stderr).toContain(`the file's first row is already in the list, WAITING on barrier ${barrier.toHexString()} (an earlier load of it): the new rows join that stage`);
  const stage = await orders.find({ arguments: { $in: [['r1'], ['r2'], ['r3'], ['r4']] } }).toArray();
  expect(stage.map((o) => [o.status, o.hold?.toHexString()])).toEqual(Array(4).fill(['WAITING', barrier.toHexString()]));
  // Stage 1 done: the whole of stage 2 is released at once.
  await orders.updateMany({ arguments: { $in: [['m1'], ['m2']] } }, { $set: { status: 'DONE' }, $unset: { due: '' } });
  expect((await waiter(k, ['reset'])).exitCode).toBe(0);
  expect(await orders.countDocuments({ status: 'READY' })).toBe(4);
  // Loaded again once that stage runs: its first row is not WAITING, so a new barrier, above all of it.
  const later = await load('--unique', '--after-all', await file('s2b.csv', ['r1', 'r2', 'r3', 'r4', 'r5']));
  expect(later.stderr).not.toContain('join that stage');
  const r5 = (await orders.findOne({ arguments: ['r5'] }))!;
  expect([r5.status, r5.hold!.toHexString() > barrier.toHexString()]).toEqual(['WAITING', true]);
});
