// Pipelines (issue 18): what the self-healing check costs an idle fleet, and its bounds.
// An idle waiter runs the full sweep (every order WAITING on ids) on its first idle poll
// and then backed off, not on every poll; and no query it makes grows with the number of
// ids waited for (the 16 MB BSON limit). Real queries on the real server; only the
// Releaser's clock is the test's.
import { MongoClient, ObjectId, type Collection } from 'mongodb';
import { expect, test } from 'vitest';
import { Kitchen } from '../src/kitchen.js';
import type { Order } from '../src/order.js';
import { PipelineQueries } from '../src/kitchen/pipeline.js';
import { Releaser, SWEEP_FIRST_MS } from '../src/pipeline/release.js';
import { useDb } from './support/kitchen.js';

const k = useDb();

/** The kitchen's pipeline queries, with `before` run ahead of each call of one of them: the test's interleaving. */
function before(q: PipelineQueries, name: keyof PipelineQueries, fn: () => unknown): PipelineQueries {
  return new Proxy(q, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== 'function') return v;
      const bound = (v as (...a: unknown[]) => unknown).bind(target);
      return key === name ? async (...a: unknown[]) => (await fn(), bound(...a)) : bound;
    },
  });
}

/** An order in `status` (RUNNING: another box's, for the next minute) and one WAITING on it: [parent, child]. */
async function parentAndChild(col: Collection<Order>, status: 'DONE' | 'RUNNING', names = ['y', 'z']): Promise<[ObjectId, ObjectId]> {
  const [parent, child] = [new ObjectId(), new ObjectId()];
  const later = new Date(Date.now() + 60_000);
  await col.insertMany([
    { _id: parent, status, arguments: [names[0]!], attempts: 1, ...(status === 'RUNNING' ? { due: later, expires: later } : {}) },
    { _id: child, status: 'WAITING', arguments: [names[1]!], attempts: 0, after: [parent], wait: 1 },
  ] as Order[]);
  return [parent, child];
}

/** An order recorded DONE (a waiter's finish). */
function done(col: Collection<Order>, id: ObjectId) {
  return col.updateOne({ _id: id }, { $set: { status: 'DONE' }, $unset: { due: '', expires: '' } });
}

async function open(): Promise<Kitchen> {
  const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
  await kitchen.ensureIndexes();
  await kitchen.pipeline.ensureIndexes();
  return kitchen;
}

test('a --wait waiter polling beside orders held by a failed one sweeps on its first idle poll, then backed off; a lost release is made at the next sweep', async () => {
  const kitchen = await open();
  try {
    const col = k.db.collection<Order>('orders');
    const failed = new ObjectId();
    const parent = new ObjectId();
    await col.insertMany([
      { _id: failed, status: 'ERROR', arguments: ['A'], attempts: 1 },
      { _id: new ObjectId(), status: 'WAITING', arguments: ['B'], attempts: 0, after: [failed], wait: 1 },
      { _id: parent, status: 'DONE', arguments: ['P'], attempts: 1 },
    ] as Order[]);
    let sweeps = 0;
    const q = before(kitchen.pipeline, 'releaseAll', () => sweeps++);
    let t = 1_000_000;
    const releaser = new Releaser(
      q,
      () => undefined,
      {},
      () => t,
    );
    for (let i = 0; i < 5; i++) expect(await releaser.idle(true)).toBe('none');
    expect(sweeps).toBe(1);
    // A release lost with its waiter (P DONE, C still WAITING): the next sweep makes it.
    const child = new ObjectId();
    await col.insertOne({ _id: child, status: 'WAITING', arguments: ['C'], attempts: 0, after: [parent], wait: 1 });
    expect(await releaser.idle(true)).toBe('none');
    t += SWEEP_FIRST_MS;
    expect(await releaser.idle(true)).toBe('released');
    expect(await col.findOne({ _id: child })).toMatchObject({ status: 'READY' });
    expect(sweeps).toBe(2);
    // Nothing more to release: sweeps 1 s, then 2 s, then 4 s apart.
    const at: number[] = [];
    for (let s = 0; s < 8; s++) {
      t += SWEEP_FIRST_MS;
      const before = sweeps;
      await releaser.idle(true);
      if (sweeps > before) at.push(s + 1);
    }
    expect(at).toEqual([1, 3, 7]);
  } finally {
    await kitchen.close();
  }
});

test('orders waiting on 25,000 ids in all: the sweep and status ask for them in finds of at most 10,000 ids (a million would pass the 16 MB BSON limit in one $in) and release them', async () => {
  const client = new MongoClient(k.uri, { monitorCommands: true });
  try {
    const col = client.db(k.name).collection<Order>('orders');
    const q = new PipelineQueries(col);
    await q.ensureIndexes();
    // 5 orders, each after 5,000 ids of orders cleaned away (nothing holds them back).
    await col.insertMany(
      Array.from({ length: 5 }, (_, i) => ({
        _id: new ObjectId(),
        status: 'WAITING',
        arguments: [`r${i}`],
        attempts: 0,
        after: Array.from({ length: 5_000 }, () => new ObjectId()),
        wait: 1,
      })),
    );
    const asked: number[] = [];
    client.on('commandStarted', (e) => {
      const $in = (e.command.filter as { _id?: { $in?: unknown[] } } | undefined)?._id?.$in;
      if (e.commandName === 'find' && Array.isArray($in)) asked.push($in.length);
    });
    expect(await q.summary()).toEqual({ waiting: 5, onFailed: 0, heldOnFailed: 0 });
    expect(await q.releaseAll()).toBe(5);
    expect(await col.countDocuments({ status: 'READY' })).toBe(5);
    expect(asked.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(50_000);
    expect(Math.max(...asked)).toBeLessThanOrEqual(10_000);
  } finally {
    await client.close();
  }
});

test('a waiter without --wait whose check sees only blocked orders, just as another waiter released the rest, claims once more before it exits', async () => {
  // R ends DONE and its dependant W goes READY (another waiter's record and release)
  // while this waiter's idle check runs; the check then sees only B, held by the
  // failed A: before, the waiter exited with W READY and nobody taking it.
  const kitchen = await open();
  try {
    const col = k.db.collection<Order>('orders');
    const [a, r, w] = [new ObjectId(), new ObjectId(), new ObjectId()];
    await col.insertMany([
      { _id: a, status: 'ERROR', arguments: ['A'], attempts: 1 },
      { _id: new ObjectId(), status: 'WAITING', arguments: ['B'], attempts: 0, after: [a], wait: 1 },
      { _id: r, status: 'RUNNING', arguments: ['R'], attempts: 1, due: new Date(Date.now() + 60_000), expires: new Date(Date.now() + 60_000) },
      { _id: w, status: 'WAITING', arguments: ['W'], attempts: 0, after: [r], wait: 1 },
    ] as Order[]);
    let raced = false;
    const q = before(kitchen.pipeline, 'blocked', async () => {
      if (raced) return;
      raced = true;
      await done(col, r);
      await col.updateOne({ _id: w }, { $set: { status: 'READY', due: new Date() }, $unset: { wait: '' } });
    });
    const releaser = new Releaser(
      q,
      () => undefined,
      {},
      () => 1_000_000,
    );
    expect(await releaser.idle(false)).toBe('again'); // claim once more: W is READY
    // Another waiter took W and ran it; this one's claim found nothing: only B is left, held by A.
    await done(col, w);
    expect(await releaser.idle(false, true)).toBe('none');
  } finally {
    await kitchen.close();
  }
});

test('a release of ours that lands while the check asks "anything WAITING?" (its count not in yet): the waiter claims once more, and exits only after a second empty check', async () => {
  // The 20-diamond CI failure: y's record ended, its release of z ran beside the check,
  // which then saw nothing WAITING and nothing freed: the waiter exited with z READY.
  const kitchen = await open();
  try {
    const col = k.db.collection<Order>('orders');
    const [y, z] = await parentAndChild(col, 'DONE');
    let releaser: Releaser | undefined;
    let raced = false;
    const q = before(kitchen.pipeline, 'anyWaiting', async () => {
      if (raced) return;
      raced = true;
      releaser!.finished(y); // y's record ends now: its release of z starts, and lands first
      while ((await col.findOne({ _id: z }))?.status === 'WAITING') await new Promise((r) => setTimeout(r, 5));
    });
    releaser = new Releaser(
      q,
      () => undefined,
      {},
      () => 1_000_000,
    );
    // The per-finish release asks "anything WAITING?" first too: seen once, so it releases at once.
    (releaser as unknown as { seen: boolean }).seen = true;
    expect(await releaser.idle(false)).toBe('released'); // z is READY: claim it
    await done(col, z);
    expect(await releaser.idle(false)).toBe('again'); // nothing WAITING: one more claim first
    expect(await releaser.idle(false, true)).toBe('none');
    expect(await releaser.idle(true)).toBe('none'); // --wait polls on, no extra claim
  } finally {
    await kitchen.close();
  }
});

test('add, load and POST release what they wrote, not every WAITING order: beside 2,000 on ids, an add --after a DONE order, and a barrier over a done stage, read only their own', async () => {
  const client = new MongoClient(k.uri, { monitorCommands: true });
  try {
    const col = client.db(k.name).collection<Order>('orders');
    const q = new PipelineQueries(col);
    await q.ensureIndexes();
    const failed = new ObjectId();
    const done = new ObjectId();
    await col.insertMany([
      { _id: failed, status: 'ERROR', arguments: ['F'], attempts: 1 },
      { _id: done, status: 'DONE', arguments: ['D'], attempts: 1 },
      ...Array.from({ length: 2_000 }, (_, i) => ({ _id: new ObjectId(), status: 'WAITING', arguments: [`w${i}`], attempts: 0, after: [failed], wait: 1 })),
    ] as Order[]);
    const mine = new ObjectId();
    const barrier = new ObjectId();
    const held = new ObjectId();
    await col.insertMany([
      { _id: mine, status: 'WAITING', arguments: ['mine'], attempts: 0, after: [done], wait: 1 },
      { _id: held, status: 'WAITING', arguments: ['held'], attempts: 0, hold: barrier, barrier },
    ] as Order[]);
    const read: number[] = [];
    client.on('commandSucceeded', (e) => {
      const batch = (e.reply as { cursor?: { firstBatch?: unknown[] } }).cursor?.firstBatch;
      if (Array.isArray(batch)) read.push(batch.length);
    });
    // Below the barrier: F is ERROR, so it holds; after the add, only the order added is read.
    expect(await q.releaseWritten({ ids: [mine] })).toEqual({ released: 1, states: new Map([[mine.toHexString(), 'READY']]) });
    expect(await col.findOne({ _id: mine })).toMatchObject({ status: 'READY' });
    expect(Math.max(...read)).toBeLessThanOrEqual(2);
    read.length = 0;
    expect(await q.releaseWritten({ ids: [held], barrier })).toEqual({ released: 0, states: new Map([[held.toHexString(), 'WAITING']]) });
    await col.deleteMany({ status: { $ne: 'WAITING' } });
    await col.deleteMany({ arguments: { $ne: ['held'] } });
    expect((await q.releaseWritten({ barrier })).released).toBe(1);
    expect(Math.max(...read)).toBeLessThanOrEqual(2);
  } finally {
    await client.close();
  }
});

test('a check that sees WAITING orders and nothing READY or RUNNING, just as another waiter records their parent DONE, releases them (the sweep reads after that answer)', async () => {
  // y RUNNING on another box when the check begins; its record lands before "anything
  // active?" answers no. A sweep made before that question saw y RUNNING, then this
  // waiter claimed once more, found nothing (z still WAITING) and, once the other
  // waiter released z, saw nothing WAITING and left.
  const kitchen = await open();
  try {
    const col = k.db.collection<Order>('orders');
    const [y, z] = await parentAndChild(col, 'RUNNING');
    const q = before(kitchen.pipeline, 'anyActive', () => done(col, y));
    const releaser = new Releaser(
      q,
      () => undefined,
      {},
      () => 1_000_000,
    );
    expect(await releaser.idle(false)).toBe('released');
    expect(await col.findOne({ _id: z })).toMatchObject({ status: 'READY' });
  } finally {
    await kitchen.close();
  }
});

test("a --wait waiter whose last check saw nothing WAITING sweeps as soon as WAITING orders appear, however far its back-off has grown (a parent's finish may have skipped their release)", async () => {
  const kitchen = await open();
  try {
    const col = k.db.collection<Order>('orders');
    const failed = new ObjectId();
    await col.insertMany([
      { _id: failed, status: 'ERROR', arguments: ['A'], attempts: 1 },
      { _id: new ObjectId(), status: 'WAITING', arguments: ['B'], attempts: 0, after: [failed], wait: 1 },
    ] as Order[]);
    let t = 1_000_000;
    const releaser = new Releaser(
      kitchen.pipeline,
      () => undefined,
      {},
      () => t,
    );
    for (let s = 0; s < 12; s++, t += SWEEP_FIRST_MS) expect(await releaser.idle(true)).toBe('none'); // back-off: 8 s by now
    await col.deleteMany({});
    expect(await releaser.idle(true)).toBe('none'); // nothing WAITING
    const [, child] = await parentAndChild(col, 'DONE', ['P', 'C']);
    t += 1;
    expect(await releaser.idle(true)).toBe('released');
    expect(await col.findOne({ _id: child })).toMatchObject({ status: 'READY' });
  } finally {
    await kitchen.close();
  }
});

test('the last check before leaving: another waiter\'s release landing between "anything active?" and the sweep keeps the waiter on', async () => {
  const kitchen = await open();
  try {
    const col = k.db.collection<Order>('orders');
    const [, z] = await parentAndChild(col, 'DONE');
    const q = before(kitchen.pipeline, 'releaseAll', () => col.updateOne({ _id: z }, { $set: { status: 'READY', due: new Date() }, $unset: { wait: '' } }));
    const releaser = new Releaser(
      q,
      () => undefined,
      {},
      () => 1_000_000,
    );
    expect(await releaser.idle(false, true)).toBe('wait');
  } finally {
    await kitchen.close();
  }
});
