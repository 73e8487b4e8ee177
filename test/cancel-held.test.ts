// cancel --with-dependants and HELD orders (issue 26): an order held from WAITING still
// waits on its `after` or barrier once released, so it is a dependant like a WAITING one;
// one held from READY (already freed) is not. Without the option, a held dependant is
// left alone and, released, waits as on a failed order.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { kitchens } from './support/explain.js';
import { byId, orders, statusJson, type OrderDoc } from './support/recovery.js';
import { cancelOrders } from '../src/app/cancel.js';
import { holdOrders } from '../src/app/hold.js';
import { cancelLine } from '../src/commands/cancel.js';

const k = useDb();
const open = kitchens();
const by = 'alice@box';
const insert = async (doc: Partial<OrderDoc>) => (await orders(k.db).insertOne({ arguments: ['x'], attempts: 0, prio: 0, ...doc } as OrderDoc)).insertedId;
const add = async (...args: string[]) => /Added order ([0-9a-f]{24})/.exec((await waiter(k, ['add', ...args])).stdout)![1]!;

describe('cancel --with-dependants reaches HELD dependants', () => {
  test('B after A held, C after B held, D after C WAITING: all cancelled with the same by and at, counted as waiting on them', async () => {
    const a = await add('a');
    const b = await add('--after', a, 'b');
    const c = await add('--after', b, 'c');
    const d = await add('--after', c, 'd');
    expect((await waiter(k, ['hold', b, c])).stdout).toBe('Held 2 orders');

    const dry = await waiter(k, ['cancel', a, '--with-dependants', '--dry-run']);
    expect(dry.stdout).toBe(`Would cancel 4 orders (3 waiting on them): ${a} (and the dependants); nothing changed`);
    const r = await waiter(k, ['cancel', a, '--with-dependants', '--reason', 'wrong input']);
    expect(r.stdout).toBe('Cancelled 4 orders (3 waiting on them)');
    const parent = await byId(k.db, new ObjectId(a));
    expect(parent.cancelled).toMatchObject({ by: expect.stringMatching(/^\S+@\S+$/), at: expect.any(Date), reason: 'wrong input' });
    for (const id of [b, c, d]) {
      const o = await byId(k.db, new ObjectId(id));
      expect(o, id).toMatchObject({ status: 'CANCELLED', cancelled: parent.cancelled });
      expect(o.held, id).toBeUndefined();
    }
    expect(await statusJson(k)).toMatchObject({ CANCELLED: 4, HELD: 0, WAITING: 0 });
  });

  test('held behind a barrier above the cancelled order: cancelled; held from READY, or --after-any: left alone, as their WAITING kind', async () => {
    const kitchen = await open(k);
    const a = await insert({ status: 'READY', due: new Date() });
    const barrier = new ObjectId();
    const onBarrier = await insert({ status: 'WAITING', hold: barrier, barrier });
    const onAny = await insert({ status: 'WAITING', after: [a], wait: 1, any: true });
    // Released already (what it waited for was DONE, then reset): READY, `after` kept for show.
    const freed = await insert({ status: 'READY', after: [a], due: new Date() });
    expect(await holdOrders(kitchen, { ids: [onBarrier, onAny, freed], by })).toMatchObject({ held: 3 });

    const dry = await cancelOrders(kitchen, { ids: [a], withDependants: true, dryRun: true, by });
    expect(dry).toMatchObject({ cancelled: 2, dependants: 1 });
    const r = await cancelOrders(kitchen, { ids: [a], withDependants: true, by });
    expect(r).toMatchObject({ cancelled: 2, dependants: 1 });
    expect(cancelLine(r)).toBe('Cancelled 2 orders (1 waiting on them)');
    expect(await byId(k.db, onBarrier)).toMatchObject({ status: 'CANCELLED', cancelled: { by } });
    for (const id of [onAny, freed]) expect((await byId(k.db, id)).status).toBe('HELD');
  });

  test('without it, a held dependant is left alone (as a WAITING one, not counted); released, it waits as on a failed order', async () => {
    const a = await add('a');
    const b = await add('--after', a, 'b');
    expect((await waiter(k, ['hold', b])).stdout).toBe('Held 1 order');
    expect((await waiter(k, ['cancel', a])).stdout).toBe('Cancelled 1 order');
    expect((await byId(k.db, new ObjectId(b))).status).toBe('HELD');

    expect((await waiter(k, ['release', b])).stdout).toBe('Released 1 order (1 WAITING again on what it waits for)');
    expect(await byId(k.db, new ObjectId(b))).toMatchObject({ status: 'WAITING', wait: 1 });
    expect((await waiter(k, ['show', b])).stdout).toContain(`${a}  CANCELLED  (cancelled: holds this order back)`);
    expect(await statusJson(k)).toMatchObject({ WAITING: 1, waitingOnFailed: 1, HELD: 0 });
  });
});
