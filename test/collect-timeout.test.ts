// deliver --collect-timeout: storing an attempt's files ends within it, whatever hangs
// (a kitchen that stops answering, a read that never ends), since the order's lease is
// kept meanwhile: a box whose uploads hang must not hold its order for ever.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, type ReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { expect, test } from 'vitest';
import type { Claimed } from '../src/order.js';
import { collector } from '../src/output/collector.js';
import { FileStore } from '../src/kitchen/files.js';
import { until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, byId, tempDir } from './support/recovery.js';

const k = useDb();
const chunks = () => k.db.collection('orders.results.chunks');
const files = () => k.db.collection('orders.results.files');

test('an upload whose file read hangs after its first chunk (a FIFO kept open: a stuck network file system): the attempt fails with --collect-timeout at the deadline, nothing is kept', async () => {
  const dir = await tempDir('hang');
  await writeFile(join(dir, 'out.bin'), Buffer.alloc(300_000, 1));
  const fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  // 300 KiB, then the pipe stays open with nothing more: the next read() blocks in the kernel.
  const writer = spawn('sh', ['-c', `exec 3>'${fifo}'; head -c 307200 /dev/zero >&3; sleep 120`], { stdio: 'ignore' });
  try {
    const real = new FileStore(k.db, 'orders');
    let source: ReadStream | undefined;
    const store: Pick<FileStore, 'upload' | 'removeFor'> = {
      removeFor: (orders, attempt) => real.removeFor(orders, attempt),
      upload: (meta, content, signal) => {
        content.destroy();
        source = createReadStream(fifo);
        return real.upload(meta, source, signal);
      },
    };
    const lines: string[] = [];
    const hook = collector(store as FileStore, { globs: ['*.bin'], maxBytes: 1 << 20, on: 'done', timeoutMs: 3_000 }, (l) => lines.push(l));
    const order = new ObjectId();
    const stored = until(async () => (await chunks().countDocuments()) >= 1, 20_000, 'a chunk stored before the deadline');
    const error = await hook({ id: order, attempt: 1 } as Claimed, dir, true);
    await stored;
    expect(error).toBe('--collect-timeout 3.0s: storing 1 file of 293 KiB took longer; none kept');
    expect(source?.destroyed).toBe(true);
    expect(lines.join('\n')).toContain(`the files of ${order.toHexString()} were not collected: --collect-timeout 3.0s`);
    await until(async () => (await chunks().countDocuments()) + (await files().countDocuments()) === 0, 20_000, 'the stored chunk removed');
  } finally {
    writer.kill('SIGKILL'); // the blocked read then ends (EOF), freeing its thread
  }
});

test('deliver --collect-timeout: a run whose files take longer to store ends ERROR with the reason, and the waiter goes on; a bad value is exit 2', async () => {
  const dir = await tempDir('slow');
  const [big, small] = await addOrders(k.db, [['30000000'], ['10']]);
  const d = await waiter(k, ['deliver', '--workdir', join(dir, '{hash}'), '--collect', '*.bin', '--collect-timeout', '20ms', '--shell', 'head -c "$1" /dev/zero > a.bin']);
  expect(d.exitCode, d.stderr).toBe(1);
  const failed = await byId(k.db, big!);
  expect([failed.status, failed.error]).toEqual(['ERROR', '--collect-timeout 20ms: storing 1 file of 28.6 MiB took longer; none kept']);
  // The waiter went on to the next order (which a loaded machine may also not store within 20 ms).
  expect((await byId(k.db, small!)).attempts).toBe(1);
  await until(async () => (await files().countDocuments({ 'metadata.order': big })) === 0, 20_000, 'no file of the failed attempt');
  const bad = await waiter(k, ['deliver', '--workdir', dir, '--collect', '*.bin', '--collect-timeout', 'soon', 'true']);
  expect([bad.exitCode, bad.stderr]).toEqual([2, "waiter: --collect-timeout: 'soon' is not a duration (try 30s, 5m, 2h)"]);
  const far = await waiter(k, ['deliver', '--workdir', dir, '--collect', '*.bin', '--collect-timeout', '30d', 'true']);
  expect([far.exitCode, far.stderr]).toEqual([2, 'waiter: --collect-timeout: at most 24 days']);
  const alone = await waiter(k, ['deliver', '--collect-timeout', '1m', 'true']);
  expect([alone.exitCode, alone.stderr]).toEqual([2, 'waiter: --collect-timeout goes with --collect']);
});
