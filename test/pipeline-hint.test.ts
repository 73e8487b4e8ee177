// A pipeline query hints {status: 1, _id: 1} only on a list that has it (issue 25 item
// 8): MongoDB and FerretDB 2.x refuse a hint to a missing index, and a list need not
// have been made by Kitchen.ensureIndexes. The test server ignores hints, so what is
// asserted is the command the driver sends (command monitoring on a client of our own).
import { MongoClient, ObjectId, type Document } from 'mongodb';
import { afterAll, expect, inject, test } from 'vitest';
import { PipelineQueries } from '../src/kitchen/pipeline.js';
import type { Order } from '../src/order.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const client = new MongoClient(inject('mongodbUri'), { monitorCommands: true });
const sent: Document[] = [];
client.on('commandStarted', (e) => {
  if (e.commandName === 'find' || e.commandName === 'aggregate') sent.push(e.command);
});
afterAll(() => client.close());

test('a list made by hand (no {status, _id} index): no hint sent, the answer right; once the index is there, hinted', async () => {
  const orders = client.db(k.name).collection<Order>('orders');
  const barrier = new ObjectId();
  const below = new ObjectId(ObjectId.generate(Math.floor(Date.now() / 1000) - 60));
  await orders.insertOne({ _id: below, status: 'READY', arguments: ['a'], attempts: 0 });
  const q = new PipelineQueries(orders);
  expect((await q.belowBarrier(barrier))?._id.toHexString()).toBe(below.toHexString());
  expect(await q.barrierState(barrier)).toEqual({ unfinished: 1, failed: 0 });
  const mine = sent.filter((c) => c.find === 'orders' || c.aggregate === 'orders');
  expect(mine.length).toBeGreaterThan(0);
  expect(mine.filter((c) => c.hint !== undefined)).toEqual([]);

  sent.length = 0;
  await orders.createIndex({ status: 1, _id: 1 });
  expect((await q.belowBarrier(barrier))?._id.toHexString()).toBe(below.toHexString());
  expect(sent.filter((c) => c.find === 'orders').map((c) => c.hint)).toEqual([{ status: 1, _id: 1 }]);
});
