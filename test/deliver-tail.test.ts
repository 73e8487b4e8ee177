// A run ends by itself (issue 25): a waiter without --wait does not leave while orders
// run on other waiters, whose box may die (a spot instance reclaimed): it takes over
// the orders that go stale, then leaves. --leave-early keeps the old way (leave when
// nothing can be claimed now). Real processes, the real server.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, alive, background, byId, killAfterTest, orders, pidFrom, runningElsewhere, tempDir } from './support/recovery.js';

const k = useDb();
const HANG = join(FIXTURES, 'hang.sh');
const OK = join(FIXTURES, 'ok.sh');
const WAITING_LINE =
  /waiter: nothing due now; waiting for 1 order RUNNING on other waiters \(its lease ends by \S+ unless renewed; a stale one is taken over\); --leave-early to exit now/;

/** An order RUNNING on a waiter that is not one of the test's processes, its lease ending in `inMs`. */
const runningFor = (inMs: number) => runningElsewhere(k.db, new Date(Date.now() + inMs));

describe('the end of a run', () => {
  test("three waiters without --wait, one kill -9'd mid-order: the two others take its order over when its lease ends, then exit 0; every order DONE", async () => {
    const dir = await tempDir('tail');
    const env = { HANG_DIR: dir };
    const ids = await addOrders(k.db, [['hold'], ['hold'], ['hold']]);
    const fast = ['--lease', '3s', '--heartbeat', '500ms'];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => background(k, ['-n', n, 'deliver', '-x', '1', ...fast, HANG], env));
    // Each waiter holds one order (hang.sh `hold` runs until its release file exists).
    const pids = await Promise.all(ids.map((id) => pidFrom(join(dir, `${id.toHexString()}.1.pid`), 'every order to start')));
    pids.forEach(killAfterTest); // each command leads its own process group
    const onA = (await orders(k.db).findOne({ waiter: 'a', status: 'RUNNING' }))!._id;

    // kill -9 hits the waiter only: its command runs on, unobserved.
    a!.proc.kill('SIGKILL');
    await a!.proc;
    const hexA = onA.toHexString();
    const childA = pids[ids.findIndex((id) => id.equals(onA))]!;
    expect(alive(childA)).toBe(true);
    await writeFile(join(dir, `${hexA}.1.release`), ''); // it finishes, and nobody records it
    for (const id of ids.filter((i) => !i.equals(onA))) await writeFile(join(dir, `${id.toHexString()}.1.release`), '');

    // b and c finish theirs, find nothing to claim, and wait for a's order to go stale.
    const second = join(dir, `${hexA}.2.pid`);
    const exited = () => b!.proc.exitCode !== null && c!.proc.exitCode !== null;
    await until(() => existsSync(second) || exited(), 60_000, "a's order taken over, or b and c gone");
    expect(existsSync(second), `b and c exited leaving a's order ${(await byId(k.db, onA)).status}: ${b!.stderr()} ${c!.stderr()}`).toBe(true);
    await writeFile(join(dir, `${hexA}.2.release`), '');

    const [rb, rc] = await Promise.all([b!.proc, c!.proc]);
    expect([rb.exitCode, rc.exitCode]).toEqual([0, 0]);
    const all = await orders(k.db).find({}).toArray();
    expect(all.map((o) => o.status)).toEqual(['DONE', 'DONE', 'DONE']);
    const taken = await byId(k.db, onA);
    expect(taken.attempts).toBe(2);
    expect(taken.history!.map((h) => [h.waiter, h.result])).toEqual([
      ['a', 'LOST'],
      [taken.waiter, 'DONE'],
    ]);
    expect(['b', 'c']).toContain(taken.waiter);
    // Whoever did not take it over said what it waited for (the other may have claimed it first).
    expect(`${b!.stderr()}\n${c!.stderr()}`).toMatch(/waiting for 1 order RUNNING on other waiters/);
  }, 180_000);

  test('waiting for an order running elsewhere: IDLE in the registry, says so once, leaves (exit 0) when it finishes', async () => {
    const id = await runningFor(10 * 60_000);
    const w = background(k, ['-n', 'tail', 'deliver', '--poll', '300ms', OK]);
    await until(() => WAITING_LINE.test(w.stderr()), 60_000, 'the waiting line');
    const registry = await until(
      async () => {
        const r = await waiter(k, ['waiters', '--json']);
        const row = r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { name: string; state: string })
          .find((x) => x.name === 'tail');
        return row?.state === 'IDLE' ? row : undefined;
      },
      30_000,
      'the waiter IDLE in the registry',
    );
    expect(registry.state).toBe('IDLE');
    expect(w.proc.exitCode).toBeNull();
    // Its own waiter finishes it: nothing RUNNING is left, so this one leaves.
    await orders(k.db).updateOne({ _id: id }, { $set: { status: 'DONE', stop: new Date(), prio: 0 }, $unset: { due: '', claim: '' } });
    const r = await w.proc;
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('Done. Delivered 0 orders.');
    expect(
      w
        .stderr()
        .split('\n')
        .filter((l) => /waiting for/.test(l)),
    ).toHaveLength(1);
    const row = (await waiter(k, ['waiters', '--json'])).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { name: string; reason?: string })
      .find((x) => x.name === 'tail');
    expect(row?.reason).toBe('empty list');
  }, 120_000);

  test('it sleeps until a lease ends, not a whole --poll: a stale order is taken over, then it leaves', async () => {
    const id = await runningFor(6000);
    // --poll 10m: were it to sleep a whole poll, the test would time out.
    const r = await waiter(k, ['-n', 'tail', 'deliver', '--poll', '10m', OK]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Done\. Delivered 1 order\.$/);
    expect(r.stderr).toMatch(WAITING_LINE);
    expect(await byId(k.db, id)).toMatchObject({ status: 'DONE', waiter: 'tail', attempts: 2 });
  }, 120_000);

  test('--leave-early: leaves at once beside an order running elsewhere (the old way); with --wait it is a usage error', async () => {
    const id = await runningFor(10 * 60_000);
    await addOrders(k.db, [['one']]);
    const r = await waiter(k, ['deliver', '--leave-early', '--poll', '10m', OK]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Done\. Delivered 1 order\.$/);
    expect(r.stderr).not.toMatch(/waiting/);
    expect(await byId(k.db, id)).toMatchObject({ status: 'RUNNING', waiter: 'box-gone' });
    const both = await waiter(k, ['deliver', '--leave-early', '--wait', OK]);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/--leave-early and --wait/);
    expect((await waiter(k, ['deliver', '--help'])).stdout).toMatch(/--leave-early/);
  }, 120_000);

  test('--once leaves early: a pilot job that finds nothing to claim beside an order running elsewhere exits at once (exit 0)', async () => {
    const id = await runningFor(10 * 60_000);
    // --poll 10m and a lease 10 minutes away: a wait would be killed at 60 s and fail the test.
    const r = await waiter(k, ['deliver', '--once', '--poll', '10m', OK], { timeout: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('Done. Delivered 0 orders.');
    expect(r.stderr).not.toMatch(/waiting/);
    expect(await byId(k.db, id)).toMatchObject({ status: 'RUNNING', waiter: 'box-gone' });
    expect((await waiter(k, ['deliver', '--help'])).stdout).toMatch(/--once .*leaves as soon as nothing can be claimed/s);
  }, 120_000);

  test('nothing in flight: leaves at once as before, -x 2 included (its own orders being recorded are not waited for); READY orders due later (--at) are not waited for either', async () => {
    await addOrders(k.db, [['1'], ['2'], ['3']]);
    const later = new Date(Date.now() + 3_600_000);
    await orders(k.db).insertOne({ status: 'READY', arguments: ['later'], attempts: 0, due: later, prio: 0 } as never);
    // --poll 10m: any wait would time the test out.
    const r = await waiter(k, ['deliver', '-x', '2', '--poll', '10m', OK]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Done\. Delivered 3 orders\.$/);
    expect(r.stderr).not.toMatch(/waiting/);
    expect(await orders(k.db).countDocuments({ status: 'DONE' })).toBe(3);
    expect(await orders(k.db).countDocuments({ status: 'READY' })).toBe(1);
  }, 120_000);
});
