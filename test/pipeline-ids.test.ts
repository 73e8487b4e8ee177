// Pipelines (issue 18): the ids of a load --after-all. Its orders must sort above their
// barrier (else the stage is never released) and must not be ids another process makes.
// bson's counter and the clock are forced here: the counter near its wrap, the clock
// stepped back, another box's newest _id ahead.
import { ObjectId } from 'mongodb';
import { afterEach, expect, test, vi } from 'vitest';
import { Kitchen } from '../src/kitchen.js';
import type { Order } from '../src/order.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const hex = (id: ObjectId) => id.toHexString();
/** bson's process-wide counter (private): the next plain ObjectId takes index + 1, mod 2^24. */
const counter = ObjectId as unknown as { index: number };

afterEach(() => vi.restoreAllMocks());

async function open(): Promise<Kitchen> {
  const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
  await kitchen.ensureIndexes();
  await kitchen.pipeline.ensureIndexes();
  return kitchen;
}

/** `n` ids of the barrier's maker (plain ObjectIds when it has none), made with Date.now() at `ms`. */
function idsAt(made: { ids?: () => ObjectId }, n: number, ms: number): ObjectId[] {
  const spy = vi.spyOn(Date, 'now').mockReturnValue(ms);
  try {
    return Array.from({ length: n }, () => (made.ids ? made.ids() : new ObjectId()));
  } finally {
    spy.mockRestore();
  }
}

test("a load --after-all whose ids cross bson's counter wrap, or a clock stepped back, keeps them above the barrier and in order: the stage is released", async () => {
  const kitchen = await open();
  try {
    const [done] = (await kitchen.insertOrders([['D']])).ids;
    await k.db.collection<Order>('orders').updateOne({ _id: done }, { $set: { status: 'DONE' }, $unset: { due: '' } });
    counter.index = 0xfffffe; // the barrier takes 0xffffff, the next id 0
    const made = await kitchen.pipeline.newBarrier();
    const second = +made.barrier.getTimestamp();
    // Same second as the barrier, counter wrapped; then the clock a minute back (NTP, a VM resumed).
    const ids = [...idsAt(made, 3, second + 500), ...idsAt(made, 3, second - 60_000)];
    for (const [i, id] of ids.entries()) expect(hex(id) > hex(i ? ids[i - 1]! : made.barrier), `id ${i} above the one before (and the barrier)`).toBe(true);
    const queue = [...ids];
    await kitchen.insertOrders(
      ids.map((_, i) => [`r${i}`]),
      { wait: { barrier: made.barrier }, ids: () => queue.shift()! },
    );
    expect(await kitchen.pipeline.releaseFor(done!)).toBe(6);
    expect(await k.db.collection<Order>('orders').countDocuments({ status: 'READY' })).toBe(6);
  } finally {
    await kitchen.close();
  }
});

test("a newest _id ahead (another box's clock): the barrier and its orders are above it and are not the ids that box makes next", async () => {
  const kitchen = await open();
  try {
    // Another process's id two minutes ahead: its own 5 bytes (not ours), counter 0x10.
    const ours = hex(new ObjectId()).slice(8, 18);
    const bytes = ours === 'aabbccddee' ? 'aabbccddef' : 'aabbccddee';
    const seconds = Math.floor(Date.now() / 1000) + 120;
    const other = (n: number) => new ObjectId(`${seconds.toString(16).padStart(8, '0')}${bytes}${n.toString(16).padStart(6, '0')}`);
    await k.db.collection<Order>('orders').insertOne({ _id: other(0x10), status: 'DONE', arguments: ['theirs'], attempts: 1 });
    const made = await kitchen.pipeline.newBarrier();
    expect(hex(made.barrier) > hex(other(0x10))).toBe(true);
    const ids = await kitchen.insertOrders(
      Array.from({ length: 20 }, (_, i) => [`r${i}`]),
      { wait: { barrier: made.barrier }, ...(made.ids ? { ids: made.ids } : {}) },
    );
    const got = ids.ids.map(hex);
    expect([...got].sort()).toEqual(got);
    expect(got.every((id) => id > hex(made.barrier))).toBe(true);
    // That box goes on inserting in that second: its next ids are not taken.
    const theirs: Order[] = Array.from({ length: 100 }, (_, i) => ({ _id: other(0x11 + i), status: 'READY', arguments: [`t${i}`], attempts: 0, due: new Date(), prio: 0 }));
    await expect(k.db.collection<Order>('orders').insertMany(theirs)).resolves.toMatchObject({ insertedCount: 100 });
    expect(await kitchen.pipeline.releaseFor(other(0x10))).toBe(0); // their READY orders are below the barrier
    await k.db.collection<Order>('orders').updateMany({ _id: { $in: theirs.map((t) => t._id) } }, { $set: { status: 'DONE' }, $unset: { due: '' } });
    expect(await kitchen.pipeline.releaseFor(other(0x10))).toBe(20);
  } finally {
    await kitchen.close();
  }
});

test("an order added --after one held by a barrier an hour ahead (another box's clock) gets an id above it: the barrier is not held back by its own dependant (a deadlock)", async () => {
  const kitchen = await open();
  try {
    const [done] = (await kitchen.insertOrders([['D']])).ids;
    await k.db.collection<Order>('orders').updateOne({ _id: done }, { $set: { status: 'DONE' }, $unset: { due: '' } });
    const hour = Math.floor(Date.now() / 1000) + 3600;
    const barrier = ObjectId.createFromTime(hour);
    const p = new ObjectId(ObjectId.generate(hour + 1));
    await k.db.collection<Order>('orders').insertOne({ _id: p, status: 'WAITING', arguments: ['P'], attempts: 0, hold: barrier, barrier });
    const [z] = (await kitchen.insertOrders([['Z']], { wait: { after: [p] } })).ids;
    expect(hex(z!) > hex(p), 'Z above what it waits for').toBe(true);
    // And per order of a batch (the API): each above its own.
    const q = new ObjectId(ObjectId.generate(hour + 7200));
    const batch = (await kitchen.insertOrders([['a'], ['b'], ['c']], { wait: [{ after: [p] }, undefined, { after: [done!, q] }] })).ids;
    expect(hex(batch[0]!) > hex(p) && hex(batch[2]!) > hex(q)).toBe(true);
    await k.db.collection<Order>('orders').deleteMany({ _id: { $in: batch } });
    expect(await kitchen.pipeline.releaseFor(done!)).toBe(1); // the barrier: P
    await k.db.collection<Order>('orders').updateOne({ _id: p }, { $set: { status: 'DONE' }, $unset: { due: '' } });
    expect(await kitchen.pipeline.releaseFor(p)).toBe(1); // Z
    expect(await k.db.collection<Order>('orders').findOne({ _id: z })).toMatchObject({ status: 'READY' });
  } finally {
    await kitchen.close();
  }
});
