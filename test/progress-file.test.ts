// Progress (issue 28, src/deliver/progress.ts): what a command's WAITER_PROGRESS file
// says, read defensively, and where it rides (the heartbeat's write, the finish's).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { render } from '../src/commands/show.js';
import { table } from '../src/commands/waiters.js';
import { PROGRESS_READ_BYTES, ProgressFiles, parseProgress, progressText, readProgress, readProgressSync } from '../src/deliver/progress.js';
import { claimUpdate, finishUpdate, heartbeatUpdate } from '../src/kitchen/plans.js';
import type { Claimed, Order } from '../src/order.js';
import type { WaiterReport } from '../src/app/waiters.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'waiter-progress-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseProgress', () => {
  test('a number 0-100, optional text; the last non-empty line (appended, or a bar redrawn with \\r)', () => {
    expect(parseProgress('42')).toEqual({ percent: 42 });
    expect(parseProgress('42\n')).toEqual({ percent: 42 });
    expect(parseProgress('  42 decoding frame 1,204  \n')).toEqual({ percent: 42, text: 'decoding frame 1,204' });
    expect(parseProgress('42% decoding')).toEqual({ percent: 42, text: 'decoding' });
    expect(parseProgress('42 %')).toEqual({ percent: 42 });
    expect(parseProgress('0')).toEqual({ percent: 0 });
    expect(parseProgress('100 done')).toEqual({ percent: 100, text: 'done' });
    expect(parseProgress('12.345')).toEqual({ percent: 12.3 });
    expect(parseProgress('10 a\n20 b\n\n')).toEqual({ percent: 20, text: 'b' });
    expect(parseProgress('10%\r11%\r12% frames')).toEqual({ percent: 12, text: 'frames' });
    expect(parseProgress('7\tstep\tthree')).toEqual({ percent: 7, text: 'step\tthree' });
  });

  test('anything else is nothing (the last good reading stays): empty, out of range, not a number first', () => {
    for (const bad of ['', '\n\n', '   ', '101', '-1', '1e2', 'abc', 'step 4 of 10', '42abc', '.5', '4x2', '1000']) {
      expect(parseProgress(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('readProgress', () => {
  test('the last line of the file, only its last bytes read', async () => {
    const f = join(dir, 'p');
    writeFileSync(f, `${'x'.repeat(10_000)}\n55 nearly\n`);
    expect(await readProgress(f)).toEqual({ percent: 55, text: 'nearly' });
    expect(readProgressSync(f)).toEqual({ percent: 55, text: 'nearly' });
    // One line longer than what is read: its start (the number) is not seen, nothing is made up.
    writeFileSync(f, `55 ${'y'.repeat(PROGRESS_READ_BYTES)}`);
    expect(await readProgress(f)).toBeUndefined();
  });

  test('missing, a folder, a symlink (to /dev/zero or a good file), a FIFO nobody writes, binary: nothing, and no hang (the heartbeat read and the last one alike)', async () => {
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'good'), '12');
    symlinkSync('/dev/zero', join(dir, 'zero'));
    symlinkSync(join(dir, 'good'), join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    writeFileSync(join(dir, 'bin'), Buffer.from([0, 1, 2, 0xff, 0xfe]));
    for (const name of ['none', 'folder', 'zero', 'link', 'fifo', 'bin']) {
      expect(await readProgress(join(dir, name)), name).toBeUndefined();
      expect(readProgressSync(join(dir, name)), name).toBeUndefined();
    }
    expect([await readProgress(join(dir, 'good')), readProgressSync(join(dir, 'good'))]).toEqual([{ percent: 12 }, { percent: 12 }]);
  });
});

const claim = (): Claimed => ({ id: new ObjectId(), token: 't', attempt: 2, waiter: 'w', start: new Date(), arguments: [], history: [] });

describe('ProgressFiles', () => {
  test('a file per attempt, created empty; the last good reading kept, masked; removed at the end', async () => {
    const logged: string[] = [];
    const files = new ProgressFiles(
      dir,
      (t) => t.replaceAll('s3cr3t', '***'),
      (l) => logged.push(l),
    );
    const c = claim();
    const path = files.open(c)!;
    expect(path).toBe(join(dir, `progress-${c.id.toHexString()}-2`));
    expect(existsSync(path)).toBe(true);
    expect(await files.read(c)).toBeUndefined(); // empty
    writeFileSync(path, '30 with s3cr3t\n');
    expect(await files.read(c)).toEqual({ percent: 30, text: 'with ***' });
    writeFileSync(path, 'garbled');
    expect(await files.read(c)).toEqual({ percent: 30, text: 'with ***' });
    expect(files.last(c)).toEqual({ percent: 30, text: 'with ***' });
    writeFileSync(path, '100');
    expect(files.close(c)).toEqual({ percent: 100 }); // one last read
    expect(existsSync(path)).toBe(false);
    expect(files.last(c)).toBeUndefined();
    expect(logged).toEqual([]);
  });

  test('no private folder, or one that cannot be written: the order runs without WAITER_PROGRESS (said once per order), nothing fails', async () => {
    const c = claim();
    expect(new ProgressFiles(undefined, undefined, () => undefined).open(c)).toBeUndefined();
    const logged: string[] = [];
    const files = new ProgressFiles(join(dir, 'gone'), undefined, (l) => logged.push(l));
    expect(files.open(c)).toBeUndefined();
    expect(await files.read(c)).toBeUndefined();
    expect(files.close(c)).toBeUndefined();
    expect(logged).toEqual([expect.stringContaining('runs without WAITER_PROGRESS')]);
  });

  test('the command made a folder of its file: it is removed all the same', async () => {
    const files = new ProgressFiles(dir, undefined, () => undefined);
    const c = claim();
    const path = files.open(c)!;
    await rm(path);
    mkdirSync(join(path, 'deep'), { recursive: true });
    expect(files.close(c)).toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });
});

describe('where progress rides and how it reads', () => {
  test('on the heartbeat when there is one, on the finish and its attempt; a claim removes the last one', () => {
    const now = new Date();
    expect(heartbeatUpdate(now, 1000).$set).not.toHaveProperty('progress');
    expect(heartbeatUpdate(now, 1000, { percent: 5 }).$set).toMatchObject({ progress: { percent: 5 } });
    expect(claimUpdate('w', 't', now, 1000).$unset).toHaveProperty('progress', '');
    const c = claim();
    const fin = finishUpdate(c, { status: 'ERROR', result: 'ERROR', stop: now, output: '', progress: { percent: 70, text: 'x' } });
    expect(fin.$set).toMatchObject({ progress: { percent: 70, text: 'x' }, history: [{ attempt: 2, progress: { percent: 70, text: 'x' } }] });
    expect(finishUpdate(c, { status: 'DONE', result: 'DONE', stop: now, output: '' }).$unset).toHaveProperty('progress', '');
  });

  test('show, waiters: said inert (a job wrote it)', () => {
    const p = { percent: 42, text: 'frame \u001b]0;owned\u0007 1' };
    expect(progressText(p)).toBe('42% frame \u001b]0;owned\u0007 1');
    const now = new Date();
    const order = { _id: new ObjectId(), status: 'RUNNING', arguments: ['a'], attempts: 1, heartbeat: now, progress: p } as Order;
    const line = render(order).find((l) => l.startsWith('progress'))!;
    expect(line).toBe(`progress  42% frame \\x1b]0;owned\\x07 1 (as of ${now.toISOString()})`);
    const failed = { ...order, status: 'ERROR', history: [{ attempt: 1, waiter: 'w', start: now, stop: now, result: 'ERROR', error: 'exit code 1', progress: p }] } as Order;
    expect(render(failed).join('\n')).toContain("42% frame \\x1b]0;owned\\x07 1 (the last attempt's last)");
    expect(render(failed).at(-1)).toMatch(/exit code 1 {2}\(progress 42% frame \\x1b\]0;owned\\x07 1\)$/);
    const w = {
      name: 'w',
      host: 'h',
      state: 'PROCESSING',
      running: ['x'],
      current: { order: 'x', arguments: ['a'], progress: p },
      delivered: 0,
      failed: 0,
      started: now.toISOString(),
      seen: now.toISOString(),
    };
    expect(table([w as unknown as WaiterReport], now)[1]).toMatch(/x \(42% frame \\x1b\]0;owned\\x07 1\) \["a"\]$/);
  });
});
