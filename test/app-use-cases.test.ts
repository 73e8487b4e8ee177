// The use cases CLI and API share (src/app/), called in-process: each checks its input,
// writes through the kitchen and returns a plain result. The CLI's and the API's own
// answers are tested end to end elsewhere (pipeline.test.ts: a lost release made by
// `waiter reset` and by POST /api/reset; serve-api.test.ts; cli-*.test.ts).
import { Readable } from 'node:stream';
import { ObjectId } from 'mongodb';
import { expect, test } from 'vitest';
import { addMany, addOne } from '../src/app/add.js';
import { cleanOrders } from '../src/app/clean.js';
import { loadOrders } from '../src/app/load.js';
import { resetOrders } from '../src/app/reset.js';
import { findOrder, showOrder } from '../src/app/show.js';
import { status } from '../src/app/status.js';
import { UsageError } from '../src/errors.js';
import { Kitchen } from '../src/kitchen.js';
import type { Order } from '../src/order.js';
import type { WaitAsked } from '../src/pipeline/wait.js';
import { useDb } from './support/kitchen.js';

const db = useDb();

async function withKitchen(fn: (k: Kitchen) => Promise<void>): Promise<void> {
  const k = await Kitchen.open({ uri: db.uri, db: db.name, list: 'orders' });
  try {
    await k.ensureIndexes();
    await fn(k);
  } finally {
    await k.close();
  }
}

const orders = () => db.db.collection<Order>('orders');
const done = (id: ObjectId) => orders().updateOne({ _id: id }, { $set: { status: 'DONE' }, $unset: { due: '' } });
const statusOf = async (id: ObjectId) => (await orders().findOne({ _id: id }))?.status;

test('addOne: WAITING on an order in the list; an id not in the list is a UsageError and writes nothing; a dependency DONE already releases it at once', async () => {
  await withKitchen(async (k) => {
    const x = (await addOne(k, { args: ['x'], unique: false }))!.id;
    const y = (await addOne(k, { args: ['y'], unique: false, wait: { after: [x] } }))!.id;
    expect(await statusOf(y)).toBe('WAITING');
    const missing = new ObjectId();
    await expect(addOne(k, { args: ['z'], unique: false, wait: { after: [missing] } })).rejects.toThrow(
      new UsageError(`--after: no order ${missing.toHexString()} in the list; nothing added`),
    );
    expect(await orders().countDocuments({})).toBe(2);
    await done(x);
    const z = (await addOne(k, { args: ['z'], unique: false, wait: { after: [x] } }))!;
    expect([z.status, await statusOf(z.id)]).toEqual(['READY', 'READY']);
    expect(await addOne(k, { args: ['u'], unique: true })).not.toBeNull();
    expect(await addOne(k, { args: ['u'], unique: true })).toBeNull();
  });
});

test("addMany: the API's rows in one insert; an `after` id not in the list is a UsageError (the API's 400) with the API's words, nothing written", async () => {
  await withKitchen(async (k) => {
    const now = new Date();
    const { ids } = await addMany(k, { rows: [['a'], ['b']], due: [now, now], priority: [0, 2], after: [undefined, undefined] });
    expect(ids).toHaveLength(2);
    const missing = new ObjectId();
    const refused = addMany(k, { rows: [['c']], due: [now], priority: [0], after: [{ after: [missing] }] });
    await expect(refused).rejects.toThrow(new UsageError(`after: no order ${missing.toHexString()} in the list; nothing added`));
    expect(await orders().countDocuments({})).toBe(2);
    await done(ids[0]!);
    const released = await addMany(k, { rows: [['c'], ['d']], due: [now, now], priority: [0, 0], after: [{ after: [ids[0]!] }, { after: [ids[1]!], any: true }] });
    expect(await statusOf(released.ids[0]!)).toBe('READY');
    expect(await statusOf(released.ids[1]!)).toBe('WAITING');
    expect(released.status).toEqual(['READY', 'WAITING']);
  });
});

test("addMany takes add's extras (addOne is its one row): unique, column names, --after-all's barrier, and the option named in a refusal", async () => {
  await withKitchen(async (k) => {
    const now = new Date();
    const row = (args: string[], after?: WaitAsked) => ({ rows: [args], due: [now], priority: [0], after: [after] });
    const { ids } = await addMany(k, row(['u']), { unique: true, names: ['n'] });
    expect(ids).toHaveLength(1);
    expect((await orders().findOne({ _id: ids[0]! }))?.columns).toEqual(expect.any(String));
    expect(await addMany(k, row(['u']), { unique: true })).toEqual({ ids: [], status: [] });
    const held = await addMany(k, row(['h'], { all: true }));
    expect(await statusOf(held.ids[0]!)).toBe('WAITING');
    expect(held.status).toEqual(['WAITING']);
    expect((await orders().findOne({ _id: held.ids[0]! }))?.hold).toBeDefined();
    const missing = new ObjectId();
    await expect(addMany(k, row(['m'], { after: [missing], any: true }), { what: '--after-any' })).rejects.toThrow(
      new UsageError(`--after-any: no order ${missing.toHexString()} in the list; nothing added`),
    );
    expect(await orders().countDocuments({})).toBe(2);
  });
});

test('resetOrders: ERROR back to READY, and the release check: a WAITING order whose dependency is DONE (its release lost with a waiter) goes READY', async () => {
  await withKitchen(async (k) => {
    const x = (await addOne(k, { args: ['x'], unique: false }))!.id;
    const y = (await addOne(k, { args: ['y'], unique: false, wait: { after: [x] } }))!.id;
    const e = (await addOne(k, { args: ['e'], unique: false }))!.id;
    await orders().updateOne({ _id: e }, { $set: { status: 'ERROR' }, $unset: { due: '' } });
    await done(x); // as if its waiter died before releasing y
    expect(await resetOrders(k, { statuses: ['ERROR', 'RUNNING'], force: false })).toEqual({ reset: 1, leftAlone: 0, dryRun: false });
    expect(await statusOf(e)).toBe('READY');
    expect(await statusOf(y)).toBe('READY');
  });
});

test('status: the report, and with storage what live output and result files take, with oldest the READY order waiting longest (waiter status; the API asks without either)', async () => {
  await withKitchen(async (k) => {
    await addOne(k, { args: ['a'], unique: false });
    const plain = await status(k);
    expect(plain).toMatchObject({ READY: 1, total: 1 });
    expect(plain).not.toHaveProperty('storage');
    expect(plain).not.toHaveProperty('oldestReadySince');
    expect(plain).not.toHaveProperty('oldestReadySeconds');
    const full = await status(k, { storage: true, oldest: true });
    // The clock's figures move between the two calls: when, and the ETA's time.
    const { storage, oldestReadySince, oldestReadySeconds, asOf: _a, eta: _e, ...rest } = full;
    const { asOf: _b, eta: _f, ...plainRest } = plain;
    expect(rest).toEqual(plainRest);
    expect(oldestReadySeconds).toBe((Date.parse(full.asOf) - Date.parse(oldestReadySince!)) / 1000);
    expect(Object.keys(storage).sort()).toEqual([
      'checkpointBytes',
      'checkpointDiskBytes',
      'checkpointFiles',
      'fileBytes',
      'fileDiskBytes',
      'files',
      'outputBytes',
      'outputDiskBytes',
      'outputDocuments',
    ]);
    expect(storage.files).toBe(0);
  });
});

test('findOrder and showOrder: the order with its column names; show adds its files and what it waits for; null when not in the list', async () => {
  await withKitchen(async (k) => {
    const x = (await addOne(k, { args: ['1', '2'], names: ['a', 'b'], unique: false }))!.id;
    const y = (await addOne(k, { args: ['y'], unique: false, wait: { after: [x] } }))!.id;
    expect(await findOrder(k, new ObjectId())).toBeNull();
    expect(await showOrder(k, new ObjectId())).toBeNull();
    const found = (await findOrder(k, x))!;
    expect(found.names).toEqual(['a', 'b']);
    const shown = (await showOrder(k, y))!;
    expect(shown).toMatchObject({ names: null, files: [], waits: { after: [{ id: x.toHexString(), status: 'READY' }] } });
    expect((await showOrder(k, x))!.waits).toBeUndefined();
  });
});

test('cleanOrders: --older-than without --outputs is refused before anything is deleted; a clean of one state, and of outputs', async () => {
  await withKitchen(async (k) => {
    const x = (await addOne(k, { args: ['x'], unique: false }))!.id;
    await addOne(k, { args: ['y'], unique: false });
    await expect(cleanOrders(k, { olderThanMs: 1000 })).rejects.toThrow(UsageError);
    expect(await orders().countDocuments({})).toBe(2);
    await done(x);
    expect(await cleanOrders(k, { outputs: true, status: 'DONE' })).toEqual({ outputs: { orders: 1, slots: 0, files: 0, checkpoints: 0 } });
    expect(await cleanOrders(k, { status: 'DONE' })).toEqual({ orders: 1 });
    expect(await orders().countDocuments({})).toBe(1);
  });
});

test('loadOrders: rows with their column names, counted as inserted; --after-all over a list all DONE is released at once; --unique loaded again adds nothing', async () => {
  await withKitchen(async (k) => {
    const x = (await addOne(k, { args: ['x'], unique: false }))!.id;
    await done(x);
    let opened = 0;
    let inserted = 0;
    const rows = () => {
      opened++;
      return Readable.from([
        ['1', 'a'],
        ['2', 'b'],
        ['3', 'c'],
      ]);
    };
    let rejoined = 0;
    const firstRow = async () => ['1', 'a'];
    const r = await loadOrders(k, {
      rows,
      expected: 3,
      names: ['n', 'v'],
      unique: true,
      wait: { all: true },
      firstRow,
      rejoined: () => rejoined++,
      inserted: (n) => (inserted += n),
    });
    expect(r).toEqual({ inserted: 3, existing: 0 });
    expect([opened, inserted]).toEqual([1, 3]);
    const loaded = await orders()
      .find({ arguments: { $size: 2 } })
      .toArray();
    expect(loaded.map((o) => o.status)).toEqual(['READY', 'READY', 'READY']);
    expect((await findOrder(k, loaded[0]!._id))!.names).toEqual(['n', 'v']);
    // Loaded again: nothing new; its first row is in the list, but released: no stage to rejoin.
    const again = await loadOrders(k, { rows, expected: 3, unique: true, wait: { all: true }, firstRow, rejoined: () => rejoined++ });
    expect(again).toEqual({ inserted: 0, existing: 3 });
    expect(rejoined).toBe(0);
  });
});
