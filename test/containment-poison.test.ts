// Issue 15, items 1-3: an order can fail, a waiter does not. A poison order (an
// argument no program can receive, a command that kills its own waiter) ends ERROR;
// every waiter survives it; what can never run is refused at the door.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { options as addOptions } from '../src/commands/add.js';
import { MAX_ARGUMENT_BYTES } from '../src/limits.js';
import { submission } from '../src/serve/input.js';
import { FIXTURES, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { addOrders, orders } from './support/recovery.js';

const k = useDb();
const big = 'x'.repeat(200_000);

describe('a poison order', () => {
  test('a 200 KB argument written straight into the kitchen: both waiters survive, it ends ERROR, the others are DONE', async () => {
    const [, poison] = await addOrders(k.db, [['a'], [big], ['b'], ['c'], ['d']]);
    const [one, two] = await Promise.all([waiter(k, ['-n', 'w1', 'deliver', `${FIXTURES}ok.sh`]), waiter(k, ['-n', 'w2', 'deliver', '-x', '2', `${FIXTURES}ok.sh`])]);
    // One of them met the poison order (exit 1: an order failed); neither crashed.
    expect([one.exitCode, two.exitCode].sort()).toEqual([0, 1]);
    for (const r of [one, two]) expect(r.stderr).not.toMatch(/E2BIG|internal|at .*\.js/);
    const p = (await orders(k.db).findOne({ _id: poison! }))!;
    expect(p).toMatchObject({ status: 'ERROR', attempts: 1 });
    expect(p.error).toBe(
      `argument 1 is 200,000 bytes: argument too long (a program can receive at most ${MAX_ARGUMENT_BYTES.toLocaleString('en-US')} bytes in one, Linux's MAX_ARG_STRLEN)`,
    );
    expect(p.history).toMatchObject([{ attempt: 1, result: 'ERROR', error: p.error }]);
    expect(await orders(k.db).countDocuments({ status: 'DONE' })).toBe(4);
  });

  test('the same through a template and named columns: the argv built is checked, the order ERROR, the waiter on', async () => {
    await k.db.collection('orders.columns').insertOne({ _id: 'c1', names: ['n'] } as never);
    await orders(k.db).insertMany([
      { status: 'READY', arguments: ['x'.repeat(100_000)], attempts: 0, due: new Date(0), columns: 'c1' },
      { status: 'READY', arguments: ['ok'], attempts: 0, due: new Date(1), columns: 'c1' },
    ] as never);
    // {n}{n} makes one 200 KB argument out of a 100 KB field.
    const r = await waiter(k, ['deliver', `${FIXTURES}ok.sh`, '{n}{n}']);
    expect(r.exitCode).toBe(1);
    const all = await orders(k.db).find({}).sort({ due: 1 }).toArray();
    expect(all.map((o) => o.status)).toEqual(['ERROR', 'DONE']);
    expect(all[0]!.error).toMatch(/^argument 1 is 200,000 bytes: argument too long/);
  });

  test('refused at the door: load names the line (exit 4, list unchanged), add exits 2, the API answers 400', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-poison-'));
    const csv = join(dir, 'jobs.csv');
    await writeFile(csv, `a,1\nb,${big}\nc,3\n`);
    const load = await waiter(k, ['load', csv]);
    expect(load.exitCode).toBe(4);
    expect(load.stderr).toBe(`waiter: ${csv} line 2: field 2 is 200,000 bytes: argument too long (a program can receive at most 131,071 bytes in one, Linux's MAX_ARG_STRLEN)`);
    expect(await orders(k.db).countDocuments()).toBe(0);

    // Five 120 KB arguments: each fits, together they do not (the waiter's own argv still can: 600 KB).
    const five = Array.from({ length: 5 }, () => 'y'.repeat(120_000));
    const add = await waiter(k, ['add', '--', ...five]);
    expect(add.exitCode).toBe(2);
    expect(add.stderr).toMatch(/^waiter: add: the arguments take 600,045 bytes together: argument list too long \(at most 524,288; .*\); nothing added$/);
    // One argument over the limit cannot even reach waiter through a shell; the same check, directly:
    expect(() => addOptions({ args: [big] }, [])).toThrow(/^add: argument 1 is 200,000 bytes: argument too long/);
    expect(() => addOptions({ field: [`name=${big}`] }, [])).toThrow(/^add: --field name is 200,000 bytes/);
    expect(await orders(k.db).countDocuments()).toBe(0);

    const s = await serve(k);
    const one = await s.call('/api/orders', { method: 'POST', json: [{ arguments: ['fine'] }, { arguments: ['ok', big] }] });
    expect(one.status).toBe(400);
    expect(one.body.error).toMatch(/^\[1\]: arguments\[1\] is 200,000 bytes: argument too long/);
    const seven = await s.call('/api/orders', { method: 'POST', json: { arguments: ['z'.repeat(7_000_000)] } });
    expect(seven.status).toBe(400);
    expect(seven.body.error).toMatch(/^body: arguments\[0\] is 7,000,000 bytes: argument too long/);
    expect(await orders(k.db).countDocuments()).toBe(0);
    expect(() => submission({ arguments: ['a\0b'] })).toThrow(/NUL/);
  });

  test('a NUL in a CSV field is refused at load too (no program can receive it)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-poison-'));
    const csv = join(dir, 'nul.csv');
    await writeFile(csv, 'a,1\nb,x\0y\n');
    const r = await waiter(k, ['load', csv]);
    expect([r.exitCode, r.stderr]).toEqual([4, `waiter: ${csv} line 2: field 2 contains a NUL character, which no program can receive`]);
    expect(await orders(k.db).countDocuments()).toBe(0);
  });
});

describe('lost attempts count', () => {
  test('a command that kills its own waiter: with --max-attempts 2, the third waiter ends it ERROR "lost 2 times" without running it', async () => {
    const [id] = await addOrders(k.db, [['poison']]);
    const dir = await mkdtemp(join(tmpdir(), 'waiter-lost-'));
    const ran = join(dir, 'ran');
    // The command notes each run, then SIGKILLs the waiter that started it.
    const script = `echo run >> '${ran}'; kill -9 $PPID`;
    const lease = ['--lease', '1s', '--heartbeat', '300ms', '--max-attempts', '2'];
    const stale = () =>
      until(
        async () => {
          const o = await orders(k.db).findOne({ _id: id! });
          return o?.status === 'RUNNING' && o.expires! < new Date();
        },
        20_000,
        'the order to go stale',
      );
    for (const name of ['w1', 'w2']) {
      const r = await waiter(k, ['-n', name, 'deliver', ...lease, '--shell', script]);
      expect(r.signal).toBe('SIGKILL');
      await stale();
    }
    const third = await waiter(k, ['-n', 'w3', 'deliver', ...lease, '--shell', script]);
    expect(third.exitCode).toBe(1);
    expect(third.stderr).toContain('failed: lost 2 times (last on w2)');
    const o = (await orders(k.db).findOne({ _id: id! }))!;
    // The third attempt, never run, is given back: 3 made, 2 counted.
    expect(o).toMatchObject({ status: 'ERROR', error: 'lost 2 times (last on w2)', attempts: 3, uncounted: 1 });
    expect(o.history!.map((h) => [h.attempt, h.waiter, h.result])).toEqual([
      [1, 'w1', 'LOST'],
      [2, 'w2', 'LOST'],
      [3, 'w3', 'ERROR'],
    ]);
    expect(o.history![2]!.error).toBe('lost 2 times (last on w2)');
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(ran, 'utf8')).trim().split('\n')).toEqual(['run', 'run']);

    // `waiter reset` brings it back as usual.
    expect((await waiter(k, ['reset'])).exitCode).toBe(0);
    expect(await orders(k.db).findOne({ _id: id! })).toMatchObject({ status: 'READY' });
  });

  test('with the default --max-attempts (1) a lost order is still re-run once: a vanished box is the everyday case', async () => {
    const [id] = await addOrders(k.db, [['x']]);
    const script = `[ "$WAITER_ATTEMPT" = 1 ] && kill -9 $PPID; exit 0`;
    const lease = ['--lease', '1s', '--heartbeat', '300ms'];
    expect((await waiter(k, ['-n', 'w1', 'deliver', ...lease, '--shell', script])).signal).toBe('SIGKILL');
    await until(async () => ((await orders(k.db).findOne({ _id: id! }))?.expires ?? new Date()) < new Date(), 20_000, 'stale');
    const second = await waiter(k, ['-n', 'w2', 'deliver', ...lease, '--shell', script]);
    expect(second.exitCode).toBe(0);
    expect(await orders(k.db).findOne({ _id: id! })).toMatchObject({ status: 'DONE', attempts: 2 });
  });
});
