// What `waiters` costs with dead waiters in the registry (review 3 item 2): their counts
// come from the orders, for all of them in one batch of queries, and once they can no
// longer change they are written back to their documents (settled) and read from there.
// Counted as the commands the driver sends (command monitoring on a client of our own).
import { MongoClient, ObjectId, type Document } from 'mongodb';
import { afterAll, expect, inject, test } from 'vitest';
import { FleetQueries } from '../src/kitchen/fleet.js';
import { waitersReport } from '../src/app/waiters.js';
import type { WaiterDoc } from '../src/fleet.js';
import type { Order } from '../src/order.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const client = new MongoClient(inject('mongodbUri'), { monitorCommands: true });
const sent: Document[] = [];
client.on('commandStarted', (e) => {
  if (['find', 'aggregate', 'update', 'count', 'getMore'].includes(e.commandName)) sent.push({ name: e.commandName, ...e.command });
});
afterAll(() => client.close());

const fleet = () => {
  const db = client.db(k.name);
  return new FleetQueries(db.collection<Order>('orders'), db.collection<WaiterDoc>('orders.waiters'));
};

/** N dead waiters box-0…: each recorded 3 at its last write (`ago` ms ago), then finished one order its registry never heard of. */
async function dead(n: number, ago: number): Promise<void> {
  const now = Date.now();
  const t = (ms: number) => new Date(now - ms);
  await k.db.collection('orders.waiters').insertMany(
    Array.from({ length: n }, (_, i) => ({
      _id: `dead-${i}`,
      name: `box-${i}`,
      host: 'h',
      pid: i,
      command: ['x'],
      concurrency: 1,
      lease: 60_000,
      heartbeat: 10_000,
      started: t(ago + 100_000),
      seen: t(ago),
      expires: t(ago - 60_000),
      running: [],
      delivered: 3,
      failed: 0,
    })) as never[],
  );
  await k.db.collection('orders').insertMany(
    Array.from({ length: n }, (_, i) => ({
      _id: new ObjectId(),
      status: i % 2 ? 'ERROR' : 'DONE',
      arguments: [`${i}`],
      attempts: 1,
      waiter: `box-${i}`,
      stop: t(ago - 5000),
      history: [{ attempt: 1, waiter: `box-${i}`, start: t(ago - 6000), stop: t(ago - 5000), result: i % 2 ? 'ERROR' : 'DONE' }],
    })),
  );
}

const figures = (rs: Awaited<ReturnType<typeof waitersReport>>) => rs.map((w) => [w.id, w.state, w.delivered, w.failed, w.seen, w.countsAtLeast ?? false]);

test('20 dead waiters: one batch of queries, whatever their number; settled once, then two queries and the same figures', async () => {
  const ago = 10 * 60_000; // long past seen + lease + lease: final
  await dead(20, ago);
  sent.length = 0;
  const first = await waitersReport({ fleet: fleet() }, { all: false });
  expect(first.map((w) => [w.state, w.delivered, w.failed])).toEqual(Array.from({ length: 20 }, (_, i) => ['STALE', 4, i % 2]));
  // The registry, the RUNNING orders and the names' documents, the attempts (three at once), one settling write.
  expect(sent.filter((c) => c.name !== 'update').length).toBeLessThanOrEqual(6);
  expect(sent.filter((c) => c.name === 'update')).toHaveLength(1);
  const docs = await k.db.collection('orders.waiters').find({}).sort({ _id: 1 }).toArray();
  expect(docs.every((d) => d.settled && d.settled.delivered === 4)).toBe(true);

  sent.length = 0;
  const again = await waitersReport({ fleet: fleet() }, { all: false });
  expect(figures(again)).toEqual(figures(first));
  // The registry and the RUNNING orders of their names; no history read, nothing written.
  expect(sent.map((c) => c.name)).toEqual(['find', 'find']);
  expect(JSON.stringify(sent)).not.toContain('history.waiter');
});

test('just past their lease (not final yet): one batch of queries, nothing written, the figures right', async () => {
  await dead(20, 70_000);
  sent.length = 0;
  const rs = await waitersReport({ fleet: fleet() }, { all: false });
  expect(rs.map((w) => [w.state, w.delivered, w.failed])).toEqual(Array.from({ length: 20 }, (_, i) => ['STALE', 4, i % 2]));
  expect(sent.filter((c) => c.name === 'update')).toEqual([]);
  expect(sent.length).toBeLessThanOrEqual(6);
  expect(await k.db.collection('orders.waiters').countDocuments({ settled: { $exists: true } })).toBe(0);
});

test('the settling write is fenced: a document written since it was read (the waiter came back) is left alone', async () => {
  await dead(1, 10 * 60_000);
  const doc = (await k.db.collection<WaiterDoc>('orders.waiters').findOne({ _id: 'dead-0' }))!;
  // It comes back: its own write, counts of its own.
  await fleet().saveWaiter({ ...doc, seen: new Date(), expires: new Date(Date.now() + 60_000), delivered: 9 });
  await fleet().settleWaiters([{ id: 'dead-0', seen: doc.seen, settled: { delivered: 4, failed: 0, seen: doc.seen, atLeast: false } }]);
  const now = (await k.db.collection('orders.waiters').findOne({ _id: 'dead-0' as never }))!;
  expect(now.settled).toBeUndefined();
  expect(now.delivered).toBe(9);
  // And a settled one that comes back: its own next write clears what a reader settled.
  await fleet().settleWaiters([{ id: 'dead-0', seen: now.seen, settled: { delivered: 4, failed: 0, seen: now.seen, atLeast: false } }]);
  expect((await k.db.collection('orders.waiters').findOne({ _id: 'dead-0' as never }))!.settled).toMatchObject({ delivered: 4 });
  await fleet().saveWaiter({ ...(now as unknown as WaiterDoc), seen: new Date(), delivered: 10 });
  const back = await waitersReport({ fleet: fleet() }, { all: false });
  expect(back[0]).toMatchObject({ state: 'IDLE', delivered: 10 });
  expect((await k.db.collection('orders.waiters').findOne({ _id: 'dead-0' as never }))!.settled).toBeUndefined();
});
