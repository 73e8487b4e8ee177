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
import { orders } from './support/recovery.js';

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
