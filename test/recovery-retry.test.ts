// Retries (--max-attempts, --retry-on) and timeouts that must kill a whole process tree.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { FAST, addOrders, alive, byId, killAfterTest, lines, tempDir } from './support/recovery.js';

const FLAKY = join(FIXTURES, 'flaky.sh');
const TREE = join(FIXTURES, 'tree.sh');

describe('retries', () => {
  const k = useDb();

  test('--max-attempts 3: a command that fails twice then succeeds ends DONE on attempt 3', async () => {
    const dir = await tempDir('flaky');
    const [x] = await addOrders(k.db, [['2']]);
    const r = await waiter(k, ['-n', 'w', 'deliver', '--max-attempts', '3', ...FAST, FLAKY], { env: { FLAKY_DIR: dir } });

    const o = await byId(k.db, x!);
    expect(o).toMatchObject({ status: 'DONE', attempts: 3, exitCode: 0 });
    expect(o.error).toBeUndefined();
    expect(o.output).toContain('run 3: ok');
    expect(o.history?.map((h) => [h.attempt, h.result, h.exitCode])).toEqual([
      [1, 'ERROR', 3],
      [2, 'ERROR', 3],
      [3, 'DONE', 0],
    ]);
    expect(o.history![0]!.error).toBe('exit code 3');
    expect(await lines(join(dir, x!.toHexString()))).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    expect(r.stderr).toContain(`waiter: ${x!.toHexString()} failed: exit code 3 (will retry)`);
    // Every order ended DONE, so nothing failed: exit 0.
    expect(r.exitCode).toBe(0);
  });

  test('--max-attempts 3: a command that keeps failing ends ERROR after 3 attempts, and the waiter exits 1', async () => {
    const dir = await tempDir('flaky');
    const [x, ok] = await addOrders(k.db, [['9'], ['0']]);
    const r = await waiter(k, ['deliver', '--max-attempts', '3', ...FAST, FLAKY], { env: { FLAKY_DIR: dir } });

    expect(await byId(k.db, x!)).toMatchObject({ status: 'ERROR', attempts: 3, exitCode: 3, error: 'exit code 3' });
    expect((await byId(k.db, x!)).history?.map((h) => h.result)).toEqual(['ERROR', 'ERROR', 'ERROR']);
    expect(await lines(join(dir, x!.toHexString()))).toHaveLength(3);
    expect(await byId(k.db, ok!)).toMatchObject({ status: 'DONE', attempts: 1 });
    expect(r.exitCode).toBe(1);
  });

  test('--retry-on: only the listed exit codes are retried', async () => {
    const dir = await tempDir('flaky');
    // fails twice with 75 (retried), fails once with 3 (not retried)
    const [retried, notRetried] = await addOrders(k.db, [
      ['2', '75'],
      ['1', '3'],
    ]);
    const r = await waiter(k, ['deliver', '--max-attempts', '3', '--retry-on', '75,76', ...FAST, FLAKY], { env: { FLAKY_DIR: dir } });

    const a = await byId(k.db, retried!);
    expect(a).toMatchObject({ status: 'DONE', attempts: 3, exitCode: 0 });
    expect(a.history?.map((h) => [h.result, h.exitCode])).toEqual([
      ['ERROR', 75],
      ['ERROR', 75],
      ['DONE', 0],
    ]);
    const b = await byId(k.db, notRetried!);
    expect(b).toMatchObject({ status: 'ERROR', attempts: 1, exitCode: 3, error: 'exit code 3' });
    expect(await lines(join(dir, notRetried!.toHexString()))).toEqual(['attempt 1']);
    expect(r.exitCode).toBe(1);
  });
});

describe('--timeout', () => {
  const k = useDb();

  test('kills the whole process tree, even a grandchild that ignores SIGTERM; the order ends ERROR "timed out after 2s"', async () => {
    const dir = await tempDir('tree');
    const pids = join(dir, 'pids');
    const [x] = await addOrders(k.db, [[pids]]);

    const run = waiter(k, ['deliver', '--timeout', '2s', '--kill-after', '300ms', ...FAST, TREE]);
    const [child, grandchild] = await until(
      async () => {
        const text = await readFile(pids, 'utf8').catch(() => '');
        const ns = text.trim().split(/\s+/).map(Number);
        return ns.length === 2 && ns.every((n) => n > 0) ? ns : undefined;
      },
      30_000,
      'the tree to start',
    );
    killAfterTest(child!);

    const r = await run;
    expect(alive(child!)).toBe(false);
    expect(alive(grandchild!)).toBe(false);
    const o = await byId(k.db, x!);
    expect(o).toMatchObject({ status: 'ERROR', attempts: 1, error: 'timed out after 2s' });
    expect(o.history).toEqual([expect.objectContaining({ attempt: 1, result: 'ERROR', error: 'timed out after 2s' })]);
    expect(r.stderr).toContain(`waiter: ${x!.toHexString()} failed: timed out after 2s`);
    expect(r.exitCode).toBe(1);
  });
});
