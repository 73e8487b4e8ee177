// deliver --checkpoint (src/checkpoint/): the door, the pure parts, the store and the
// restore against a real server (fencing, partial and corrupt sets), and two end-to-end
// runs of the resumable counter (fixtures/counter.sh): a box killed -9 mid-way, and
// --checkpoint-exit-code restarting in place.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { checkpointOptions, type CheckpointOptions } from '../src/checkpoint/options.js';
import { incomplete, restoreCheckpoint, safePath } from '../src/checkpoint/restore.js';
import { resumedFrom } from '../src/checkpoint/shown.js';
import { storeCheckpoint, type StoreQueries } from '../src/checkpoint/store.js';
import { attemptLine } from '../src/commands/show.js';
import { UsageError } from '../src/errors.js';
import { Kitchen } from '../src/kitchen.js';
import type { Claimed, Order } from '../src/order.js';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, background, byId, FAST, killAfterTest, tempDir } from './support/recovery.js';

const k = useDb();
const COUNTER = join(FIXTURES, 'counter.sh');
const OPTS: CheckpointOptions = { globs: ['count', 'state'], everyMs: 1000, maxBytes: 1024, timeoutMs: 30_000 };

describe('the door', () => {
  const refused = (argv: Record<string, unknown>, workdir = true) => {
    try {
      checkpointOptions(argv, workdir);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return (err as Error).message;
    }
    throw new Error('not refused');
  };
  test('--checkpoint needs --workdir; its options need it; globs stay in the folder; the exit code is 1-125', () => {
    expect(refused({ checkpoint: ['count'] }, false)).toMatch(/--checkpoint needs --workdir/);
    expect(refused({ 'checkpoint-every': '1s' })).toBe('--checkpoint-every goes with --checkpoint');
    expect(refused({ checkpoint: ['../x'] })).toMatch(/^--checkpoint: '..\/x' leaves the order's folder/);
    expect(refused({ checkpoint: ['c'], 'checkpoint-exit-code': '0' })).toMatch(/not an exit code from 1 to 125/);
    expect(refused({ checkpoint: ['c'], 'checkpoint-exit-code': '143' })).toMatch(/not an exit code/);
    expect(refused({ checkpoint: ['c'], 'checkpoint-max': '0' })).toMatch(/--checkpoint-max: 0/);
    expect(checkpointOptions({}, true)).toBeUndefined();
    expect(checkpointOptions({ checkpoint: ['count'], 'checkpoint-every': '2s', 'checkpoint-exit-code': '85', 'checkpoint-max': '1M' }, true)).toMatchObject({
      globs: ['count'],
      everyMs: 2000,
      exitCode: 85,
      maxBytes: 1024 * 1024,
    });
  });

  test('a stored path is restored only below the folder, a set only whole; resumedFrom reads the attempt', () => {
    for (const bad of ['', '/etc/x', 'a/../b', '../b', 'a//b', './a', '.waiter-checkpoint-ready', 'a\\b']) expect(safePath(bad), bad).toBe(false);
    for (const ok of ['count', 'a/b.bin', '.hidden']) expect(safePath(ok), ok).toBe(true);
    const f = (path: string, length: number) => ({ length, metadata: { path } }) as never;
    expect(incomplete({ files: 2, bytes: 3 }, [f('a', 1)])).toBe('1 of its 2 files stored');
    expect(incomplete({ files: 2, bytes: 3 }, [f('a', 1), f('b', 1)])).toBe('2 of its 3 bytes stored');
    expect(incomplete({ files: 1, bytes: 1 }, [f('../a', 1)])).toMatch(/cannot be restored/);
    expect(incomplete({ files: 2, bytes: 3 }, [f('a', 1), f('b', 2)])).toBeUndefined();
    const o = { status: 'RUNNING', attempts: 3, resumed: 2, history: [{ attempt: 2, resumed: 1 }] } as unknown as Order;
    expect([resumedFrom(o, 3), resumedFrom(o, 2), resumedFrom(o, 1)]).toEqual([2, 1, undefined]);
  });
});

test('a set over --checkpoint-max, or none at all, is skipped with its reason, before anything is stored', async () => {
  const dir = await tempDir('cp-max');
  const nothing = {} as StoreQueries; // any call to the kitchen would throw
  const c = { id: new ObjectId(), token: 't', attempt: 1 };
  expect(await storeCheckpoint(nothing, c, dir, OPTS)).toEqual({ skipped: 'no file matches --checkpoint count state' });
  await writeFile(join(dir, 'count'), 'x'.repeat(2000));
  expect(await storeCheckpoint(nothing, c, dir, OPTS)).toEqual({ skipped: '--checkpoint-max 1 KiB: 1 file of 2 KiB; this checkpoint skipped' });
});

/** The text of the file `path` of the order's current checkpoint. */
async function stored(kitchen: Kitchen, o: Order, path: string): Promise<string> {
  const files = await kitchen.checkpoints.setFiles(o._id, o.checkpoint!.set);
  const f = files.find((x) => x.metadata.path === path)!;
  const parts: Buffer[] = [];
  for await (const b of kitchen.checkpoints.files.open(f)) parts.push(b as Buffer);
  return Buffer.concat(parts).toString();
}

describe('store and restore, against the kitchen', () => {
  test("a checkpoint stored by an attempt that lost its lease is never made current; clean removes the order's checkpoint", async () => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      const [id] = await addOrders(k.db, [['x']]);
      // Claimed with a lease of 1 ms, then taken over by box-b.
      const a = (await kitchen.claim('box-a', 1))!;
      await new Promise((r) => setTimeout(r, 20));
      const b = (await kitchen.claim('box-b', 60_000))!;
      expect(b.lostBy).toBe('box-a');
      const dirA = await tempDir('cp-stale-a');
      const dirB = await tempDir('cp-stale-b');
      await writeFile(join(dirA, 'count'), 'stale');
      await writeFile(join(dirB, 'count'), '7');
      expect(await storeCheckpoint(kitchen.checkpoints, a, dirA, OPTS)).toEqual({ fenced: true });
      expect((await byId(k.db, id!)).checkpoint).toBeUndefined();
      expect(await kitchen.checkpoints.files.docs.countDocuments({})).toBe(0);
      const r = await storeCheckpoint(kitchen.checkpoints, b, dirB, OPTS);
      expect(r).toMatchObject({ stored: { attempt: 2, files: 1, bytes: 1 } });
      // The stale attempt again, after: refused, box-b's checkpoint untouched.
      expect(await storeCheckpoint(kitchen.checkpoints, a, dirA, OPTS)).toEqual({ fenced: true });
      const o = await byId(k.db, id!);
      expect(o.checkpoint!.set).toEqual('stored' in r && r.stored.set);
      expect(await stored(kitchen, o, 'count')).toBe('7');
      expect(await kitchen.checkpoints.files.docs.countDocuments({})).toBe(1);
      // A second store replaces the first: one set kept, not two.
      await writeFile(join(dirB, 'count'), '8');
      expect(await storeCheckpoint(kitchen.checkpoints, b, dirB, OPTS, o.checkpoint!.set)).toHaveProperty('stored');
      expect(await kitchen.checkpoints.files.docs.countDocuments({})).toBe(1);
      await kitchen.finish(b, { status: 'ERROR', result: 'ERROR', stop: new Date(), output: '' });
      expect(await kitchen.clean('ERROR')).toBe(1);
      expect(await kitchen.checkpoints.files.docs.countDocuments({})).toBe(0);
      expect(await kitchen.checkpoints.files.chunks.countDocuments({})).toBe(0);
    } finally {
      await kitchen.close();
    }
  });

  test('a set failing half-way, or stored without its flip, is never restored; a corrupt or incomplete one neither', async () => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      const [id] = await addOrders(k.db, [['x']]);
      const c = (await kitchen.claim('box', 60_000))!;
      const dir = await tempDir('cp-partial');
      await writeFile(join(dir, 'count'), '3');
      await writeFile(join(dir, 'state'), 'three');
      const first = await storeCheckpoint(kitchen.checkpoints, c, dir, OPTS);
      if (!('stored' in first)) throw new Error(JSON.stringify(first));
      // The next set fails at its second file (the kitchen gone mid-upload).
      await writeFile(join(dir, 'count'), '4');
      await writeFile(join(dir, 'state'), 'four');
      let uploads = 0;
      const failing: StoreQueries = {
        flip: (x, ref) => kitchen.checkpoints.flip(x, ref),
        removeSet: (o, s) => kitchen.checkpoints.removeSet(o, s),
        files: {
          upload: (meta, content, signal) => (++uploads === 2 ? Promise.reject(new Error('connection closed')) : kitchen.checkpoints.files.upload(meta, content, signal)),
          removeFor: (ids) => kitchen.checkpoints.files.removeFor(ids),
        },
      };
      expect(await storeCheckpoint(failing, c, dir, OPTS, first.stored.set)).toEqual({ failed: 'connection closed' });
      let o = await byId(k.db, id!);
      expect(o.checkpoint).toEqual(first.stored);
      expect(await kitchen.checkpoints.files.docs.countDocuments({ 'metadata.set': { $ne: first.stored.set } })).toBe(0);
      // A set stored without its flip (the box gone before it): the order still names the first.
      await kitchen.checkpoints.files.upload({ order: c.id, attempt: c.attempt, path: 'count', set: new ObjectId() }, Readable.from([Buffer.from('99')]));
      const lines: string[] = [];
      const log = (l: string) => lines.push(l);
      const next: Claimed = { ...c, checkpoint: o.checkpoint! };
      const into = join(await tempDir('cp-restore'), 'w');
      await mkdir(into);
      expect(await restoreCheckpoint(kitchen.checkpoints, next, into, log)).toBe(c.attempt);
      expect(await readFile(join(into, 'count'), 'utf8')).toBe('3');
      expect(await readFile(join(into, 'state'), 'utf8')).toBe('three');
      expect((await byId(k.db, id!)).resumed).toBe(c.attempt);
      // Corrupt: a stored chunk changed (same length). Nothing is restored, not even the good file.
      const files = await kitchen.checkpoints.setFiles(c.id, first.stored.set);
      const state = files.find((f) => f.metadata.path === 'state')!;
      await kitchen.checkpoints.files.chunks.updateOne({ files_id: state._id }, { $set: { data: Buffer.from('thr3e') } });
      o = await byId(k.db, id!);
      const fresh = join(await tempDir('cp-corrupt'), 'w');
      await mkdir(fresh);
      expect(await restoreCheckpoint(kitchen.checkpoints, { ...c, checkpoint: o.checkpoint! }, fresh, log)).toBeUndefined();
      expect(existsSync(join(fresh, 'count'))).toBe(false);
      expect(lines.at(-1)).toMatch(/is corrupt \(state does not match its SHA-256\): not restored; the command starts from scratch/);
      // Incomplete: a file of the set missing.
      await kitchen.checkpoints.files.docs.deleteOne({ _id: state._id });
      expect(await restoreCheckpoint(kitchen.checkpoints, { ...c, checkpoint: o.checkpoint! }, fresh, log)).toBeUndefined();
      expect(lines.at(-1)).toMatch(/is not complete \(1 of its 2 files stored\)/);
      expect(existsSync(join(fresh, 'count'))).toBe(false);
    } finally {
      await kitchen.close();
    }
  });
});

/** The pids of a process's children (the commands a waiter started: each leads its own process group). */
async function children(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

describe('the resumable counter, end to end', () => {
  test('its box killed -9 past step 6 of 20: the next waiter resumes from at least the last stored step, and counts to 20', async () => {
    const [id] = await addOrders(k.db, [['20', '0.1']]);
    const dirA = await tempDir('cp-box-a');
    const dirB = await tempDir('cp-box-b');
    const deliver = (dir: string) => ['deliver', ...FAST, '--checkpoint', 'count', '--checkpoint-every', '200ms', '--workdir', join(dir, '{id}'), COUNTER];
    const a = background(k, ['-n', 'box-a', ...deliver(dirA)]);
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    let last: number;
    try {
      last = await until(
        async () => {
          const o = await byId(k.db, id!);
          const n = o.checkpoint ? Number(await stored(kitchen, o, 'count')) : 0;
          return n >= 6 ? n : undefined;
        },
        20_000,
        'a checkpoint at step 6 or later',
      );
    } finally {
      await kitchen.close();
    }
    // The box goes: the waiter and its command, without a word.
    const commands = await children(a.pid);
    for (const pid of commands) killAfterTest(pid);
    a.proc.kill('SIGKILL');
    for (const pid of commands) process.kill(-pid, 'SIGKILL');
    const before = (await byId(k.db, id!)).checkpoint!;
    expect(before.attempt).toBe(1);

    const b = await waiter(k, ['-n', 'box-b', ...deliver(dirB)]);
    expect(b.exitCode, String(b.stderr)).toBe(0);
    expect(b.stderr).toContain(`${id!.toHexString()} resumes from the checkpoint of attempt 1`);
    const o = await byId(k.db, id!);
    expect(o).toMatchObject({ status: 'DONE', attempts: 2, waiter: 'box-b' });
    expect(o.history!.map((h) => [h.attempt, h.result, h.resumed])).toEqual([
      [1, 'LOST', undefined],
      [2, 'DONE', 1],
    ]);
    const start = Number(/^start at (\d+) \(resumed from attempt 1\)$/m.exec(o.output ?? '')?.[1]);
    expect(start).toBeGreaterThanOrEqual(last);
    expect(start).toBeLessThan(20);
    expect(o.output).toMatch(/counted to 20\n$/);
    expect(o.output).not.toMatch(new RegExp(`^step ${start}$`, 'm'));
    // Done: its checkpoint is of no more use, and gone.
    expect(o.checkpoint).toBeUndefined();
    expect(await k.db.collection('orders.checkpoints.files').countDocuments({})).toBe(0);
    expect(attemptLine(o.history![1]!)).toMatch(/^#2 +DONE +box-b .* exit code 0 +resumed from #1/);
  });

  test('a notice instead: the checkpoint is stored as the command is stopped, and the next waiter resumes from its very last step', async () => {
    const [id] = await addOrders(k.db, [['20', '0.1']]);
    const hex = id!.toHexString();
    const dirA = await tempDir('cp-notice-a');
    const dirB = await tempDir('cp-notice-b');
    const notice = join(dirA, 'going-away');
    // The default --checkpoint-every (60 s): no store before the notice; the one at the notice is all there is.
    const deliver = (dir: string, ...more: string[]) => ['deliver', ...FAST, ...more, '--checkpoint', 'count', '--workdir', join(dir, '{id}'), COUNTER];
    const a = background(k, ['-n', 'box-a', ...deliver(dirA, '--interruption-file', notice)]);
    const count = join(dirA, hex, 'count');
    await until(async () => Number(await readFile(count, 'utf8').catch(() => '0')) >= 4, 20_000, 'step 4');
    await writeFile(notice, '');
    const ra = await a.proc;
    expect(ra.stderr).toMatch(new RegExp(`checkpoint of ${hex} stored \\(1 file, \\d+ B; (the waiter told to stop|before handing the order back)\\)`));
    const reached = Number(await readFile(count, 'utf8'));
    const handed = await byId(k.db, id!);
    expect(handed).toMatchObject({ status: 'READY', checkpoint: { attempt: 1, files: 1 } });

    const b = await waiter(k, ['-n', 'box-b', ...deliver(dirB)]);
    expect(b.exitCode, String(b.stderr)).toBe(0);
    const o = await byId(k.db, id!);
    expect(o.output).toMatch(new RegExp(`^start at ${reached} \\(resumed from attempt 1\\)$`, 'm'));
    expect(o.output).toMatch(/counted to 20\n$/);
    // The notice's attempt is not counted (src/interrupt/) but keeps its number: the next is attempt 2, resumed from #1.
    expect(o).toMatchObject({ status: 'DONE', attempts: 2, uncounted: 1 });
    expect(o.history!.map((h) => [h.attempt, h.result, h.resumed])).toEqual([
      [1, 'INTERRUPTED', undefined],
      [2, 'DONE', 1],
    ]);
  });

  test('--checkpoint-exit-code 85: stored, started again in its folder at once, in the same attempt', async () => {
    const [id] = await addOrders(k.db, [['6', '0.05', '2']]);
    const dir = await tempDir('cp-85');
    const r = await waiter(k, ['deliver', '--checkpoint', 'count', '--checkpoint-exit-code', '85', '--workdir', join(dir, '{id}'), COUNTER]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(r.stdout).toMatch(/start at 0 \(resumed from attempt none\)[^]*start at 2 \(resumed from attempt 1\)[^]*start at 4 \(resumed from attempt 1\)[^]*counted to 6/);
    expect(r.stderr.match(/exited 85 \(a checkpoint\): starting it again in its folder, same attempt/g)).toHaveLength(2);
    const o = await byId(k.db, id!);
    expect(o).toMatchObject({ status: 'DONE', attempts: 1, exitCode: 0 });
    expect(o.history!.map((h) => h.result)).toEqual(['DONE']);
  });
});
