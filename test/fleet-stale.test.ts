// A dead waiter (kill -9) as `waiters`, the API and `show` tell it (issue 25 item 7): the
// results it recorded after its last registry write, how long it was up, and its
// order's lease that ran out.
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { afterEach, describe, expect, test } from 'vitest';
import { until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const registry = () => k.db.collection<{ _id: string } & Record<string, unknown>>('orders.waiters');

interface Row {
  id: string;
  pid: number;
  state: string;
  delivered: number;
  failed: number;
  started: string;
  seen: string;
  countsAtLeast?: boolean;
}

const rows = async (): Promise<Row[]> => {
  const r = await waiter(k, ['waiters', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout === '' ? [] : r.stdout.split('\n').map((l) => JSON.parse(l) as Row);
};

let pidFile = '';
afterEach(async () => {
  const pids = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(-Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pidFile = '';
});

describe('a STALE waiter', () => {
  test('kill -9 between heartbeats: DELIVERED counts what it finished, UP runs to its last result', async () => {
    pidFile = join(tmpdir(), `waiter-stale-${randomBytes(4).toString('hex')}`);
    await writeFile(pidFile, '');
    // Four quick orders, then one that runs until the test kills the box.
    await orders().insertMany(
      ['q1', 'q2', 'q3', 'q4', 'slow'].map((a, i) => ({ _id: new ObjectId(`${'0'.repeat(23)}${i + 1}`), status: 'READY', arguments: [a], attempts: 0, due: new Date(0), prio: 0 })),
    );
    const script = 'case "$1" in slow) echo $$ >> "$PIDS"; exec sleep 300;; esac';
    // A heartbeat far longer than the four orders take: the registry hears of them only by the orders.
    const a = waiter(k, ['-n', 'box-c', 'deliver', '--lease', '20s', '--heartbeat', '15s', 'sh', '-c', script, 'sh'], { env: { PIDS: pidFile } });
    await until(
      async () => (await orders().countDocuments({ status: 'DONE' })) === 4 && (await orders().countDocuments({ status: 'RUNNING' })) === 1,
      30_000,
      'four DONE, one RUNNING',
    );
    a.kill('SIGKILL');
    await a;
    // What makes this test: the box died before its registry said so. Whether a change
    // check (src/deliver/registry.ts) wrote between two orders depends on the machine's
    // speed, so the registry is put back to what it said before its first result: a
    // write at its first claim, the orders' results all after it.
    const first = Math.min(...(await orders().find({ status: 'DONE' }).toArray()).map((o) => +(o.start as Date)));
    await registry().updateOne({ pid: a.pid }, { $set: { delivered: 0, failed: 0, seen: new Date(first - 1), expires: new Date(first - 1 + 20_000) }, $unset: { recording: '' } });

    const row = await until(async () => (await rows()).find((w) => w.pid === a.pid && w.state === 'STALE'), 60_000, 'STALE');
    expect(row).toMatchObject({ delivered: 4, failed: 0 });
    expect(row.countsAtLeast).toBeUndefined();
    // Last seen: its last result at the least (not the registry's last write), so UP = seen - started.
    const stops = (await orders().find({ status: 'DONE' }).toArray()).map((o) => +(o.stop as Date));
    expect(Date.parse(row.seen)).toBeGreaterThanOrEqual(Math.max(...stops));
    const table = (await waiter(k, ['waiters'])).stdout.split('\n');
    expect(table.find((l) => l.startsWith('box-c'))).toMatch(/^box-c +\S+ +STALE +1 +4 +0 /);
  }, 120_000);

  test('UP is last seen - started: its results after its last write, one it was writing, not LOST or INTERRUPTED ones', async () => {
    const now = Date.now();
    const t = (ago: number) => new Date(now - ago);
    const attempt = (result: string, stop: Date, waiter = 'box-d') => ({ attempt: 1, waiter, start: new Date(+stop - 1000), stop, result });
    await registry().insertOne({
      _id: 'dead',
      name: 'box-d',
      host: 'h',
      pid: 1,
      command: ['true'],
      concurrency: 2,
      lease: 60_000,
      heartbeat: 10_000,
      // Last written 120 s ago, one result counted; it was writing another then.
      started: t(121_000),
      seen: t(120_000),
      expires: t(60_000),
      running: [],
      delivered: 1,
      failed: 0,
      recording: [{ order: '00000000000000000000000a', stop: t(120_500) }],
    });
    await orders().insertMany([
      { _id: new ObjectId('00000000000000000000000a'), status: 'DONE', arguments: ['w'], attempts: 1, waiter: 'box-d', stop: t(120_500), history: [attempt('DONE', t(120_500))] },
      { _id: new ObjectId('00000000000000000000000b'), status: 'DONE', arguments: ['a'], attempts: 1, waiter: 'box-d', stop: t(110_000), history: [attempt('DONE', t(110_000))] },
      { _id: new ObjectId('00000000000000000000000c'), status: 'ERROR', arguments: ['b'], attempts: 1, waiter: 'box-d', stop: t(100_000), history: [attempt('ERROR', t(100_000))] },
      // Failed with a retry, taken since by another waiter.
      {
        _id: new ObjectId('00000000000000000000000d'),
        status: 'RUNNING',
        arguments: ['c'],
        attempts: 2,
        waiter: 'box-e',
        heartbeat: t(1000),
        expires: t(-60_000),
        history: [attempt('ERROR', t(90_000))],
      },
      // Not its results: interrupted, and lost (written by the waiter that took it over).
      {
        _id: new ObjectId('00000000000000000000000e'),
        status: 'READY',
        arguments: ['d'],
        attempts: 1,
        waiter: 'box-d',
        stop: t(95_000),
        history: [attempt('INTERRUPTED', t(95_000))],
      },
      {
        _id: new ObjectId('00000000000000000000000f'),
        status: 'DONE',
        arguments: ['e'],
        attempts: 2,
        waiter: 'box-e',
        stop: t(30_000),
        history: [attempt('LOST', t(80_000)), attempt('DONE', t(30_000), 'box-e')],
      },
    ]);
    const [row] = await rows();
    expect(row).toMatchObject({ id: 'dead', state: 'STALE', delivered: 5, failed: 1, seen: t(90_000).toISOString() });
    const table = (await waiter(k, ['waiters'])).stdout.split('\n');
    // Up 31 s (121 s ago to 90 s ago), not 1.0s (its registry's last write).
    expect(table[1]).toMatch(/^box-d +h +STALE +0 +5 +1 +31s +1m\d\ds ago/);
    // The API gives the same figures as waiters --json (and the page reads them).
    const s = await serve(k);
    const api = await s.call('/api/waiters');
    expect(api.body).toEqual(await rows());
  });

  test('beside a live process of its name, its counts are those of its last write, marked as at least', async () => {
    const now = Date.now();
    const base = { host: 'h', pid: 1, command: ['true'], concurrency: 1, lease: 60_000, heartbeat: 10_000, running: [], failed: 0 };
    await registry().insertMany([
      { ...base, _id: 'dead', name: 'twin', started: new Date(now - 200_000), seen: new Date(now - 120_000), expires: new Date(now - 60_000), delivered: 3 },
      { ...base, _id: 'live', name: 'twin', started: new Date(now - 200_000), seen: new Date(now), expires: new Date(now + 60_000), delivered: 5 },
    ]);
    await orders().insertOne({
      status: 'DONE',
      arguments: ['x'],
      attempts: 1,
      waiter: 'twin',
      stop: new Date(now - 100_000),
      history: [{ attempt: 1, waiter: 'twin', start: new Date(now - 101_000), stop: new Date(now - 100_000), result: 'DONE' }],
    });
    const dead = (await rows()).find((w) => w.id === 'dead')!;
    expect(dead).toMatchObject({ state: 'STALE', delivered: 3, countsAtLeast: true });
    expect((await waiter(k, ['waiters'])).stdout).toMatch(/^twin +h +STALE +0 +3\+ +0\+ /m);
  });
});

describe('a waiter that was only slow', () => {
  test('frozen (SIGSTOP) long enough to be settled as dead, then thawed: its own next write clears that, its own counts again', async () => {
    await orders().insertMany(['a', 'b'].map((x) => ({ status: 'READY', arguments: [x], attempts: 0, due: new Date(0), prio: 0 })));
    const a = waiter(k, ['-n', 'box-f', 'deliver', '--wait', '--poll', '1s', '--lease', '2s', '--heartbeat', '500ms', 'true']);
    try {
      await until(async () => (await registry().findOne({ pid: a.pid }))?.delivered === 2, 30_000, 'two delivered');
      process.kill(a.pid!, 'SIGSTOP');
      // STALE, and settled (a lease after its window) by a `waiters` call.
      await until(async () => (await rows(), (await registry().findOne({ pid: a.pid }))?.settled), 60_000, 'settled');
      process.kill(a.pid!, 'SIGCONT');
      const back = await until(async () => (await rows()).find((w) => w.pid === a.pid && w.state === 'IDLE'), 30_000, 'IDLE again');
      expect(back.delivered).toBe(2);
      expect((await registry().findOne({ pid: a.pid }))!.settled).toBeUndefined();
    } finally {
      a.kill('SIGKILL');
      await a;
    }
  }, 120_000);
});

describe('STALE waiters of one name', () => {
  const base = { host: 'h', pid: 1, command: ['true'], concurrency: 1, lease: 60_000, heartbeat: 10_000, running: [], failed: 0 };
  const t = (ago: number) => new Date(Date.now() - ago);

  test('restarted after a kill -9 and killed again: its results after its last write count, not "at least" (the first one\'s lease ran out before)', async () => {
    await registry().insertMany([
      { ...base, _id: 'A', name: 'gpu', started: t(1_100_000), seen: t(1_000_000), expires: t(940_000), delivered: 2 },
      { ...base, _id: 'B', name: 'gpu', started: t(900_000), seen: t(200_000), expires: t(140_000), delivered: 7 },
    ]);
    await orders().insertOne({
      status: 'DONE',
      arguments: ['x'],
      attempts: 1,
      waiter: 'gpu',
      stop: t(190_000),
      history: [{ attempt: 1, waiter: 'gpu', start: t(191_000), stop: t(190_000), result: 'DONE' }],
    });
    const b = (await rows()).find((w) => w.id === 'B')!;
    expect(b).toMatchObject({ state: 'STALE', delivered: 8 });
    expect(b.countsAtLeast).toBeUndefined();
  });

  test('a RUNNING order under their name is listed once, by the one whose life holds its start', async () => {
    await registry().insertMany([
      { ...base, _id: 'A', name: 'gpu', started: t(1_000_000), seen: t(900_000), expires: t(840_000), delivered: 0 },
      { ...base, _id: 'B', name: 'gpu', started: t(800_000), seen: t(200_000), expires: t(140_000), delivered: 0 },
    ]);
    const lease = { status: 'RUNNING', attempts: 1, waiter: 'gpu', expires: t(100_000), due: t(100_000), claim: 'c' };
    const { insertedIds } = await orders().insertMany([
      { ...lease, arguments: ['old'], start: t(950_000), heartbeat: t(905_000) },
      { ...lease, arguments: ['new'], start: t(300_000), heartbeat: t(205_000) },
    ]);
    const got = (await rows()) as (Row & { running: string[] })[];
    expect(got.find((w) => w.id === 'A')!.running).toEqual([insertedIds[0]!.toHexString()]);
    expect(got.find((w) => w.id === 'B')!.running).toEqual([insertedIds[1]!.toHexString()]);
    expect((await waiter(k, ['waiters'])).stdout).toMatch(/^gpu +h +STALE +1 .*\n^gpu +h +STALE +1 /m);
  });
});

describe('show', () => {
  test('a RUNNING order whose lease ran out says stale since when, not "lease until" a past time', async () => {
    const expires = new Date(Date.now() - 30_000);
    const { insertedId } = await orders().insertOne({
      status: 'RUNNING',
      arguments: ['x'],
      attempts: 1,
      waiter: 'box-c',
      start: new Date(+expires - 60_000),
      heartbeat: new Date(+expires - 60_000),
      expires,
      due: expires,
      claim: 't',
    });
    const r = await waiter(k, ['show', insertedId.toHexString()]);
    expect(r.stdout).toMatch(new RegExp(`^lease +stale since ${expires.toISOString()} `, 'm'));
    expect(r.stdout).not.toContain('until');
    // A live one still says until when.
    const later = new Date(Date.now() + 60_000);
    await orders().updateOne({ _id: insertedId }, { $set: { expires: later, due: later } });
    expect((await waiter(k, ['show', insertedId.toHexString()])).stdout).toMatch(new RegExp(`^lease +until ${later.toISOString()}$`, 'm'));
  });
});
