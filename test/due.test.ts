// `due`: the one field a claim reads (src/kitchen.ts claimFilter). Orders that wait
// (--at, --retry-delay), takeover of stale orders through it, and lists written by the
// previous version (no `due`) still delivered.
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { status } from '../src/app/status.js';
import { claimFilter, CLAIM_SORT } from '../src/kitchen/plans.js';
import { FIXTURES, waiter } from './support/cli.js';
import { explainCounts } from './support/gates.js';
import { kitchens } from './support/explain.js';
import { idAt, useDb } from './support/kitchen.js';
import { addOrders, byId, lines, orders, statusJson, tempDir } from './support/recovery.js';

const OK = join(FIXTURES, 'ok.sh');
const ECHO = join(FIXTURES, 'echo.sh');
const FLAKY = join(FIXTURES, 'flaky.sh');

const open = kitchens();

describe('orders that wait: --at', () => {
  const k = useDb();

  test('add --at: not taken before then (status counts it as not yet due); --wait takes it once due, no earlier', async () => {
    const t0 = Date.now();
    const idOf = (r: { stdout: string }) => new ObjectId(r.stdout.split(' ').pop());
    const later = idOf(await waiter(k, ['add', '--at', '+1h', '--', 'later']));
    await waiter(k, ['add', 'now']);
    const s = await statusJson(k);
    expect(s).toMatchObject({ READY: 2, notYetDue: 1 });
    const nextDue = Date.parse(s.nextDue as unknown as string);
    expect(nextDue).toBeGreaterThanOrEqual(t0 + 3_600_000);
    expect(nextDue).toBeLessThan(Date.now() + 3_600_000);
    expect((await waiter(k, ['status'])).stdout).toMatch(/READY +2 +\(1 not yet due, the next at \d{4}-/);

    // Without --wait, a waiter takes what is due and leaves: the later order is not its own retry.
    const first = await waiter(k, ['deliver', OK]);
    expect(first.stdout).toContain('Done. Delivered 1 order.');
    expect((await byId(k.db, later)).status).toBe('READY');

    // --wait picks up an order when it comes due, never before.
    const soon = idOf(await waiter(k, ['add', '--at', '+1500ms', 'soon']));
    const due = (await byId(k.db, soon)).due!;
    const second = await waiter(k, ['deliver', '--wait', '--poll', '200ms', '--max', '1', OK]);
    expect(second.exitCode).toBe(0);
    const done = await byId(k.db, soon);
    expect(done.status).toBe('DONE');
    expect(+done.start!).toBeGreaterThanOrEqual(+due);
    expect(await statusJson(k)).toMatchObject({ notYetDue: 1, nextDue: new Date(nextDue).toISOString(), DONE: 2 });
  });

  test('load --at with a time: every row waits; a bad --at is a usage error naming the option and loads nothing', async () => {
    const bad = await waiter(k, ['load', '--at', 'tomorrowish', join(FIXTURES, 'orders.csv')]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toBe("waiter: --at: 'tomorrowish' is not a time (try +30m or 2026-12-01T06:00:00Z)");
    expect(await orders(k.db).countDocuments()).toBe(0);

    const at = new Date(Date.now() + 3_600_000);
    const r = await waiter(k, ['load', '--at', at.toISOString(), join(FIXTURES, 'orders.csv')]);
    expect(r.exitCode).toBe(0);
    const n = await orders(k.db).countDocuments();
    expect(await orders(k.db).countDocuments({ due: at })).toBe(n);
    expect(await statusJson(k)).toMatchObject({ READY: n, notYetDue: n, nextDue: at.toISOString() });
    expect((await waiter(k, ['deliver', OK])).stdout).toContain('Delivered 0 orders.');
  });
});

describe('--retry-delay', () => {
  const k = useDb();

  test('a failed order comes back no earlier than its delay, other orders run meanwhile, and the waiter waits for its own retry', async () => {
    const dir = await tempDir('flaky');
    const log = join(dir, 'log');
    // The first order fails once, the second and third succeed at once.
    const [flaky, a, b] = await addOrders(k.db, [['1'], ['0'], ['0']]);
    // 6 s: room for the other two orders to run first even while another test file holds
    // the (serialised) test server; the "waiting for my retry" line needs them done before.
    const r = await waiter(k, ['deliver', '--max-attempts', '3', '--retry-delay', '6s', FLAKY], { env: { FLAKY_DIR: dir, ECHO_LOG: log } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Done. Delivered 4 orders.');
    expect(r.stderr).toMatch(/failed: exit code 3 \(will retry after \d{4}-/);
    expect(r.stderr).toMatch(/nothing due now; waiting for 1 retry\(ies\) of mine, the next at \d{4}-/);

    const o = await byId(k.db, flaky!);
    expect(o).toMatchObject({ status: 'DONE', attempts: 2 });
    const [first, second] = o.history!;
    expect(+second!.start - +first!.stop).toBeGreaterThanOrEqual(6000);
    // The other two ran in the meantime, before the retry.
    for (const id of [a!, b!]) {
      const other = await byId(k.db, id);
      expect(other.status).toBe('DONE');
      expect(+other.stop!).toBeLessThan(+second!.start);
    }
  });

  test('backoff: each retry waits longer (delay × backoff^n); usage errors name the option', async () => {
    const dir = await tempDir('flaky');
    const [x] = await addOrders(k.db, [['2']]);
    const r = await waiter(k, ['deliver', '--max-attempts', '3', '--retry-delay', '1s', '--retry-backoff', '3', FLAKY], { env: { FLAKY_DIR: dir } });
    expect(r.exitCode).toBe(0);
    const h = (await byId(k.db, x!)).history!;
    expect(h.map((a) => a.result)).toEqual(['ERROR', 'ERROR', 'DONE']);
    // Delays of 1 s then 3 s (+ up to 10% jitter): each gap at least its delay, the first
    // under the second delay, and the second well over the first (a flat delay fails).
    const gaps = [+h[1]!.start - +h[0]!.stop, +h[2]!.start - +h[1]!.stop];
    expect(gaps[0]).toBeGreaterThanOrEqual(1000);
    expect(gaps[0]).toBeLessThan(3000);
    expect(gaps[1]).toBeGreaterThanOrEqual(3000);
    expect(gaps[1]).toBeGreaterThan(1.5 * gaps[0]!);
    expect(await lines(join(dir, x!.toHexString()))).toHaveLength(3);

    const bad = await waiter(k, ['deliver', '--retry-backoff', '0.5', OK]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toBe("waiter: --retry-backoff: '0.5' is not a number ≥ 1");
    expect((await waiter(k, ['deliver', '--retry-delay', 'soon', OK])).stderr).toContain("--retry-delay: 'soon' is not a duration");
  });
});

describe('claims through due', () => {
  const k = useDb();

  test('a stale order is taken over through due (its lost attempt recorded); a live one, heartbeat-renewed, is not', async () => {
    const kitchen = await open(k);
    await addOrders(k.db, [['stale'], ['live']]);
    const t0 = new Date();
    const stale = (await kitchen.claim('dead', 1000, t0))!;
    const live = (await kitchen.claim('alive', 1000, t0))!;
    expect((await byId(k.db, stale.id)).due).toEqual(new Date(+t0 + 1000));
    // Later, only the live one is renewed: due moves with expires.
    const t1 = new Date(+t0 + 900);
    expect(await kitchen.heartbeat(live, 1000, t1)).toBe('ours');
    expect(await byId(k.db, live.id)).toMatchObject({ due: new Date(+t1 + 1000), expires: new Date(+t1 + 1000) });

    const t2 = new Date(+t0 + 1500);
    const taken = (await kitchen.claim('rescuer', 1000, t2))!;
    expect(taken.id).toEqual(stale.id);
    expect(taken.attempt).toBe(2);
    expect(taken.history.map((h) => [h.result, h.waiter])).toEqual([['LOST', 'dead']]);
    expect(await kitchen.claim('rescuer', 1000, t2)).toBeNull();
    // Finished: no due any more (DONE orders are outside the claim index's range).
    await kitchen.finish(taken, { status: 'DONE', result: 'DONE', stop: t2, output: '' });
    expect((await byId(k.db, stale.id)).due).toBeUndefined();
  });

  test('counts: notYetDue is READY orders due later, not the live RUNNING ones that share the range; nextDue the soonest; oldestReady the READY one due longest ago, not the stale RUNNING one before it', async () => {
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    const now = new Date();
    const at = (ms: number) => new Date(+now + ms);
    await orders(k.db).insertMany([
      { _id: idAt(+now - 60_000), status: 'READY', arguments: ['now'], attempts: 0, due: at(-1000) },
      { _id: new ObjectId(), status: 'READY', arguments: ['later'], attempts: 0, due: at(120_000) },
      { _id: new ObjectId(), status: 'READY', arguments: ['much later'], attempts: 0, due: at(86_400_000) },
      { _id: new ObjectId(), status: 'RUNNING', arguments: ['live'], attempts: 1, due: at(30_000), expires: at(30_000), claim: 'a' },
      { _id: new ObjectId(), status: 'RUNNING', arguments: ['stale'], attempts: 1, due: at(-5000), expires: at(-5000), claim: 'b' },
      { _id: new ObjectId(), status: 'DONE', arguments: ['done'], attempts: 1 },
    ]);
    expect(await kitchen.counts(now)).toMatchObject({ READY: 3, RUNNING: 2, DONE: 1, stale: 1, notYetDue: 2, nextDue: at(120_000) });
    expect(await kitchen.oldestReady(now)).toEqual(at(-1000));
  });

  test('a list written by the previous version (no due) is migrated on first use and delivered in _id order (its stale order first); its live order is left alone', async () => {
    const dir = await tempDir('echo');
    const log = join(dir, 'log');
    const past = new Date(Date.now() - 60_000);
    const future = new Date(Date.now() + 600_000);
    // Exactly what the previous version wrote: no `due`, no claim index.
    const ids = Array.from({ length: 5 }, () => new ObjectId());
    await orders(k.db).insertMany([
      { _id: ids[0]!, status: 'READY', arguments: ['a'], attempts: 0 },
      { _id: ids[1]!, status: 'RUNNING', arguments: ['stale'], attempts: 1, waiter: 'gone', start: past, heartbeat: past, expires: past, claim: 'old-1' },
      { _id: ids[2]!, status: 'RUNNING', arguments: ['live'], attempts: 1, waiter: 'old', start: past, heartbeat: past, expires: future, claim: 'old-2' },
      { _id: ids[3]!, status: 'DONE', arguments: ['done'], attempts: 1, stop: past },
      { _id: ids[4]!, status: 'READY', arguments: ['b'], attempts: 0 },
    ]);
    // A newer order added by this version comes after the migrated ones.
    await waiter(k, ['add', 'new']);
    const r = await waiter(k, ['deliver', '--leave-early', ECHO], { env: { ECHO_LOG: log } });
    expect(r.exitCode).toBe(0);
    // The stale order first: crashed work is taken over before READY orders (issue 15).
    expect((await lines(log)).map((l) => l.split(' ').slice(2).join(' '))).toEqual(['[stale]', '[a]', '[b]', '[new]']);
    expect(await byId(k.db, ids[2]!)).toMatchObject({ status: 'RUNNING', claim: 'old-2', due: future });
    expect(await byId(k.db, ids[1]!)).toMatchObject({ status: 'DONE', attempts: 2 });
    expect((await byId(k.db, ids[3]!)).due).toBeUndefined();

    // After the migration an older waiter adds an order (no due): this version's claims
    // cannot see it until a reset gives it one.
    const late = (await orders(k.db).insertOne({ status: 'READY', arguments: ['late'], attempts: 0 } as never)).insertedId;
    expect((await waiter(k, ['deliver', '--leave-early', ECHO], { env: { ECHO_LOG: log } })).stdout).toContain('Delivered 0 orders.');
    expect((await waiter(k, ['reset'])).stdout).toBe('Reset 1 order (1 still running, left alone)');
    expect((await waiter(k, ['deliver', '--leave-early', ECHO], { env: { ECHO_LOG: log } })).stdout).toContain('Delivered 1 order.');
    expect((await byId(k.db, late)).status).toBe('DONE');
  });

  test('a list written by the previous version: how long its READY orders have waited counts from when they were written, not from the 1970 due the migration gave them', async () => {
    const kitchen = await open(k);
    const written = Date.now() - 600_000;
    const first = idAt(written);
    // Exactly what the previous version wrote: no `due`.
    await orders(k.db).insertMany([
      { _id: first, status: 'READY', arguments: ['a'], attempts: 0 },
      { _id: idAt(written + 60_000), status: 'READY', arguments: ['b'], attempts: 0 },
    ]);
    await kitchen.ensureIndexes();
    expect((await byId(k.db, first)).due).toEqual(new Date(0)); // the migration's longAgo(): taken first, in _id order
    const now = new Date();
    const r = await status(kitchen, { now, oldest: true });
    expect(r.oldestReadySeconds).toBeLessThan(86_400);
    expect(r.oldestReadySince).toBe(first.getTimestamp().toISOString());
    expect(r.oldestReadySeconds).toBe((+now - +first.getTimestamp()) / 1000);
  });

  test('beside an older waiter (which keeps expires, not due): its live order and its finished ones are never claimed', async () => {
    const kitchen = await open(k);
    const [mine, theirs, done] = await addOrders(k.db, [['x'], ['y'], ['z']]);
    const now = new Date();
    // The older waiter claims `theirs` and finishes `done` the old way: due left as it was.
    await orders(k.db).updateOne({ _id: theirs! }, { $set: { status: 'RUNNING', expires: new Date(+now + 60_000), claim: 'old' } });
    await orders(k.db).updateOne({ _id: done! }, { $set: { status: 'DONE', stop: now } });
    expect((await kitchen.claim('new', 60_000, now))?.id).toEqual(mine);
    expect(await kitchen.claim('new', 60_000, now)).toBeNull();
  });
});

// The cost of one claim, read from the server's own counters (explain executionStats):
// skipped only on a server that names itself other than a mongod and whose explain
// counts nothing (FerretDB v1 returns its SQL plan; 2.x refuses findAndModify).
const counted = await explainCounts();
describe('claim cost (explain)', () => {
  const k = useDb();

  test.runIf(counted.run)(counted.title('10,000 READY and 2,000 live RUNNING: the claim examines a handful of keys and documents; the former $or form > 2,000'), async () => {
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    const now = new Date();
    const live = new Date(+now + 600_000);
    // RUNNING first, so that they also come first in _id order.
    const docs = [
      ...Array.from({ length: 2000 }, (_, i) => ({ status: 'RUNNING', arguments: [`r${i}`], attempts: 1, expires: live, due: live, claim: `c${i}` })),
      ...Array.from({ length: 10_000 }, (_, i) => ({ status: 'READY', arguments: [`${i}`], attempts: 0, due: now })),
    ];
    for (let i = 0; i < docs.length; i += 1000) await k.db.collection('orders').insertMany(docs.slice(i, i + 1000));
    const explain = async (query: object, sort: object) => {
      const r = await k.db.command({
        explain: { findAndModify: 'orders', query, sort, update: { $set: { status: 'RUNNING' } } },
        verbosity: 'executionStats',
      });
      return r.executionStats as { totalKeysExamined: number; totalDocsExamined: number };
    };
    const mine = await explain(claimFilter(new Date()), CLAIM_SORT);
    expect(mine.totalKeysExamined).toBeLessThanOrEqual(5);
    expect(mine.totalDocsExamined).toBeLessThanOrEqual(5);
    const former = await explain({ $or: [{ status: 'READY' }, { status: 'RUNNING', expires: { $lt: new Date() } }] }, { _id: 1 });
    expect(former.totalKeysExamined + former.totalDocsExamined).toBeGreaterThan(2000);
    // status's not-yet-due count reads the range past now from the index alone (the 2,000 live orders are in it).
    const count = await k.db.command({ explain: { count: 'orders', query: { due: { $gt: new Date() } } }, verbosity: 'executionStats' });
    expect(count.executionStats.totalDocsExamined).toBe(0);
  });
});
