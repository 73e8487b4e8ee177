// Every claim is a new attempt number, never one used before: an attempt given back
// uncounted (held while it ran, stopped by a spot notice) keeps its number, its history
// line and its live output, and still does not use up --max-attempts. Real processes.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, background, byId, killAfterTest, pidFrom, tempDir } from './support/recovery.js';
import { render as renderShow } from '../src/commands/show.js';

const k = useDb();
/** Prints its run's number (counted in $D/n); the first run sleeps until stopped, later ones exit 3 when asked to fail, else 0. */
const SCRIPT = [
  'n=$(( $(cat "$D/n" 2>/dev/null || echo 0) + 1 )); echo $n > "$D/n"; echo "run $n"',
  'if [ $n = 1 ]; then echo $$ > "$D/pid.tmp" && mv "$D/pid.tmp" "$D/pid"; exec sleep 60; fi',
  '[ "$1" = fail ] && exit 3; exit 0',
].join('\n');
const LEASE = ['--lease', '60s', '--heartbeat', '300ms'];
const numbers = (o: Awaited<ReturnType<typeof byId>>) => o.history!.map((h) => [h.attempt, h.result]);
const logs = async (hex: string, attempt?: number) => (await waiter(k, ['logs', hex, ...(attempt ? ['--attempt', String(attempt)] : [])])).stdout;

test("held while it ran, released, run again: a new attempt number, the held attempt's output kept, and the hold not counted (--max-attempts 2: two failing runs after it)", async () => {
  const dir = await tempDir('numbers');
  const [id] = await addOrders(k.db, [['fail']]);
  const hex = id!.toHexString();
  const a = background(k, ['-n', 'waiter-a', 'deliver', ...LEASE, '--shell', SCRIPT], { D: dir });
  killAfterTest(await pidFrom(join(dir, 'pid'), 'the first run to start'));
  expect((await waiter(k, ['hold', hex])).exitCode).toBe(0);
  expect((await a.proc).exitCode).toBe(0);
  expect(await byId(k.db, id!)).toMatchObject({ status: 'HELD', attempts: 1, uncounted: 1 });

  expect((await waiter(k, ['release', hex])).exitCode).toBe(0);
  const b = await waiter(k, ['-n', 'waiter-b', 'deliver', '--max-attempts', '2', '--shell', SCRIPT], { env: { D: dir } });
  expect(b.exitCode, b.stderr).toBe(1);
  const o = await byId(k.db, id!);
  expect(o).toMatchObject({ status: 'ERROR', attempts: 3, uncounted: 1 });
  expect(numbers(o)).toEqual([
    [1, 'HELD'],
    [2, 'ERROR'],
    [3, 'ERROR'],
  ]);
  expect(await logs(hex, 1)).toBe('run 1');
  expect(await logs(hex, 2)).toBe('run 2');
  expect(await logs(hex)).toBe('run 3');
  expect(renderShow(o)[1]).toBe('status    ERROR (attempt 3; 1 not counted toward --max-attempts)');
});

test('interrupted by a notice (spot), run again elsewhere: attempt 2, the interrupted attempt 1 and its output kept', async () => {
  const dir = await tempDir('numbers');
  const notice = join(dir, 'going-away');
  const [id] = await addOrders(k.db, [['ok']]);
  const hex = id!.toHexString();
  const pod = background(k, ['-n', 'pod', 'deliver', ...LEASE, '--interruption-file', notice, '--shell', SCRIPT], { D: dir });
  killAfterTest(await pidFrom(join(dir, 'pid'), 'the first run to start'));
  await writeFile(notice, '');
  expect((await pod.proc).exitCode).toBe(0);
  expect(await byId(k.db, id!)).toMatchObject({ status: 'READY', attempts: 1, uncounted: 1 });

  const other = await waiter(k, ['-n', 'other', 'deliver', '--shell', SCRIPT], { env: { D: dir } });
  expect(other.exitCode, other.stderr).toBe(0);
  const o = await byId(k.db, id!);
  expect(o).toMatchObject({ status: 'DONE', attempts: 2, uncounted: 1 });
  expect(numbers(o)).toEqual([
    [1, 'INTERRUPTED'],
    [2, 'DONE'],
  ]);
  expect(await logs(hex, 1)).toBe('run 1');
  expect(await logs(hex, 2)).toBe('run 2');
});
