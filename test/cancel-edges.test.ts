// waiter cancel's edges, in process on the real kitchen (issue 26 review): what a user
// gives is capped before anything is written, and an order that changes state between
// the cancel's reads and writes is counted and recorded as what really happened.
import type { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { useDb } from './support/kitchen.js';
import { kitchens } from './support/explain.js';
import { byId, dumpOrders, orders, type OrderDoc } from './support/recovery.js';
import { PRIO_RUNNING } from '../src/order.js';
import { CLAIM_SORT, claimFilter, claimUpdate } from '../src/kitchen/plans.js';
import { cancelOrders } from '../src/app/cancel.js';
import { cancelRequest } from '../src/serve/input.js';
import { cancelLine } from '../src/commands/cancel.js';
import { UsageError } from '../src/errors.js';

const k = useDb();
const open = kitchens();
const dump = () => dumpOrders(k.db);

/** A RUNNING order as a claim leaves it: lease until `expires`, last heartbeat `heartbeat`. */
async function running(over: Partial<OrderDoc> = {}): Promise<ObjectId> {
  const now = Date.now();
  const r = await orders(k.db).insertOne({
    status: 'RUNNING',
    arguments: ['r'],
    attempts: 1,
    waiter: 'box-a',
    claim: 'tok-1',
    prio: PRIO_RUNNING,
    start: new Date(now - 5000),
    heartbeat: new Date(now - 1000),
    expires: new Date(now + 60_000),
    due: new Date(now + 60_000),
    ...over,
  } as never);
  return r.insertedId;
}

describe('cancel: caps, refused with nothing written', () => {
  test('a reason over 500 characters, a --failed-with over 1,000 or with a NUL byte: a UsageError (exit 2, 400), the list unchanged', async () => {
    const kitchen = await open(k);
    const id = await running();
    const before = await dump();
    for (const r of [{ ids: [id], reason: 'x'.repeat(501) }, { failedWith: 'y'.repeat(1001) }, { failedWith: 'a\0b' }]) {
      await expect(cancelOrders(kitchen, { ...r, by: 't@test' }), JSON.stringify(r).slice(0, 60)).rejects.toThrow(UsageError);
    }
    expect(await dump()).toBe(before);
    await expect(cancelOrders(kitchen, { ids: [id], reason: 'x'.repeat(500), by: 't@test' })).resolves.toMatchObject({ cancelled: 1 });
  });

  test('the API: a reason empty or of only spaces is refused (given: never read as none), as the CLI refuses it; one with words is taken', () => {
    for (const reason of ['', '   ']) expect(() => cancelRequest({ status: 'READY', reason }, 'api x')).toThrow('reason is empty: say why, or leave "reason" out');
    expect(cancelRequest({ status: 'READY', reason: ' why ' }, 'api x').reason).toBe(' why ');
  });
});

describe('cancel: the API where', () => {
  test('object form: a key with "=" is refused (it was split at its "=": column a, value b=x); a value may hold "="', () => {
    expect(() => cancelRequest({ where: { 'a=b': 'x' } }, 'api x')).toThrow(/where: "a=b": a column name cannot contain "="/);
    expect(cancelRequest({ where: { a: 'b=x' } }, 'api x').where).toEqual([{ column: 'a', value: 'b=x' }]);
  });
});

describe('cancel: an order changing under it', () => {
  test('RUNNING at the bulk update, back READY before the running read: cancelled by a second bulk update, not "already finished"', async () => {
    const kitchen = await open(k);
    const id = await running();
    const read = kitchen.steer.running.bind(kitchen.steer);
    kitchen.steer.running = async (f) => {
      // Its waiter interrupted (or a retry, a reset --force): READY again, due now, no claim.
      await orders(k.db).updateOne({ _id: id }, { $set: { status: 'READY', due: new Date() }, $unset: { claim: '', expires: '', heartbeat: '' } });
      return read(f);
    };
    const r = await cancelOrders(kitchen, { ids: [id], by: 't@test' });
    expect(r).toMatchObject({ cancelled: 1, running: 0, finished: 0 });
    expect((await byId(k.db, id)).status).toBe('CANCELLED');
  });

  test('a stale RUNNING order (its waiter gone): its attempt LOST at its last heartbeat, counted as stale, not as running', async () => {
    const kitchen = await open(k);
    const beat = new Date(Date.now() - 120_000);
    const id = await running({ heartbeat: beat, expires: new Date(Date.now() - 60_000), due: new Date(Date.now() - 60_000) });
    const r = await cancelOrders(kitchen, { ids: [id], by: 't@test' });
    expect(r).toMatchObject({ cancelled: 1, running: 0, stale: 1 });
    expect(cancelLine(r)).toBe('Cancelled 1 order (1 was stale: its waiter is gone)');
    const o = await byId(k.db, id);
    expect(o.status).toBe('CANCELLED');
    expect(o.history).toEqual([
      { attempt: 1, waiter: 'box-a', start: expect.any(Date), stop: beat, result: 'LOST', error: `lost: no heartbeat from box-a since ${beat.toISOString()}` },
    ]);
  });

  test('a takeover claimed between the read and the write, its LOST attempt not yet written: the cancel writes it, then its own', async () => {
    const kitchen = await open(k);
    const id = await running({ expires: new Date(Date.now() - 1000), due: new Date(Date.now() - 1000) });
    const [read] = await kitchen.steer.running({ _id: id });
    // The claim (as Kitchen.claim makes it), without its second, history update yet.
    const now = new Date();
    expect(await orders(k.db).findOneAndUpdate(claimFilter(now), claimUpdate('box-b', 'tok-2', now, 60_000), { sort: CLAIM_SORT })).toBeTruthy();
    expect(await kitchen.steer.stopRunning(read!, { by: 't@test', at: new Date() }, 'CANCELLED')).toBe('stopped');
    const o = await byId(k.db, id);
    expect(o.history!.map((h) => [h.attempt, h.waiter, h.result])).toEqual([
      [1, 'box-a', 'LOST'],
      [2, 'box-b', 'CANCELLED'],
    ]);
  });

  test('--with-dependants: a RUNNING parent that finishes DONE before its cancel lands keeps its dependants (they are released, not cancelled)', async () => {
    const kitchen = await open(k);
    const parent = await running();
    const { insertedId: child } = await orders(k.db).insertOne({ status: 'WAITING', arguments: ['c'], attempts: 0, prio: 0, after: [parent], wait: 1 } as never);
    const read = kitchen.steer.running.bind(kitchen.steer);
    kitchen.steer.running = async (f) => {
      const got = await read(f);
      // Its waiter's finish lands first (fenced by the same claim): the cancel's write matches nothing.
      await orders(k.db).updateOne({ _id: parent, claim: 'tok-1' }, { $set: { status: 'DONE', stop: new Date() }, $unset: { claim: '', due: '', expires: '', heartbeat: '' } });
      return got;
    };
    const r = await cancelOrders(kitchen, { ids: [parent], withDependants: true, by: 't@test' });
    expect(r).toMatchObject({ cancelled: 0, dependants: 0, finished: 1 });
    expect((await byId(k.db, parent)).status).toBe('DONE');
    expect((await byId(k.db, child)).status).toBe('READY');
  });

  test('--with-dependants over many pages: every dependant of the cancelled orders, transitively', async () => {
    const kitchen = await open(k);
    const n = 30;
    const parents = (
      await orders(k.db).insertMany(Array.from({ length: n }, (_, i) => ({ status: 'READY', arguments: [`p${i}`], attempts: 0, prio: 0, due: new Date() }) as never))
    ).insertedIds;
    const kids = Object.values(parents).map((p, i) => ({ status: 'WAITING', arguments: [`k${i}`], attempts: 0, prio: 0, after: [p], wait: 1 }) as never);
    const kidIds = Object.values((await orders(k.db).insertMany(kids)).insertedIds);
    await orders(k.db).insertOne({ status: 'WAITING', arguments: ['g'], attempts: 0, prio: 0, after: [kidIds[0]], wait: 1 } as never);
    // Pages of 7 (10,000 in use): 5 of them.
    const page = kitchen.steer.cancelledPage.bind(kitchen.steer);
    kitchen.steer.cancelledPage = (sel, s, after) => page(sel, s, after, 7);
    const r = await cancelOrders(kitchen, { status: 'READY', withDependants: true, by: 't@test' });
    expect(r).toMatchObject({ cancelled: 2 * n + 1, dependants: n + 1 });
    expect(await orders(k.db).countDocuments({ status: { $ne: 'CANCELLED' } })).toBe(0);
  });
});
