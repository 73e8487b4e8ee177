// Pipelines (issue 18): orders that wait for other orders, through the real CLI and
// real waiters against the real server. Small counts: the suite's budget.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { Kitchen } from '../src/kitchen.js';
import type { Order } from '../src/order.js';
import { BIN, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const tmp = () => mkdtemp(join(tmpdir(), 'waiter-pipe-'));
/** Appends "<arg> <WAITER_AFTER> <WAITER_AFTER_ALL>" to the log (one write: whole lines from concurrent waiters). */
const logging = (log: string, extra = '') => ['deliver', '--poll', '200ms', '--shell', `${extra}printf '%s %s %s\\n' "$1" "$WAITER_AFTER" "$WAITER_AFTER_ALL" >> ${log}`];
const lines = async (log: string) => (await readFile(log, 'utf8')).replace(/\n$/, '').split('\n');
const added = (stdout: string) => /Added order ([0-9a-f]{24})/.exec(stdout)![1]!;
async function add(...args: string[]): Promise<string> {
  const r = await waiter(k, ['add', ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  return added(r.stdout);
}

describe('pipelines', () => {
  test('20 diamonds A -> B, C -> D in one list by 3 waiters at once: each D runs once, after its B and C are DONE, and gets their ids (WAITER_AFTER, {after})', async () => {
    // 20 trials of the diamond, delivered together: three real waiter processes,
    // each free to claim any order of any diamond (written as the API writes them).
    const n = 20;
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      await kitchen.pipeline.ensureIndexes();
      const names = (p: string) => Array.from({ length: n }, (_, i) => [`${p}${i}`]);
      const as = (await kitchen.insertOrders(names('A'))).ids;
      const after = (ids: ObjectId[][]) => ({ wait: ids.map((a) => ({ after: a })) });
      const bs = (await kitchen.insertOrders(names('B'), after(as.map((a) => [a])))).ids;
      const cs = (await kitchen.insertOrders(names('C'), after(as.map((a) => [a])))).ids;
      await kitchen.insertOrders(names('D'), after(bs.map((b, i) => [b, cs[i]!])));
    } finally {
      await kitchen.close();
    }
    expect(await orders().countDocuments({ status: 'WAITING' })).toBe(3 * n);
    const log = join(await tmp(), 'log');
    const rs = await Promise.all([0, 1, 2].map(() => waiter(k, logging(log, 'sleep 0.05; '))));
    for (const r of rs) expect(r.exitCode, r.stderr).toBe(0);
    const got = await lines(log);
    expect(got).toHaveLength(4 * n);
    const docs = new Map((await orders().find({}).toArray()).map((o) => [o.arguments[0] as string, o]));
    const line = (arg: string) => got.findIndex((l) => l.split(' ')[0] === arg);
    for (let i = 0; i < n; i++) {
      const doc = (p: string) => docs.get(`${p}${i}`)!;
      const [a, b, c, d] = [doc('A'), doc('B'), doc('C'), doc('D')];
      for (const o of [a, b, c, d]) expect(o, o.arguments[0]).toMatchObject({ status: 'DONE', attempts: 1 });
      expect(
        got.filter((l) => l.split(' ')[0] === `D${i}`),
        `D${i} ran once`,
      ).toEqual([`D${i} ${b._id.toHexString()},${c._id.toHexString()} `]);
      expect(got.filter((l) => l.split(' ')[0] === `B${i}`)).toEqual([`B${i} ${a._id.toHexString()} `]);
      expect(line(`D${i}`)).toBeGreaterThan(Math.max(line(`B${i}`), line(`C${i}`)));
      expect(Math.min(line(`B${i}`), line(`C${i}`))).toBeGreaterThan(line(`A${i}`));
      expect(d.start.getTime(), `D${i} started after B${i} and C${i} ended`).toBeGreaterThanOrEqual(Math.max(b.stop.getTime(), c.stop.getTime()));
      expect(Math.min(b.start.getTime(), c.start.getTime())).toBeGreaterThanOrEqual(a.stop.getTime());
    }
    await orders().deleteMany({});
    // The CLI's --after with ids comma-separated, and {after} in a template.
    const x = await add('x');
    const y = await add('y');
    await add('--after', `${x},${y}`, 'z');
    const r = await waiter(k, ['deliver', 'echo', 'after=[{after}]', '{1}']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`after=[] x`);
    expect(r.stdout).toContain(`after=[${x},${y}] z`);
  });

  test('a 100-row load, then load --after-all of one row: it runs after all 100 are DONE; chained barriers across 3 loads keep their stages apart', async () => {
    const dir = await tmp();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'map.csv'), Array.from({ length: 100 }, (_, i) => `m${i}`).join('\n') + '\n');
    await writeFile(join(dir, 'reduce.csv'), 'r\n');
    await writeFile(join(dir, 'final.csv'), 'f1\nf2\n');
    for (const [file, extra] of [
      ['map.csv', []],
      ['reduce.csv', ['--after-all']],
      ['final.csv', ['--after-all']],
    ] as const) {
      const r = await waiter(k, ['load', join(dir, file), ...extra]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    expect(await orders().countDocuments({ status: 'WAITING' })).toBe(3);
    const st = await waiter(k, ['status']);
    expect(st.stdout).toMatch(/^WAITING +3 +\(0 on failed orders\)$/m);
    const log = join(dir, 'log');
    // Two waiters of 2 slots each: the reduce step must still wait for every map order.
    const rs = await Promise.all([0, 1].map(() => waiter(k, ['deliver', '--concurrency', '2', ...logging(log).slice(1)])));
    for (const r of rs) expect(r.exitCode, r.stderr).toBe(0);
    const got = (await lines(log)).map((l) => l.split(' '));
    expect(got).toHaveLength(103);
    expect(got.slice(0, 100).every(([arg]) => arg!.startsWith('m'))).toBe(true);
    expect(got[100]![0]).toBe('r');
    expect(
      got
        .slice(101)
        .map(([arg]) => arg)
        .sort(),
    ).toEqual(['f1', 'f2']);
    // The barrier's id, as documented: WAITER_AFTER_ALL, WAITER_AFTER empty.
    const reduce = await orders().findOne({ arguments: ['r'] });
    expect(got[100]).toEqual(['r', '', reduce!.barrier.toHexString()]);
    expect(got[101]![2]).not.toBe(got[100]![2]);
  }, 120_000); // 103 orders: on the FerretDB test server a claim sorts the list in memory, so the time grows with the square of the orders (200 took ~60 s in CI)

  test('a dependency ending ERROR keeps its dependants WAITING, says so in status, show and deliver; reset and a success release them', async () => {
    const dir = await tmp();
    const flag = join(dir, 'ok');
    const a = await add('A');
    const b = await add('--after', a, 'B');
    const script = `[ "$1" = A ] && [ ! -e ${flag} ] && exit 3; echo "ran $1"`;
    const r1 = await waiter(k, ['deliver', '--poll', '200ms', '--shell', script]);
    expect(r1.exitCode).toBe(1);
    expect(r1.stderr).toContain('1 order(s) still WAITING, 1 of them on failed orders, and nothing READY or RUNNING can release them');
    expect((await waiter(k, ['status'])).stdout).toMatch(/^WAITING +1 +\(1 on failed orders\)$/m);
    expect(JSON.parse((await waiter(k, ['status', '--json'])).stdout)).toMatchObject({ WAITING: 1, ERROR: 1, waitingOnFailed: 1 });
    const show = await waiter(k, ['show', b]);
    expect(show.stdout).toContain('status    WAITING');
    expect(show.stdout).toContain(`${a}  ERROR  (failed: holds this order back; reset it)`);
    expect(JSON.parse((await waiter(k, ['show', '--json', b])).stdout).waitingFor).toEqual({ after: [{ id: a, status: 'ERROR' }] });
    const csv = (await waiter(k, ['extract'])).stdout.split('\n');
    expect(csv[0]).toMatch(/,workdir,priority,after,wall_ms,cpu_ms,peak_rss_bytes,measured$/); // after the named columns, so every earlier column keeps its place
    expect(csv.find((l) => l.startsWith(b))).toMatch(new RegExp(`,0,${a},,,,$`)); // never run: no usage
    await (await import('node:fs/promises')).writeFile(flag, '');
    expect((await waiter(k, ['reset'])).exitCode).toBe(0);
    expect(await orders().countDocuments({ status: 'WAITING' })).toBe(1);
    const r2 = await waiter(k, ['deliver', '--poll', '200ms', '--shell', script]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('ran A\nran B');
  });

  test("orders held back through WAITING ones (A fails -> B -> C, --after-any B, a barrier, an order on the barrier's order) count as on failed orders; show says why; a waiter does not wait for them even with an order RUNNING", async () => {
    const dir = await tmp();
    const flag = join(dir, 'ok');
    const a = await add('A');
    const b = await add('--after', a, 'B');
    const c = await add('--after', b, 'C');
    const e = await add('--after-any', b, 'E');
    await writeFile(join(dir, 's.csv'), 'S\n');
    expect((await waiter(k, ['load', join(dir, 's.csv'), '--after-all'])).exitCode).toBe(0);
    const sId = (await orders().findOne({ arguments: ['S'] }))!._id.toHexString();
    const f = await add('--after', sId, 'F');
    // Another box's order, RUNNING for the next ten minutes: it releases none of them.
    const later = new Date(Date.now() + 600_000);
    await orders().insertOne({ status: 'RUNNING', arguments: ['R'], attempts: 1, prio: 0, due: later, expires: later, waiter: 'box/1', start: new Date() });
    const script = `[ "$1" = A ] && [ ! -e ${flag} ] && exit 3; echo "ran $1"`;
    // --leave-early: without it the waiter stays for that order (it may go stale: test/deliver-tail.test.ts), not for them.
    const r1 = await waiter(k, ['deliver', '--leave-early', '--poll', '200ms', '--shell', script], { timeout: 30_000 });
    expect(r1.exitCode, r1.stderr).toBe(1);
    expect(r1.stderr).toContain('5 order(s) still WAITING, 5 of them on failed orders: no READY or RUNNING order can release them (reset the failed ones): not waiting for them');
    expect((await waiter(k, ['status'])).stdout).toMatch(/^WAITING +5 +\(5 on failed orders\)$/m);
    expect(JSON.parse((await waiter(k, ['status', '--json'])).stdout)).toMatchObject({ WAITING: 5, ERROR: 1, waitingOnFailed: 5 });
    const held = '  WAITING  (waits on failed orders itself: holds this order back; reset them)';
    expect((await waiter(k, ['show', c])).stdout).toContain(`${b}${held}`);
    expect((await waiter(k, ['show', e])).stdout).toContain(`${b}${held}`);
    expect((await waiter(k, ['show', f])).stdout).toContain(`${sId}${held}`);
    expect(JSON.parse((await waiter(k, ['show', '--json', c])).stdout).waitingFor).toEqual({ after: [{ id: b, status: 'WAITING', onFailed: true }] });
    // Without the RUNNING order: the same exit.
    await orders().deleteOne({ arguments: ['R'] });
    const r2 = await waiter(k, ['deliver', '--poll', '200ms', '--shell', script]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stderr).toContain('5 order(s) still WAITING, 5 of them on failed orders, and nothing READY or RUNNING can release them');
    // reset + success releases the whole chain.
    await writeFile(flag, '');
    expect((await waiter(k, ['reset'])).exitCode).toBe(0);
    const r3 = await waiter(k, ['deliver', '--poll', '200ms', '--shell', script]);
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(
      r3.stdout
        .split('\n')
        .filter((l) => l.startsWith('ran '))
        .sort(),
    ).toEqual(['ran A', 'ran B', 'ran C', 'ran E', 'ran F', 'ran S']);
    expect(await orders().countDocuments({ status: 'DONE' })).toBe(6);
  });

  test("a barrier held back only by a blocked WAITING order below it (an ERROR order above it: another box's clock) counts, and so does the barrier above it", async () => {
    const col = k.db.collection<Order>('orders');
    const failed = ObjectId.createFromTime(Math.floor(Date.now() / 1000) + 3600);
    const b = new ObjectId();
    const x1 = new ObjectId();
    const h1 = new ObjectId();
    const x2 = new ObjectId();
    const h2 = new ObjectId();
    await col.insertMany([
      { _id: failed, status: 'ERROR', arguments: ['E'], attempts: 1 },
      { _id: b, status: 'WAITING', arguments: ['B'], attempts: 0, after: [failed], wait: 1 },
      { _id: h1, status: 'WAITING', arguments: ['H1'], attempts: 0, hold: x1, barrier: x1 },
      { _id: h2, status: 'WAITING', arguments: ['H2'], attempts: 0, hold: x2, barrier: x2 },
    ]);
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      await kitchen.ensureIndexes();
      await kitchen.pipeline.ensureIndexes();
      expect(await kitchen.pipeline.summary()).toEqual({ waiting: 3, onFailed: 3, heldOnFailed: 0 });
      expect((await kitchen.pipeline.blocked()).all).toBe(true);
      // Once B is DONE-able (its parent reset), nothing is blocked.
      await col.updateOne({ _id: failed }, { $set: { status: 'READY', due: new Date() } });
      expect(await kitchen.pipeline.summary()).toEqual({ waiting: 3, onFailed: 0, heldOnFailed: 0 });
      expect((await kitchen.pipeline.blocked()).all).toBe(false);
      // WAITING orders seen, then released by another waiter before the rest was read: nothing blocked, so not "all blocked".
      await col.deleteMany({});
      await col.insertOne({ _id: new ObjectId(), status: 'WAITING', arguments: ['gone'], attempts: 0 });
      expect(await kitchen.pipeline.blocked()).toEqual({ ids: new Set(), held: new Set(), barriers: new Set(), all: false });
    } finally {
      await kitchen.close();
    }
  });

  test('--after-any releases when the order it waits for ends ERROR', async () => {
    const a = await add('A');
    await add('--after-any', a, 'B');
    const r = await waiter(k, ['deliver', '--shell', '[ "$1" = A ] && exit 3; echo "ran $1"']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout, r.stderr).toContain('ran B');
    expect(await orders().countDocuments({ status: 'DONE', arguments: ['B'] })).toBe(1);
  });

  test('the waiter that recorded the parent is killed before releasing: the next waiter releases the child', async () => {
    const a = await add('A');
    await add('--after', a, 'B');
    const r1 = await waiter(k, ['deliver', '--max', '1', 'true'], { env: { WAITER_TEST_KILL_BEFORE_RELEASE: '1' } });
    expect(r1.signal).toBe('SIGKILL');
    expect(await orders().findOne({ arguments: ['A'] })).toMatchObject({ status: 'DONE' });
    expect(await orders().findOne({ arguments: ['B'] })).toMatchObject({ status: 'WAITING' });
    const r2 = await waiter(k, ['deliver', '--poll', '200ms', 'echo']);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stdout).toBe('B\nDone. Delivered 1 order.');
  });

  test('a dependant fetches its inputs\' result files with waiter gather "$WAITER_AFTER" (and unquoted): the ids comma-separated', async () => {
    const dir = await tmp();
    const a = await add('A');
    const b = await add('B');
    await add('--after', `${a},${b}`, 'C');
    const gather = `node ${BIN} gather -o got "$WAITER_AFTER" && node ${BIN} gather -o got2 $WAITER_AFTER`;
    const r = await waiter(k, [
      'deliver',
      '--poll',
      '200ms',
      '--workdir',
      join(dir, '{hash}'),
      '--collect',
      'out.txt',
      '--shell',
      `if [ -n "$WAITER_AFTER" ]; then ${gather}; else echo "$1" > out.txt; fi`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const c = (await orders().findOne({ arguments: ['C'] }))!;
    expect(c.status).toBe('DONE');
    for (const got of ['got', 'got2']) {
      expect(await readFile(join(c.workdir, got, a, 'out.txt'), 'utf8')).toBe('A\n');
      expect(await readFile(join(c.workdir, got, b, 'out.txt'), 'utf8')).toBe('B\n');
    }
    // An empty $WAITER_AFTER (an order that waited for none) is refused, not "every order".
    expect((await waiter(k, ['gather', '-o', join(dir, 'none'), ''])).exitCode).toBe(2);
  });

  test('--after an id not in the list (or not an id) is refused with exit 2 and writes nothing', async () => {
    const missing = new ObjectId().toHexString();
    const r = await waiter(k, ['add', '--after', missing, 'x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--after: no order ${missing} in the list; nothing added`);
    const bad = await waiter(k, ['add', '--after', 'nope', 'x']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--after:');
    const both = await waiter(k, ['add', '--after', missing, '--after-all', 'x']);
    expect(both.exitCode).toBe(2);
    expect(await orders().countDocuments({})).toBe(0);
  });

  test('an order waits for at most 5,000 ids: 5,001 is refused at the door (exit 2, a 400), 5,000 runs with all of them in WAITER_AFTER', async () => {
    const parents = Array.from({ length: 5_001 }, () => ({ _id: new ObjectId(), status: 'DONE' as const, arguments: ['p'], attempts: 1 }));
    await orders().insertMany(parents);
    const hexes = parents.map((p) => p._id.toHexString());
    const over = await waiter(k, ['add', '--after', hexes.join(','), 'x']);
    expect(over.exitCode).toBe(2);
    expect(over.stderr).toContain('--after: 5,001 ids; an order waits for at most 5,000');
    const s = await serve(k);
    const refused = await s.call('/api/orders', { method: 'POST', json: { arguments: ['x'], afterAny: hexes } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toContain('afterAny: 5,001 ids; an order waits for at most 5,000');
    expect(await orders().countDocuments({ status: { $ne: 'DONE' } })).toBe(0);
    const id = await add('--after', hexes.slice(1).join(','), 'x');
    const r = await waiter(k, ['deliver', 'sh', '-c', 'printf "%s" "$WAITER_AFTER" | wc -c; printf "%s" "$1" | wc -c', 'sh', '{after}']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(
      r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^\d+$/.test(l)),
    ).toEqual(['124999', '124999']);
    expect(await orders().findOne({ _id: ObjectId.createFromHexString(id) })).toMatchObject({ status: 'DONE' });
  });

  test('--at with --after: show gives the due time it gets once released, and --json no index keys; a lost release is made by waiter reset and by POST /api/reset', async () => {
    const x = await add('x');
    const y = await add('--after', x, '--at', '+2h', 'y');
    const shown = (await waiter(k, ['show', y])).stdout;
    expect(shown).toMatch(/^due +\S+Z \(once released: not taken before then\)$/m);
    const json = JSON.parse((await waiter(k, ['show', '--json', y])).stdout);
    expect(json).toMatchObject({ status: 'WAITING', after: [x] });
    expect(Object.keys(json)).not.toContain('wait');
    // x DONE, its waiter gone before releasing y: reset makes it good, y due at its --at.
    const at = (await orders().findOne({ _id: ObjectId.createFromHexString(y) }))!.at!;
    await orders().updateOne({ _id: ObjectId.createFromHexString(x) }, { $set: { status: 'DONE' }, $unset: { due: '' } });
    expect((await waiter(k, ['reset'])).exitCode).toBe(0);
    expect(await orders().findOne({ _id: ObjectId.createFromHexString(y) })).toMatchObject({ status: 'READY', due: at });
    const z = await add('--after', x, 'z');
    await orders().updateOne({ _id: ObjectId.createFromHexString(z) }, { $set: { status: 'WAITING', wait: 1 }, $unset: { due: '' } }); // as if released late
    const s = await serve(k);
    expect((await s.call('/api/reset', { method: 'POST', json: {} })).status).toBe(200);
    expect(await orders().findOne({ _id: ObjectId.createFromHexString(z) })).toMatchObject({ status: 'READY' });
  });

  test('POST /api/orders takes after/afterAny per order; an unknown id is a 400 and writes nothing; status counts WAITING', async () => {
    const s = await serve(k);
    const a = (await s.call('/api/orders', { method: 'POST', json: { arguments: ['A'] } })).body.ids[0];
    const missing = new ObjectId().toHexString();
    const refused = await s.call('/api/orders', {
      method: 'POST',
      json: [
        { arguments: ['B'], after: [a] },
        { arguments: ['C'], afterAny: [missing] },
      ],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe(`after: no order ${missing} in the list; nothing added`);
    const ok = await s.call('/api/orders', { method: 'POST', json: [{ arguments: ['B'], after: [a] }, { arguments: ['C'] }] });
    expect(ok.status).toBe(201);
    expect(await orders().countDocuments({})).toBe(3);
    expect(await orders().findOne({ arguments: ['B'] })).toMatchObject({ status: 'WAITING', after: [ObjectId.createFromHexString(a)] });
    expect(await orders().findOne({ arguments: ['C'] })).toMatchObject({ status: 'READY' });
    expect((await s.call('/api/status')).body).toMatchObject({ READY: 2, WAITING: 1, waitingOnFailed: 0 });
  });
});
