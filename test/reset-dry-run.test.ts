// reset --dry-run (POST /api/reset "dryRun"): what a reset would do, counted by the same
// filters the reset writes with, nothing changed; and a reset whose explicit selection
// (ids, --status, --where, --failed-with) has nothing to reset is refused like cancel's:
// one line, exit 2 (a 400), nothing changed. A plain `waiter reset` still says 0 and exits 0.
import { BSON, ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { examined, kitchens, useExplainKitchen } from './support/explain.js';
import { explainCounts } from './support/gates.js';
import { orders } from './support/recovery.js';
import { PRIO_RUNNING } from '../src/order.js';
import { leftAloneFilter, resetFilter, type ResetAsk } from '../src/kitchen/reset-plans.js';
import { cancelledOrders } from '../src/kitchen/steer-plans.js';
import { resetOrders } from '../src/app/reset.js';
import { options } from '../src/commands/reset.js';
import { HttpError, resetRequest } from '../src/serve/input.js';
import { createApp } from '../src/serve/app.js';
import { UsageError } from '../src/errors.js';

const counted = await explainCounts();
const k = useDb();
const open = kitchens();
const dump = async () => BSON.EJSON.stringify(await orders(k.db).find({}).sort({ _id: 1 }).toArray());
const HOUR = 3_600_000;

/** 0-2 ERROR, 3 stale RUNNING (started 3 h ago), 4 live RUNNING (started 3 h ago), 5 live RUNNING (young), 6-7 CANCELLED, 8 DONE, 9 READY, 10 READY without due. */
async function list(): Promise<ObjectId[]> {
  await k.db.collection('orders.columns').insertOne({ _id: 'c1', names: ['city'] } as never);
  const mk = (status: string, city: string, extra: object = {}) => ({ status, arguments: [city], attempts: 1, prio: 0, columns: 'c1', ...extra });
  const now = Date.now();
  const running = (claim: string, start: number, expires: number) => ({
    prio: PRIO_RUNNING,
    claim,
    start: new Date(start),
    heartbeat: new Date(start),
    expires: new Date(expires),
    due: new Date(expires),
  });
  const { insertedIds } = await orders(k.db).insertMany([
    mk('ERROR', 'paris', { error: 'exit 1: disk full' }),
    mk('ERROR', 'paris', { error: 'exit 1: timeout' }),
    mk('ERROR', 'rome', { error: 'exit 1: disk full' }),
    mk('RUNNING', 'paris', running('t', now - 3 * HOUR, now - 1000)),
    mk('RUNNING', 'rome', running('u', now - 3 * HOUR, now + 60 * 60_000)),
    mk('RUNNING', 'oslo', running('v', now - 1000, now + 60 * 60_000)),
    mk('CANCELLED', 'paris', { cancelled: { by: 'x', at: new Date() } }),
    mk('CANCELLED', 'rome', { cancelled: { by: 'x', at: new Date() } }),
    mk('DONE', 'paris'),
    mk('READY', 'paris', { due: new Date() }),
    mk('READY', 'oslo'),
  ] as never[]);
  return Object.values(insertedIds);
}

describe('reset --dry-run', () => {
  test('says what the reset then does (the same counts, the first ids of the orders it changes), changing nothing', async () => {
    const kitchen = await open(k);
    const cases: Record<string, unknown>[] = [
      {},
      { force: true },
      { 'older-than': '2h' },
      { status: 'CANCELLED' },
      { status: 'RUNNING' },
      { where: ['city=paris'] },
      { where: ['city=rome'], force: true },
      { where: ['city=rome'], status: 'CANCELLED' },
      { 'failed-with': 'disk full' },
    ];
    for (const argv of cases) {
      const what = JSON.stringify(argv);
      await orders(k.db).deleteMany({});
      await k.db.collection('orders.columns').deleteMany({});
      await list();
      const before = await orders(k.db).find({}).sort({ _id: 1 }).toArray();
      const dry = await resetOrders(kitchen, options({ ...argv, 'dry-run': true }));
      expect(await dump(), what).toBe(BSON.EJSON.stringify(before));
      const done = await resetOrders(kitchen, options(argv));
      expect(done, what).toMatchObject({ dryRun: false });
      expect(dry, what).toEqual({ reset: done.reset, leftAlone: done.leftAlone, dryRun: true, ids: expect.any(Array) });
      expect(done.reset, what).toBeGreaterThan(0);
      // The ids: the first (oldest) of those the reset changed.
      const after = await orders(k.db).find({}).sort({ _id: 1 }).toArray();
      const changed = after.filter((o, i) => o.status === 'READY' && BSON.EJSON.stringify(o) !== BSON.EJSON.stringify(before[i])).map((o) => o._id.toHexString());
      expect(dry.ids, what).toEqual(changed.slice(0, 5));
    }
  });

  test('a plain reset with nothing to reset: 0, dry or not, and no refusal (the routine "run what failed again")', async () => {
    const kitchen = await open(k);
    await orders(k.db).insertOne({ status: 'DONE', arguments: ['a'], attempts: 1, prio: 0 } as never);
    const before = await dump();
    expect(await resetOrders(kitchen, options({ 'dry-run': true }))).toEqual({ reset: 0, leftAlone: 0, dryRun: true, ids: [] });
    expect(await resetOrders(kitchen, options({}))).toEqual({ reset: 0, leftAlone: 0, dryRun: false });
    expect(await dump()).toBe(before);
  });
});

describe('an explicit selection with nothing to reset', () => {
  test('ids, --status, --where, --failed-with: refused (exit 2), dry run or not, the list byte-for-byte unchanged', async () => {
    const kitchen = await open(k);
    const ids = await list();
    // The stale one out of the way: oslo and rome have a live RUNNING order each.
    await orders(k.db).updateOne({ _id: ids[3]! }, { $set: { status: 'DONE' }, $unset: { claim: '', expires: '' } });
    // And the READY order without due (an older waiter's) given one: any reset takes those.
    await orders(k.db).updateOne({ _id: ids[10]! }, { $set: { due: new Date() } });
    const before = await dump();
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [{ where: ['city=nowhere'] }, 'reset: no order to reset in that selection: nothing changed'],
      [{ 'failed-with': 'no such error' }, 'reset: no order to reset in that selection: nothing changed'],
      [
        { where: ['city=oslo'], status: 'RUNNING' },
        'reset: no order to reset in that selection (1 still running, left alone: --force resets it; 1 in other states, left alone): nothing changed',
      ],
      [{ ids: [ids[4]!.toHexString(), ids[5]!.toHexString()] }, 'reset: no order to reset in that selection (2 still running, left alone: --force resets them): nothing changed'],
      [{ where: ['city=paris'], status: 'RUNNING' }, 'reset: no order to reset in that selection (6 in other states, left alone): nothing changed'],
      [{ where: ['city=oslo'], 'failed-with': 'disk' }, /^reset: no order to reset in that selection: nothing changed$/],
    ];
    for (const [argv, message] of cases) {
      for (const dry of [false, true]) {
        const what = `${JSON.stringify(argv)} dry ${dry}`;
        const r = resetOrders(kitchen, options({ ...argv, ...(dry ? { 'dry-run': true } : {}) }));
        await expect(r, what).rejects.toThrow(UsageError);
        await expect(r, what).rejects.toThrow(message);
        expect(await dump(), what).toBe(before);
      }
    }
    // --status with no order of it anywhere: a selection too (cancel --status READY is refused the same way).
    await orders(k.db).updateMany({ status: 'CANCELLED' }, { $set: { status: 'DONE' } });
    const now = await dump();
    await expect(resetOrders(kitchen, options({ status: 'CANCELLED' }))).rejects.toThrow('reset: no order to reset in that selection: nothing changed');
    expect(await dump()).toBe(now);
    // With something to reset, as before; --force as before.
    expect(await resetOrders(kitchen, options({ where: ['city=rome'], force: true }))).toEqual({ reset: 2, leftAlone: 0, dryRun: false });
  });

  test('POST /api/reset: "dryRun" answers as cancel\'s does, nothing written; an empty selection is a 400, nothing written', async () => {
    const kitchen = await open(k);
    const ids = await list();
    const token = 'correct-horse-battery';
    const app = createApp({ kitchen, list: 'orders', db: k.name, token, publicRead: false, log: () => {} });
    const post = async (json: unknown) => {
      const r = await app.request('/api/reset', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(json) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const before = await dump();
    expect(await post({ dryRun: true, where: { city: 'paris' } })).toEqual({
      status: 200,
      body: { reset: 3, leftAlone: 0, dryRun: true, ids: [ids[0]!.toHexString(), ids[1]!.toHexString(), ids[3]!.toHexString()] },
    });
    expect(await post({ dryRun: true })).toMatchObject({ status: 200, body: { reset: 5, leftAlone: 2, dryRun: true } });
    expect(await post({ where: { city: 'nowhere' } })).toEqual({ status: 400, body: { error: 'reset: no order to reset in that selection: nothing changed' } });
    expect(await post({ dryRun: true, failedWith: 'no such error' })).toMatchObject({ status: 400 });
    expect(await dump()).toBe(before);
    expect(await post({ where: { city: 'paris' } })).toEqual({ status: 200, body: { reset: 3, leftAlone: 0, dryRun: false } });

    expect(resetRequest({ dryRun: true })).toEqual({ force: false, dryRun: true });
    expect(resetRequest({ dryRun: false })).toEqual({ force: false });
    expect(() => resetRequest({ dryRun: 'yes' })).toThrow(HttpError);
  });

  test('the CLI (real processes): exit 2, one line on stderr, nothing on stdout, the list unchanged; --dry-run prints the breakdown and the ids', async () => {
    const ids = await list();
    const before = await dump();
    const refused = await waiter(k, ['reset', '--where', 'city=nowhere']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trimEnd().split('\n')).toEqual(['waiter: reset: no order to reset in that selection: nothing changed']);
    expect(await dump()).toBe(before);

    const dry = await waiter(k, ['reset', '--dry-run', '--where', 'city=rome']);
    expect(dry.stderr).toBe('');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toBe(`Would reset 1 order (1 still running, left alone): ${ids[2]!.toHexString()}; nothing changed`);
    expect(await dump()).toBe(before);

    const real = await waiter(k, ['reset', '--where', 'city=rome']);
    expect([real.exitCode, real.stdout]).toEqual([0, 'Reset 1 order (1 still running, left alone)']);
  });
});

describe("the dry run's counts (explain, a real mongod)", () => {
  const x = useExplainKitchen();

  test.runIf(counted.run)(counted.title("read the orders in reset's states from an index, never the 20,000 DONE ones"), async () => {
    await x.open();
    const col = x.k.db.collection('orders');
    const now = new Date();
    const docs = (n: number, doc: object) => Array.from({ length: n }, (_, i) => ({ arguments: [`a${i}`], attempts: 1, prio: 0, ...doc }));
    for (let i = 0; i < 4; i++) await col.insertMany(docs(5_000, { status: 'DONE' }));
    await col.insertMany([
      ...docs(50, { status: 'READY', due: now }),
      ...docs(3, { status: 'ERROR', error: 'x' }),
      ...docs(3, { status: 'RUNNING', expires: new Date(+now + 60_000), start: now }),
      ...docs(2, { status: 'CANCELLED' }),
    ]);
    const ask: ResetAsk = { statuses: ['ERROR', 'RUNNING', 'CANCELLED'], force: false, startedBefore: new Date(+now - 1000) };
    for (const f of [resetFilter(ask, now)!, leftAloneFilter(ask, now)!, cancelledOrders()]) {
      const e = examined(await x.k.db.command({ explain: { count: 'orders', query: f }, verbosity: 'executionStats' }));
      expect(e.keys + e.docs, JSON.stringify(f)).toBeLessThan(200);
    }
  });
});
