// Stopping a waiter with signals: the first SIGTERM drains (no new claims, running
// commands finish), a second one kills the commands and puts their orders back READY.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { FAST, addOrders, alive, background, byId, killAfterTest, lines, pidFrom, statusJson, tempDir, type Background } from './support/recovery.js';

const HANG = join(FIXTURES, 'hang.sh');

describe('deliver -x 4 and signals', () => {
  const k = useDb();

  /** Six held orders, a waiter running four of them; resolves once all four commands run. */
  async function fourRunning(extra: string[] = []) {
    const dir = await tempDir('signals');
    const ids = await addOrders(
      k.db,
      Array.from({ length: 6 }, () => ['hold']),
    );
    const w = background(k, ['-n', 'w', 'deliver', '-x', '4', ...FAST, ...extra, HANG], { HANG_DIR: dir });
    const first = ids.slice(0, 4);
    const pids = await Promise.all(first.map((id) => pidFrom(join(dir, `${id.toHexString()}.1.pid`), `order ${id.toHexString()} to start`)));
    pids.forEach(killAfterTest);
    expect(await statusJson(k)).toMatchObject({ RUNNING: 4, READY: 2 });
    return { dir, ids, first, rest: ids.slice(4), pids, w };
  }

  async function signalled(w: Background, line: RegExp) {
    w.proc.kill('SIGTERM');
    await until(() => line.test(w.stderr()), 20_000, `the waiter to log ${line}`);
  }

  async function neverRan(dir: string, ids: ObjectId[]) {
    const started = await lines(join(dir, 'runs'));
    for (const id of ids) {
      expect(started.filter((l) => l.startsWith(id.toHexString()))).toEqual([]);
      expect(await byId(k.db, id)).toMatchObject({ status: 'READY', attempts: 0 });
    }
  }

  test('SIGTERM: no new claims, the running commands finish and are recorded, exit 143', async () => {
    const { dir, first, rest, pids, w } = await fourRunning();

    await signalled(w, /waiter: SIGTERM: no new orders; waiting for 4 running order\(s\) \(again to kill them\)/);
    // The commands were not touched by the signal: they are still waiting for their release.
    expect(pids.every(alive)).toBe(true);
    for (const id of first) await writeFile(join(dir, `${id.toHexString()}.1.release`), '');

    const r = await w.proc;
    expect(r.exitCode).toBe(143);
    expect(r.stdout).toContain('Done. Delivered 4 orders.');
    for (const id of first) {
      const o = await byId(k.db, id);
      expect(o).toMatchObject({ status: 'DONE', attempts: 1, exitCode: 0 });
      expect(o.history?.map((h) => h.result)).toEqual(['DONE']);
    }
    await neverRan(dir, rest);
    expect(await statusJson(k)).toMatchObject({ RUNNING: 0, DONE: 4, READY: 2, stale: 0 });
  });

  test('a second SIGTERM kills the running commands and puts their orders back READY (history INTERRUPTED), exit 143', async () => {
    const { dir, first, rest, pids, w } = await fourRunning();

    await signalled(w, /waiter: SIGTERM: no new orders/);
    await signalled(w, /waiter: SIGTERM: killing running orders and putting them back READY/);
    for (const pid of pids) await until(() => !alive(pid), 20_000, `command ${pid} to be killed`);

    const r = await w.proc;
    expect(r.exitCode).toBe(143);
    expect(r.stderr).toContain('waiter: 4 interrupted orders put back READY');
    expect(r.stdout).toContain('Done. Delivered 0 orders.');
    for (const id of first) {
      const o = await byId(k.db, id);
      expect(o).toMatchObject({ status: 'READY', attempts: 1, error: 'interrupted by SIGTERM' });
      expect(o.claim).toBeUndefined();
      expect(o.history).toEqual([expect.objectContaining({ attempt: 1, waiter: 'w', result: 'INTERRUPTED', error: 'interrupted by SIGTERM' })]);
    }
    // None of them ran to its end.
    expect((await lines(join(dir, 'runs'))).filter((l) => l.endsWith(' end'))).toEqual([]);
    await neverRan(dir, rest);
    expect(await statusJson(k)).toMatchObject({ RUNNING: 0, DONE: 0, READY: 6, stale: 0 });
  });

  test('--grace: after the first SIGTERM the running commands are killed when the grace period ends', async () => {
    const grace = 3000;
    const { first, rest, dir, pids, w } = await fourRunning(['--grace', `${grace}ms`]);

    const sent = Date.now();
    await signalled(w, /waiter: SIGTERM: no new orders/);
    // Not killed by the signal itself: alive after it, and until the grace has passed.
    expect(pids.every(alive)).toBe(true);
    await until(() => !pids.some(alive), 20_000, 'the commands to be killed');
    const killed = Date.now();
    expect(killed - sent).toBeGreaterThanOrEqual(grace);
    const r = await w.proc;
    expect(r.exitCode).toBe(143);
    expect(pids.some(alive)).toBe(false);
    for (const id of first) expect(await byId(k.db, id)).toMatchObject({ status: 'READY', attempts: 1, error: 'interrupted by SIGTERM' });
    await neverRan(dir, rest);
    expect(await statusJson(k)).toMatchObject({ RUNNING: 0, READY: 6 });
  });
});
