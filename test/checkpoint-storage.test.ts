// What checkpoints (deliver --checkpoint, src/checkpoint/) take and how they are freed:
// `status` counts the `<list>.checkpoints` bucket in its storage line and --json, and
// `clean --outputs` deletes the checkpoints of the finished orders it selects (their
// `checkpoint` unset: a reset starts them from scratch), keeping those that may still
// resume. Sets stored in-process (kitchen.checkpoints.files.upload), no deliver run.
import { Readable } from 'node:stream';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { status } from '../src/app/status.js';
import { Kitchen } from '../src/kitchen.js';
import type { State } from '../src/order.js';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { byId, orders } from './support/recovery.js';

const k = useDb();
const HOUR = 3_600_000;

/** An order in `status` (finished `stopAgoMs` ago) with a current checkpoint of one file of `bytes` bytes; returns its id. */
async function withCheckpoint(kitchen: Kitchen, state: State, bytes: number, stopAgoMs = 2 * HOUR): Promise<ObjectId> {
  const id = new ObjectId();
  const set = new ObjectId();
  await kitchen.checkpoints.files.upload({ order: id, attempt: 1, path: 'state.bin', set }, Readable.from([Buffer.alloc(bytes, 7)]));
  const finished = state === 'DONE' || state === 'ERROR' || state === 'CANCELLED';
  await orders(k.db).insertOne({
    _id: id,
    status: state,
    arguments: [state],
    attempts: 1,
    prio: 0,
    ...(state === 'READY' ? { due: new Date() } : {}),
    ...(finished ? { start: new Date(Date.now() - stopAgoMs - 1000), stop: new Date(Date.now() - stopAgoMs) } : {}),
    checkpoint: { set, attempt: 1, at: new Date(), files: 1, bytes },
  });
  return id;
}

async function open<T>(fn: (kitchen: Kitchen) => Promise<T>): Promise<T> {
  const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
  try {
    return await fn(kitchen);
  } finally {
    await kitchen.close();
  }
}

const checkpointFiles = () => k.db.collection('orders.checkpoints.files').countDocuments({});
const checkpointChunks = () => k.db.collection('orders.checkpoints.chunks').countDocuments({});

describe('status', () => {
  test("counts the checkpoints' files and bytes in its storage (text and --json), and on disk", async () => {
    await open((kitchen) => withCheckpoint(kitchen, 'ERROR', 300_000));
    const s = await open((kitchen) => status(kitchen, { storage: true }));
    expect(s.storage.checkpointFiles).toBe(1);
    expect(s.storage.checkpointBytes).toBeGreaterThanOrEqual(300_000);
    expect(s.storage.checkpointDiskBytes).toBeGreaterThan(0);
    const json = await waiter(k, ['status', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const { storage } = JSON.parse(json.stdout);
    expect(storage.checkpointFiles).toBe(1);
    expect(storage.checkpointBytes).toBeGreaterThanOrEqual(300_000);
    const text = await waiter(k, ['status']);
    const line = text.stdout.split('\n').find((l) => l.startsWith('stored'));
    expect(line).toMatch(/, \d+(\.\d)? KiB in 1 checkpoint file \(the server's data size; .* on disk\)$/);
    // The disk figure is the total: at least the checkpoint's own.
    const disk = /; (\S+ \S+) on disk/.exec(line!)![1]!;
    expect(disk).not.toBe('0 B');
  });
});

describe('clean --outputs', () => {
  test('finds the orders holding checkpoint files page by page, each once, an order with more files than a page alone', async () => {
    const [a, b, c] = [new ObjectId(), new ObjectId(), new ObjectId()].sort((x, y) => x.toHexString().localeCompare(y.toHexString()));
    await open(async (kitchen) => {
      const files = kitchen.checkpoints.files;
      const set = new ObjectId();
      for (const [order, paths] of [
        [a!, ['1']],
        [b!, ['1', '2', '3']],
        [c!, ['1']],
      ] as const) {
        for (const path of paths) await files.upload({ order, attempt: 1, path, set }, Readable.from([Buffer.from(path)]));
      }
      const pages: string[][] = [];
      for (let page = await files.holders(undefined, 2); page.length > 0; page = await files.holders(page.at(-1), 2)) pages.push(page.map((id) => id.toHexString()));
      expect(pages).toEqual([[a!.toHexString(), b!.toHexString()], [c!.toHexString()]]);
      expect(await files.removeOf([a!, b!, new ObjectId()])).toEqual({ files: 4, orders: 2 });
    });
  });

  test("frees the checkpoint of a finished order it selects and says so; the order's checkpoint is gone (a reset starts from scratch)", async () => {
    const id = await open((kitchen) => withCheckpoint(kitchen, 'ERROR', 1000));
    const r = await waiter(k, ['clean', '--outputs', '--status', 'ERROR']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('Freed the output of 1 order (0 documents) and 1 checkpoint; the orders are kept.');
    expect([await checkpointFiles(), await checkpointChunks()]).toEqual([0, 0]);
    expect((await byId(k.db, id)).checkpoint).toBeUndefined();
    expect((await waiter(k, ['show', id.toHexString()])).stdout).not.toMatch(/resumes/);
  });

  test('keeps the checkpoints of orders that may still resume (READY, RUNNING, WAITING, HELD), whatever the selection; frees those left over', async () => {
    const ids = await open(async (kitchen) => {
      const kept = { READY: await withCheckpoint(kitchen, 'READY', 10), RUNNING: await withCheckpoint(kitchen, 'RUNNING', 10) };
      const more = { WAITING: await withCheckpoint(kitchen, 'WAITING', 10), HELD: await withCheckpoint(kitchen, 'HELD', 10) };
      const freed = {
        ERROR: await withCheckpoint(kitchen, 'ERROR', 10),
        CANCELLED: await withCheckpoint(kitchen, 'CANCELLED', 10),
        DONE: await withCheckpoint(kitchen, 'DONE', 10),
      };
      // Files no order names: of an order cleaned away by a clean interrupted before its checkpoints went.
      await kitchen.checkpoints.files.upload({ order: new ObjectId(), attempt: 1, path: 'gone', set: new ObjectId() }, Readable.from([Buffer.from('x')]));
      return { kept: { ...kept, ...more }, freed };
    });
    for (const state of ['READY', 'RUNNING', 'WAITING', 'HELD']) {
      const r = await waiter(k, ['clean', '--outputs', '--status', state]);
      expect(r.stdout).toBe('Freed the output of 1 order (0 documents); the orders are kept.');
    }
    expect(await checkpointFiles()).toBe(8);
    // Every order: the finished ones' checkpoints go (and the one of no order), the others' stay.
    const all = await waiter(k, ['clean', '--outputs']);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.stdout).toBe('Freed the output of every order (0 documents) and 4 checkpoints; the orders are kept.');
    expect(await checkpointFiles()).toBe(4);
    for (const [state, id] of Object.entries(ids.kept)) expect((await byId(k.db, id)).checkpoint, state).toBeDefined();
    for (const [state, id] of Object.entries(ids.freed)) expect((await byId(k.db, id)).checkpoint, state).toBeUndefined();
  });

  test('--older-than: only the checkpoints of orders that finished before then', async () => {
    const [old, recent] = await open(async (kitchen) => [await withCheckpoint(kitchen, 'ERROR', 10, 48 * HOUR), await withCheckpoint(kitchen, 'ERROR', 10, HOUR)]);
    const r = await waiter(k, ['clean', '--outputs', '--older-than', '1d']);
    expect(r.stdout).toBe('Freed the output of 1 order (0 documents) and 1 checkpoint; the orders are kept.');
    expect((await byId(k.db, old)).checkpoint).toBeUndefined();
    expect((await byId(k.db, recent)).checkpoint).toBeDefined();
    expect(await checkpointFiles()).toBe(1);
  });

  test("an order reset, claimed and checkpointed again while the clean runs keeps its new attempt's files (only files of the attempts it read are deleted)", async () => {
    const id = await open((kitchen) => withCheckpoint(kitchen, 'ERROR', 1000));
    const freed = await open(async (kitchen) => {
      const files = kitchen.checkpoints.files;
      const removeOf = files.removeOf.bind(files);
      // The race: between the clean's read of the order (ERROR, attempt 1) and its delete, the
      // order is reset, claimed as attempt 2, and that attempt makes a new set current.
      files.removeOf = async (...a: Parameters<typeof removeOf>) => {
        const set = new ObjectId();
        await files.upload({ order: id, attempt: 2, path: 'state.bin', set }, Readable.from([Buffer.alloc(500, 8)]));
        await orders(k.db).updateOne({ _id: id }, { $set: { status: 'RUNNING', attempts: 2, checkpoint: { set, attempt: 2, at: new Date(), files: 1, bytes: 500 } } });
        return removeOf(...a);
      };
      return kitchen.cleanOutputs({ status: 'ERROR' });
    });
    expect(freed.checkpoints).toBe(1);
    const left = await k.db.collection('orders.checkpoints.files').find({}).toArray();
    expect(left.map((f) => (f.metadata as { attempt: number }).attempt)).toEqual([2]);
    expect((await byId(k.db, id)).checkpoint).toMatchObject({ attempt: 2 });
  });
});
