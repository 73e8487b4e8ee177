// Recovery from lost waiters (issue #4): leases, takeovers and the claim fence, with
// real waiter processes against the real server.
//
// A waiter's command runs in its own process group (detached), so it survives a
// kill -9 of the waiter: nothing is left to stop it. The kill -9 test stands for "the
// waiter's machine died", so it kills the command's process group too (its pid comes
// from the pid file the fixture writes) — otherwise it would wait forever for a
// release that never comes, and the test would leak it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { FAST, addOrders, alive, background, byId, killAfterTest, lines, orders, pidFrom, statusJson, tempDir } from './support/recovery.js';

const HANG = join(FIXTURES, 'hang.sh');
const BUSY = join(FIXTURES, 'busy.sh');

describe('a lost waiter', () => {
  const k = useDb();

  test('kill -9 mid-order: after the lease another waiter re-runs it (DONE, attempts 2, LOST then DONE in history); nothing else disturbed', async () => {
    const dir = await tempDir('kill9');
    const env = { HANG_DIR: dir };
    const [x, y, z] = await addOrders(k.db, [['first'], ['quick'], ['quick']]);
    const hex = x!.toHexString();

    const a = background(k, ['-n', 'waiter-a', 'deliver', ...FAST, HANG], env);
    const child = await pidFrom(join(dir, `${hex}.1.pid`), 'the first attempt to start');
    killAfterTest(child);
    expect((await byId(k.db, x!)).status).toBe('RUNNING');

    a.proc.kill('SIGKILL');
    expect((await a.proc).signal).toBe('SIGKILL');
    // The machine died: its command goes too (it would survive the waiter, see above).
    expect(alive(child)).toBe(true);
    process.kill(-child, 'SIGKILL');
    await until(() => !alive(child), 10_000, 'the orphaned command to die');

    // Until the lease runs out the order is RUNNING and not stale; then status says stale.
    const stale = await until(
      async () => {
        const s = await statusJson(k);
        return s.stale === 1 ? s : undefined;
      },
      20_000,
      'status --json to report the order stale',
    );
    expect(stale).toMatchObject({ READY: 2, RUNNING: 1, DONE: 0, ERROR: 0, total: 3, stale: 1 });

    const b = await waiter(k, ['-n', 'waiter-b', 'deliver', ...FAST, HANG], { env });
    expect(b.stderr).not.toMatch(/lost order|not recorded/);
    expect(b.stdout).toContain('Done. Delivered 3 orders.');
    expect(b.exitCode).toBe(0);

    const taken = await byId(k.db, x!);
    expect(taken).toMatchObject({ status: 'DONE', attempts: 2, waiter: 'waiter-b', exitCode: 0 });
    expect(taken.history).toHaveLength(2);
    expect(taken.history![0]).toMatchObject({ attempt: 1, waiter: 'waiter-a', result: 'LOST' });
    expect(taken.history![0]!.error).toMatch(/^lost: no heartbeat from waiter-a since /);
    expect(taken.history![1]).toMatchObject({ attempt: 2, waiter: 'waiter-b', result: 'DONE', exitCode: 0 });

    // The other orders ran once each, by waiter-b, as if nothing had happened.
    for (const id of [y!, z!]) {
      const o = await byId(k.db, id);
      expect(o).toMatchObject({ status: 'DONE', attempts: 1, waiter: 'waiter-b', exitCode: 0 });
      expect(o.history?.map((h) => h.result)).toEqual(['DONE']);
    }
    const runs = await lines(join(dir, 'runs'));
    expect(runs.filter((l) => l.endsWith('start')).sort()).toEqual([`${hex} 1 start`, `${hex} 2 start`, `${y!.toHexString()} 1 start`, `${z!.toHexString()} 1 start`].sort());
    expect(await statusJson(k)).toMatchObject({ DONE: 3, RUNNING: 0, READY: 0, stale: 0 });
  });

  test('reset --force while it runs: its heartbeat finds the claim gone, it logs the loss, kills its command, and records nothing', async () => {
    const dir = await tempDir('fence-beat');
    const env = { HANG_DIR: dir };
    const [x] = await addOrders(k.db, [['first']]);
    const hex = x!.toHexString();

    const a = background(k, ['-n', 'waiter-a', 'deliver', '--once', ...FAST, HANG], env);
    const child = await pidFrom(join(dir, `${hex}.1.pid`), 'the first attempt to start');
    killAfterTest(child);
    const first = await byId(k.db, x!);
    expect(first).toMatchObject({ status: 'RUNNING', attempts: 1, waiter: 'waiter-a' });

    const reset = await waiter(k, ['reset', '--force']);
    expect(reset.stdout).toBe('Reset 1 order');

    await until(() => a.stderr().includes(`waiter: lost order ${hex} (reset or taken over)`), 20_000, 'waiter-a to notice the loss');
    await until(() => !alive(child), 20_000, "waiter-a's command to be killed");
    const ra = await a.proc;
    expect(ra.exitCode).toBe(0);
    expect(ra.stdout).toContain('Done. Delivered 0 orders.');
    // The command was stopped before it finished: it never logged its end.
    expect(await lines(join(dir, 'runs'))).toEqual([`${hex} 1 start`]);

    // waiter-a wrote nothing after the reset: the order is exactly as reset left it.
    const after = await byId(k.db, x!);
    expect(after.status).toBe('READY');
    expect(after.claim).toBeUndefined();
    expect(after.history ?? []).toEqual([]);

    const b = await waiter(k, ['-n', 'waiter-b', 'deliver', ...FAST, HANG], { env });
    expect(b.exitCode).toBe(0);
    const final = await byId(k.db, x!);
    expect(final).toMatchObject({ status: 'DONE', attempts: 2, waiter: 'waiter-b', exitCode: 0 });
    expect(final.history).toEqual([expect.objectContaining({ attempt: 2, waiter: 'waiter-b', result: 'DONE' })]);
  });

  test('taken over while its command runs on: when the command ends, the old waiter cannot record over the new attempt', async () => {
    const dir = await tempDir('fence-finish');
    const env = { HANG_DIR: dir };
    const [x] = await addOrders(k.db, [['hold']]);
    const hex = x!.toHexString();

    // waiter-a never heartbeats within this test, so only the finish fence can stop it.
    const a = background(k, ['-n', 'waiter-a', 'deliver', '--once', '--lease', '10m', '--heartbeat', '5m', HANG], env);
    killAfterTest(await pidFrom(join(dir, `${hex}.1.pid`), 'attempt 1 to start'));
    const held = await byId(k.db, x!);

    // Someone takes the order over (reset --force, then another waiter claims it).
    expect((await waiter(k, ['reset', '--force'])).stdout).toBe('Reset 1 order');
    const b = background(k, ['-n', 'waiter-b', 'deliver', '--once', ...FAST, HANG], env);
    killAfterTest(await pidFrom(join(dir, `${hex}.2.pid`), 'attempt 2 to start'));
    const second = await byId(k.db, x!);
    expect(second).toMatchObject({ status: 'RUNNING', attempts: 2, waiter: 'waiter-b' });
    expect(second.claim).not.toBe(held.claim);

    // Attempt 1's command ends: waiter-a tries to record it, and must not.
    await writeFile(join(dir, `${hex}.1.release`), '');
    const ra = await a.proc;
    expect(ra.stderr).toContain(`waiter: order ${hex} was reset or taken over while it ran; its result was not recorded`);
    expect(ra.stdout).toContain('Done. Delivered 0 orders.');
    expect(ra.exitCode).toBe(0);
    const untouched = await byId(k.db, x!);
    expect(untouched).toMatchObject({ status: 'RUNNING', attempts: 2, waiter: 'waiter-b', claim: second.claim });
    expect(untouched.stop).toBeUndefined();
    expect(untouched.history ?? []).toEqual([]);

    await writeFile(join(dir, `${hex}.2.release`), '');
    const rb = await b.proc;
    expect(rb.exitCode).toBe(0);
    expect(rb.stderr).not.toMatch(/lost order|not recorded/);
    const final = await byId(k.db, x!);
    expect(final).toMatchObject({ status: 'DONE', attempts: 2, waiter: 'waiter-b', exitCode: 0 });
    expect(final.history).toEqual([expect.objectContaining({ attempt: 2, waiter: 'waiter-b', result: 'DONE' })]);
  });

  test('a CPU-bound command running longer than the lease is not stale: a second waiter finds nothing to do', async () => {
    const dir = await tempDir('busy');
    const stop = join(dir, 'stop');
    const [x] = await addOrders(k.db, [[stop]]);

    // A 4 s lease: busy.sh pins one of CI's two cores, so a shorter lease could lapse
    // from the waiter being starved rather than from a missing heartbeat.
    const LEASE = 4000;
    const a = background(k, ['-n', 'waiter-a', 'deliver', '--lease', '4s', '--heartbeat', '300ms', BUSY]);
    const running = await until(
      async () => {
        if (a.proc.exitCode !== null) throw new Error(`waiter-a exited ${a.proc.exitCode} before claiming: ${a.stderr()}`);
        const o = await byId(k.db, x!);
        return o.status === 'RUNNING' ? o : undefined;
      },
      45_000,
      'the order to be claimed',
    );
    // Wait (by polling, not sleeping) until the command has run well past one lease.
    await until(() => Date.now() - running.start!.getTime() > 2 * LEASE, 20_000, 'two leases to pass');

    expect(await statusJson(k)).toMatchObject({ RUNNING: 1, stale: 0 });
    // --leave-early: without it b would stay until a's order ends (test/deliver-tail.test.ts).
    const b = await waiter(k, ['-n', 'waiter-b', 'deliver', '--leave-early', ...FAST, BUSY]);
    expect(b.stdout).toContain('Done. Delivered 0 orders.');
    expect(b.exitCode).toBe(0);
    const still = await byId(k.db, x!);
    expect(still).toMatchObject({ status: 'RUNNING', attempts: 1, waiter: 'waiter-a', claim: running.claim });
    expect(still.heartbeat!.getTime()).toBeGreaterThan(running.start!.getTime() + LEASE);

    await writeFile(stop, '');
    const ra = await a.proc;
    expect(ra.exitCode).toBe(0);
    expect(ra.stdout).toContain('Done. Delivered 1 order.');
    const final = await byId(k.db, x!);
    expect(final).toMatchObject({ status: 'DONE', attempts: 1, waiter: 'waiter-a', exitCode: 0 });
    expect(final.history).toEqual([expect.objectContaining({ attempt: 1, result: 'DONE' })]);
    expect(await orders(k.db).countDocuments()).toBe(1);
  });
});
