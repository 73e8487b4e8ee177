// The list's cost in `status` (issue 28 point 4): orders with known usage written into
// the kitchen directly (no job runs), read by the product's own queries and by one CLI
// call; the finish write's $inc of `spent`, through a real claim and finish.
import { ObjectId } from 'mongodb';
import { expect, test } from 'vitest';
import { costReport, cpuUsed, recentCost } from '../src/app/cost.js';
import { options } from '../src/commands/status.js';
import { costLines } from '../src/commands/status-cost.js';
import type { Usage } from '../src/order.js';
import { waiter } from './support/cli.js';
import { kitchens } from './support/explain.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const open = kitchens();
const MiB = 1024 * 1024;
const now = Date.now();
const at = (ms: number) => new Date(now + ms);
const u = (wallMs: number, cpuMs: number | undefined, peak: number | undefined): Usage => ({
  wallMs,
  ...(cpuMs === undefined ? {} : { cpuMs }),
  ...(peak === undefined ? {} : { peakRssBytes: peak }),
  measured: cpuMs === undefined ? 'wall' : 'proc-sample+wait',
});

/**
 * Five finished orders and one READY for a retry, with known usage:
 * - big: two attempts (ERROR then DONE), 60 s + 30 s of CPU: the costliest, peak 900 MiB in its first;
 * - mid: 20 s; small: 4 s; tiny: 2 s (ERROR);
 * - mac: DONE on a box without /proc: wall only, no CPU, no spent;
 * - again: READY for a retry after a 10 s attempt: in the CPU used, not in the finished ones;
 * - old: DONE by an older waiter: no usage at all.
 */
const ids = { big: new ObjectId(), mid: new ObjectId(), small: new ObjectId(), tiny: new ObjectId(), again: new ObjectId() };
const history = (usage: Usage, result: 'DONE' | 'ERROR' = 'DONE', n = 1) => ({ attempt: n, waiter: 'w', start: at(-100_000), stop: at(-50_000), result, usage });
async function list() {
  await k.db.collection('orders').insertMany([
    {
      _id: ids.big,
      status: 'DONE',
      arguments: ['render.sh', 'scene-4'],
      attempts: 2,
      start: at(-50_000),
      stop: at(-5_000),
      usage: u(40_000, 30_000, 300 * MiB),
      history: [history(u(70_000, 60_000, 900 * MiB), 'ERROR'), history(u(40_000, 30_000, 300 * MiB), 'DONE', 2)],
      spent: { cpuMs: 90_000, wallMs: 110_000, attempts: 2 },
    },
    {
      _id: ids.mid,
      status: 'DONE',
      arguments: ['mid'],
      attempts: 1,
      start: at(-30_000),
      stop: at(-4_000),
      usage: u(25_000, 20_000, 100 * MiB),
      spent: { cpuMs: 20_000, wallMs: 25_000, attempts: 1 },
    },
    {
      _id: ids.small,
      status: 'DONE',
      arguments: ['small'],
      attempts: 1,
      start: at(-10_000),
      stop: at(-3_000),
      usage: u(5_000, 4_000, 50 * MiB),
      spent: { cpuMs: 4_000, wallMs: 5_000, attempts: 1 },
    },
    {
      _id: ids.tiny,
      status: 'ERROR',
      arguments: ['tiny'],
      attempts: 1,
      start: at(-5_000),
      stop: at(-2_000),
      usage: u(3_000, 2_000, undefined),
      spent: { cpuMs: 2_000, wallMs: 3_000, attempts: 1 },
    },
    { status: 'DONE', arguments: ['mac'], attempts: 1, start: at(-2_000), stop: at(-1_000), usage: u(1_000, undefined, undefined) },
    { _id: ids.again, status: 'READY', arguments: ['again'], attempts: 1, due: at(0), usage: u(12_000, 10_000, 70 * MiB), spent: { cpuMs: 10_000, wallMs: 12_000, attempts: 1 } },
    { status: 'DONE', arguments: ['old'], attempts: 1, start: at(-9_000), stop: at(-6_000) },
  ]);
}

test('cost: CPU used sums every recorded attempt (retries, a READY order too); per order the last attempts of the finished ones, each figure saying of how many; --top by CPU', async () => {
  await list();
  const kitchen = await open(k);
  // Before a waiter of this version made the spent index: no figure, not a scan of the list for none.
  expect((await costReport(kitchen)).cpuSeconds).toBeNull();
  await kitchen.fleet.ensureFleetIndexes();

  const r = await costReport(kitchen, { top: 3 });
  expect(r).toMatchObject({ cpuSeconds: 126, cpuOrders: 5, cpuAttempts: 6 });
  expect(await cpuUsed(kitchen)).toEqual({ cpuSeconds: 126, cpuOrders: 5, cpuAttempts: 6 });
  // The 6 finished orders, newest first: tiny, mac, small, mid, big, old (old and mac unmeasured for CPU).
  expect(r.recent).toEqual({
    finished: 6,
    measured: 5,
    withCpu: 4,
    withPeak: 3,
    cpuMeanSeconds: 14, // (30 + 20 + 4 + 2) / 4
    cpuMedianSeconds: 12, // (4 + 20) / 2
    wallMeanSeconds: 14.8, // (40 + 25 + 5 + 3 + 1) / 5
    wallMedianSeconds: 5,
    peakMedianBytes: 100 * MiB,
    peakMaxBytes: 300 * MiB, // the last attempts' peaks: big's 900 MiB was its first
  });
  expect(r.top).toEqual([
    { id: ids.big.toHexString(), status: 'DONE', arguments: ['render.sh', 'scene-4'], cpuSeconds: 90, wallSeconds: 110, attempts: 2, peakBytes: 900 * MiB },
    { id: ids.mid.toHexString(), status: 'DONE', arguments: ['mid'], cpuSeconds: 20, wallSeconds: 25, attempts: 1, peakBytes: 100 * MiB },
    { id: ids.again.toHexString(), status: 'READY', arguments: ['again'], cpuSeconds: 10, wallSeconds: 12, attempts: 1, peakBytes: 70 * MiB },
  ]);
  expect(costLines(r).slice(0, 4)).toEqual([
    'cpu used 2m06s by 5 orders (6 attempts: every attempt recorded, retries too)',
    'cpu      14s mean, 12s median per order (its last attempt; 4 of the last 6 finished orders)',
    'wall     14s mean, 5.0s median per order (its last attempt; 5 of the last 6 finished orders)',
    'memory   peak 100 MiB median, 300 MiB max (3 of the last 6 finished orders)',
  ]);
});

test('the finish write adds each attempt with a CPU figure to the order, retried or not; one without (no /proc) adds nothing', async () => {
  await k.db.collection('orders').insertOne({ status: 'READY', arguments: ['a'], attempts: 0, due: at(-1000), prio: 0 });
  const kitchen = await open(k);
  await kitchen.ensureIndexes();
  const run = async (status: 'READY' | 'DONE', usage: Usage) => {
    const c = (await kitchen.claim('w', 60_000))!;
    expect(await kitchen.finish(c, { status, result: status === 'READY' ? 'ERROR' : 'DONE', stop: new Date(), output: '', usage })).toBe(true);
  };
  await run('READY', u(1500, 1200, MiB));
  await run('READY', u(900, undefined, undefined));
  await run('DONE', u(800, 700, MiB));
  const o = await k.db.collection('orders').findOne({});
  expect(o).toMatchObject({ status: 'DONE', attempts: 3, spent: { cpuMs: 1900, wallMs: 2300, attempts: 2 }, usage: { cpuMs: 700 } });
});

test('waiter status --top 2: the cost lines and the two costliest orders; --top refused at the door when not 1 to 1000 or with --watch', async () => {
  await list();
  await (await open(k)).fleet.ensureFleetIndexes();
  const r = await waiter(k, ['status', '--top', '2']);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  const out = r.stdout.split('\n');
  const from = out.findIndex((l) => l.startsWith('cpu used'));
  expect(out.slice(from)).toEqual([
    'cpu used 2m06s by 5 orders (6 attempts: every attempt recorded, retries too)',
    'cpu      14s mean, 12s median per order (its last attempt; 4 of the last 6 finished orders)',
    'wall     14s mean, 5.0s median per order (its last attempt; 5 of the last 6 finished orders)',
    'memory   peak 100 MiB median, 300 MiB max (3 of the last 6 finished orders)',
    '',
    'the 2 orders of the most CPU (every attempt recorded):',
    'ORDER                       CPU   WALL     PEAK  ATTEMPTS  STATE  ARGUMENTS',
    `${ids.big.toHexString()}  1m30s  1m50s  900 MiB         2  DONE   ["render.sh","scene-4"]`,
    `${ids.mid.toHexString()}    20s    25s  100 MiB         1  DONE   ["mid"]`,
  ]);
  for (const argv of [{ top: '0' }, { top: 'x' }, { top: '1001' }, { top: '3', watch: '' }]) expect(() => options(argv)).toThrow(/--top/);
  expect(options({ top: '5' })).toEqual({ json: false, top: 5 });
});

test('recentCost of nothing measured: counts, no figures', () => {
  expect(recentCost([{}, {}])).toEqual({
    finished: 2,
    measured: 0,
    withCpu: 0,
    withPeak: 0,
    cpuMeanSeconds: null,
    cpuMedianSeconds: null,
    wallMeanSeconds: null,
    wallMedianSeconds: null,
    peakMedianBytes: null,
    peakMaxBytes: null,
  });
});
