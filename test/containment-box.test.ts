// Issue 15, item 4: a broken box stops itself, not the list. Real waiters, real
// processes, the real server.
import { chmod, copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isBoxSpawnFailure, isBoxWorkdirFailure } from '../src/deliver/failure.js';
import { FIXTURES, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, orders } from './support/recovery.js';

const k = useDb();
const snapshot = async () => (await orders(k.db).find({}).sort({ _id: 1 }).toArray()).map(({ _id, status, attempts, due }) => ({ _id, status, attempts, due }));

describe('a broken box stops itself', () => {
  test('deliver ./no-such exits 2 with one line before any order changes', async () => {
    await addOrders(k.db, [['a'], ['b']]);
    const before = await snapshot();
    const r = await waiter(k, ['deliver', './crunhc.sh', '--flag', 'x']);
    expect([r.exitCode, r.stderr, r.stdout]).toEqual([2, 'waiter: command not found: ./crunhc.sh', '']);
    expect(await snapshot()).toEqual(before);
    // Nor did it register as a waiter.
    expect(await k.db.collection('orders.waiters').countDocuments()).toBe(0);
  });

  test('a program that is not executable, or not on PATH: exit 2, nothing touched', async () => {
    await addOrders(k.db, [['a']]);
    const before = await snapshot();
    const dir = await mkdtemp(join(tmpdir(), 'waiter-box-'));
    const plain = join(dir, 'plain.sh');
    await writeFile(plain, '#!/bin/sh\nexit 0\n');
    const r = await waiter(k, ['deliver', plain]);
    expect([r.exitCode, r.stderr]).toEqual([2, `waiter: permission denied: ${plain} (not executable)`]);
    const p = await waiter(k, ['deliver', 'no-such-tool-on-path']);
    expect([p.exitCode, p.stderr]).toEqual([2, 'waiter: command not found: no-such-tool-on-path']);
    expect(await snapshot()).toEqual(before);
  });

  test('the program deleted mid-run: that order is READY again, its attempt given back (not counted), the waiter exits 5', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-box-'));
    const prog = join(dir, 'prog.sh');
    // The first order removes the program: the next spawn finds nothing.
    await writeFile(prog, '#!/bin/sh\n[ "$1" = remove ] && rm -f "$0"\nexit 0\n');
    await chmod(prog, 0o755);
    const [first, second, third] = await addOrders(k.db, [['remove'], ['next'], ['later']]);
    const r = await waiter(k, ['-n', 'box', 'deliver', prog]);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toBe('Stopped. Delivered 1 order.');
    expect(r.stderr).toContain(`waiter: stopped: box failure: command not found: ${prog}: stopping this box`);
    const o = async (id: typeof first) => (await orders(k.db).findOne({ _id: id! }))!;
    expect(await o(first)).toMatchObject({ status: 'DONE', attempts: 1 });
    const s = await o(second);
    expect(s).toMatchObject({ status: 'READY', attempts: 1, uncounted: 1 });
    expect(s.claim).toBeUndefined();
    expect(s.history).toMatchObject([{ attempt: 1, result: 'INTERRUPTED', error: `not run: command not found: ${prog} (on this box; it stopped)` }]);
    expect(await o(third)).toMatchObject({ status: 'READY', attempts: 0 });
    const reg = await k.db.collection('orders.waiters').findOne({ name: 'box' });
    expect(reg?.reason).toBe(`box failure: command not found: ${prog}: stopping this box`);
    // Another box with the program runs it as attempt 2, the first that counts (--max-attempts 1 lets it run).
    await copyFile(join(FIXTURES, 'ok.sh'), prog);
    const again = await waiter(k, ['deliver', prog]);
    expect(again.exitCode).toBe(0);
    expect(await o(second)).toMatchObject({ status: 'DONE', attempts: 2, uncounted: 1 });
  });

  test("a workdir whose name is taken by a file is the order's failure (ERROR); the waiter goes on", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-box-'));
    await writeFile(join(dir, 'taken'), 'a file, not a folder');
    const [taken, fine] = await addOrders(k.db, [['taken'], ['fine']]);
    const r = await waiter(k, ['deliver', '--workdir', join(dir, '{1}', 'sub'), `${FIXTURES}ok.sh`]);
    expect(r.exitCode).toBe(1);
    expect(await orders(k.db).findOne({ _id: taken! })).toMatchObject({ status: 'ERROR', error: `cannot create the workdir ${join(dir, 'taken', 'sub')}: ENOTDIR` });
    expect(await orders(k.db).findOne({ _id: fine! })).toMatchObject({ status: 'DONE' });
  });

  // Root writes under any chmod'ed folder, so as root the folder nobody may write is sysfs
  // (mkdir there is EPERM); otherwise a folder made read-only (EACCES). Both are the box's.
  const root = process.getuid?.() === 0;
  test(`a workdir under a folder nobody may write is the box's: the order READY uncounted, exit 5`, async () => {
    let locked = '/sys/waiter-test-locked';
    let code = 'EPERM';
    if (!root) {
      const dir = await mkdtemp(join(tmpdir(), 'waiter-box-'));
      locked = join(dir, 'locked');
      code = 'EACCES';
      await mkdir(locked);
      await chmod(locked, 0o555);
    }
    const [next] = await addOrders(k.db, [['next']]);
    const box = await waiter(k, ['deliver', '--workdir', join(locked, '{1}'), `${FIXTURES}ok.sh`]);
    expect(box.exitCode).toBe(5);
    expect(box.stderr).toContain(`waiter: stopped: box failure: cannot create the workdir ${join(locked, 'next')}: ${code}: stopping this box`);
    expect(await orders(k.db).findOne({ _id: next! })).toMatchObject({ status: 'READY', attempts: 1, uncounted: 1 });
  });

  test('whose fault: the codes that say the box, not the order', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'EACCES', 'EROFS', 'EMFILE']) expect(isBoxWorkdirFailure(code)).toBe(true);
    for (const code of ['ENOTDIR', 'ENAMETOOLONG', 'EEXIST', undefined]) expect(isBoxWorkdirFailure(code)).toBe(false);
    expect(isBoxSpawnFailure('ENOENT', './crunch.sh')).toBe(true);
    expect(isBoxSpawnFailure('ENOENT', undefined)).toBe(false); // the order's field chose the program
    expect(isBoxSpawnFailure('EMFILE', undefined)).toBe(true);
    expect(isBoxSpawnFailure('E2BIG', './crunch.sh')).toBe(false);
  });

  test('--max-failures-in-a-row 3 on a command that always fails: exactly 3 of 20 orders touched, exit 6', async () => {
    await addOrders(
      k.db,
      Array.from({ length: 20 }, (_, i) => [String(i)]),
    );
    const r = await waiter(k, ['-n', 'bad-box', 'deliver', '--max-failures-in-a-row', '3', '--shell', 'exit 1']);
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toContain('waiter: stopped: 3 failures in a row: stopping this box');
    const all = await orders(k.db).find({}).toArray();
    expect(all.filter((o) => o.status === 'ERROR')).toHaveLength(3);
    expect(all.filter((o) => o.status === 'READY' && o.attempts === 0)).toHaveLength(17);
    expect((await k.db.collection('orders.waiters').findOne({ name: 'bad-box' }))?.reason).toBe('3 failures in a row: stopping this box');
  });

  test('with --max-attempts 2 the orders a bad box failed go back READY, their attempts and history kept, for another box', async () => {
    await addOrders(
      k.db,
      Array.from({ length: 6 }, (_, i) => [String(i)]),
    );
    const bad = await waiter(k, ['deliver', '--max-attempts', '2', '--max-failures-in-a-row', '2', '--shell', 'exit 1']);
    expect(bad.exitCode).toBe(6);
    // A retry goes to the back of the line (due = when it failed), so the box failed two different orders.
    const failed = await orders(k.db).find({ attempts: 1 }).toArray();
    expect(failed).toHaveLength(2);
    for (const o of failed) expect(o).toMatchObject({ status: 'READY', history: [{ attempt: 1, result: 'ERROR', exitCode: 1 }] });
    expect(await orders(k.db).countDocuments({ attempts: 0 })).toBe(4);
    const good = await waiter(k, ['deliver', '--max-attempts', '2', '--shell', 'exit 0']);
    expect(good.exitCode).toBe(0);
    expect(await orders(k.db).countDocuments({ status: 'DONE' })).toBe(6);
    for (const o of await orders(k.db)
      .find({ _id: { $in: failed.map((f) => f._id) } })
      .toArray()) {
      expect(o).toMatchObject({
        attempts: 2,
        history: [
          { attempt: 1, result: 'ERROR' },
          { attempt: 2, result: 'DONE' },
        ],
      });
    }
  });

  test('the default breaker (10) is on; 0 turns it off', async () => {
    await addOrders(
      k.db,
      Array.from({ length: 12 }, (_, i) => [String(i)]),
    );
    const on = await waiter(k, ['deliver', '--shell', 'exit 1']);
    expect(on.exitCode).toBe(6);
    expect(await orders(k.db).countDocuments({ status: 'ERROR' })).toBe(10);
    const off = await waiter(k, ['deliver', '--max-failures-in-a-row', '0', '--shell', 'exit 1']);
    expect(off.exitCode).toBe(1);
    expect(await orders(k.db).countDocuments({ status: 'ERROR' })).toBe(12);
    const bad = await waiter(k, ['deliver', '--max-failures-in-a-row', '-1', 'true']);
    expect([bad.exitCode, bad.stderr]).toEqual([2, "waiter: --max-failures-in-a-row: '-1' is not a whole number ≥ 0"]);
  });

  test('a success resets the count: failures not in a row never stop the box', async () => {
    await addOrders(
      k.db,
      Array.from({ length: 9 }, (_, i) => [String(i % 3)]),
    );
    // Orders 0 and 1 fail, 2 succeeds: never 3 failures in a row.
    const r = await waiter(k, ['deliver', '--max-failures-in-a-row', '3', '--shell', '[ "$1" = 2 ]']);
    expect(r.exitCode).toBe(1);
    expect(await orders(k.db).countDocuments({ status: 'READY' })).toBe(0);
  });
});
