// `waiter reset` and live orders: a RUNNING order whose waiter still heartbeats is left
// alone unless --force (or --older-than says it has run too long).
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, alive, background, byId, killAfterTest, orders, pidFrom, statusJson, tempDir, type OrderDoc } from './support/recovery.js';

const HANG = join(FIXTURES, 'hang.sh');
const HOUR = 3_600_000;

describe('reset', () => {
  const k = useDb();

  /** A RUNNING order as a waiter's claim leaves it. */
  const running = (args: string[], start: Date, expires: Date) =>
    ({ status: 'RUNNING', arguments: args, attempts: 1, waiter: 'elsewhere', start, heartbeat: start, expires, claim: `c-${args[0]}` }) as unknown as OrderDoc;

  test('leaves a live RUNNING order alone, resets ERROR and stale ones; --force resets the live one and its waiter stops', async () => {
    const dir = await tempDir('reset');
    const [live] = await addOrders(k.db, [['hold']]);
    // A lease no other test file's hold on the (serialised) test server can outlast: the
    // order must be live throughout; --force is noticed by the 300 ms heartbeat.
    const a = background(k, ['-n', 'waiter-a', 'deliver', '--once', '--lease', '10s', '--heartbeat', '300ms', HANG], { HANG_DIR: dir });
    const child = await pidFrom(join(dir, `${live!.toHexString()}.1.pid`), 'the live order to start');
    killAfterTest(child);
    const claimed = await byId(k.db, live!);

    const now = Date.now();
    const { insertedIds } = await orders(k.db).insertMany([
      { status: 'ERROR', arguments: ['err'], attempts: 1, error: 'exit code 3', exitCode: 3 } as unknown as OrderDoc,
      running(['stale'], new Date(now - 60_000), new Date(now - 1000)),
    ]);
    expect(await statusJson(k)).toMatchObject({ RUNNING: 2, ERROR: 1, stale: 1 });

    const r = await waiter(k, ['reset']);
    expect(r.stdout).toBe('Reset 2 orders (1 still running, left alone)');
    expect(r.exitCode).toBe(0);
    for (const id of Object.values(insertedIds)) {
      const o = await byId(k.db, id);
      expect(o.status).toBe('READY');
      expect(o.claim).toBeUndefined();
    }
    const still = await byId(k.db, live!);
    expect(still).toMatchObject({ status: 'RUNNING', claim: claimed.claim, waiter: 'waiter-a' });
    expect(alive(child)).toBe(true);
    expect(a.stderr()).not.toContain('lost order');

    const f = await waiter(k, ['reset', '--force']);
    expect(f.stdout).toBe('Reset 1 order');
    expect(await byId(k.db, live!)).toMatchObject({ status: 'READY' });
    await until(() => !alive(child), 20_000, "the reset order's command to be killed");
    const ra = await a.proc;
    expect(ra.stderr).toContain(`waiter: lost order ${live!.toHexString()}`);
    expect(ra.exitCode).toBe(0);
    expect(await statusJson(k)).toMatchObject({ READY: 3, RUNNING: 0, ERROR: 0, stale: 0 });
  });

  test('--older-than resets RUNNING orders started before then, alive or not, and stale ones; leaves young live ones', async () => {
    const now = Date.now();
    const future = new Date(now + HOUR);
    const { insertedIds } = await orders(k.db).insertMany([
      running(['old-alive'], new Date(now - 3 * HOUR), future),
      running(['young-alive'], new Date(now - 60_000), future),
      running(['young-stale'], new Date(now - 60_000), new Date(now - 1000)),
      { status: 'ERROR', arguments: ['err'], attempts: 1 } as unknown as OrderDoc,
      { status: 'DONE', arguments: ['done'], attempts: 1 } as unknown as OrderDoc,
    ]);
    const [oldAlive, youngAlive, youngStale, err, done] = Object.values(insertedIds);

    const r = await waiter(k, ['reset', '--older-than', '2h']);
    expect(r.stdout).toBe('Reset 3 orders (1 still running, left alone)');
    for (const id of [oldAlive!, youngStale!, err!]) expect((await byId(k.db, id)).status).toBe('READY');
    expect(await byId(k.db, youngAlive!)).toMatchObject({ status: 'RUNNING', claim: 'c-young-alive' });
    expect((await byId(k.db, done!)).status).toBe('DONE');
  });

  test('--status ERROR leaves every RUNNING order alone, even a stale one; --force resets all RUNNING orders', async () => {
    const now = Date.now();
    const { insertedIds } = await orders(k.db).insertMany([
      running(['alive'], new Date(now), new Date(now + HOUR)),
      running(['stale'], new Date(now - 60_000), new Date(now - 1000)),
      { status: 'ERROR', arguments: ['err'], attempts: 1 } as unknown as OrderDoc,
    ]);
    const [alive1, stale, err] = Object.values(insertedIds);

    expect((await waiter(k, ['reset', '--status', 'ERROR'])).stdout).toBe('Reset 1 order');
    expect((await byId(k.db, err!)).status).toBe('READY');
    expect((await byId(k.db, alive1!)).status).toBe('RUNNING');
    expect((await byId(k.db, stale!)).status).toBe('RUNNING');

    expect((await waiter(k, ['reset', '--force'])).stdout).toBe('Reset 2 orders');
    expect(await statusJson(k)).toMatchObject({ READY: 3, RUNNING: 0, stale: 0 });
  });
});
