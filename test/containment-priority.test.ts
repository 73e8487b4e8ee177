// Issue 15, item 6: crashed work first, and priorities. The claim is still ONE
// findOneAndUpdate, now on {prio: -1, due: 1, _id: 1}: RUNNING orders carry a prio
// above every user priority, so a stale one is taken over before any READY order.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { CLAIM_SORT, claimFilter } from '../src/kitchen/plans.js';
import { PRIO_RUNNING } from '../src/order.js';
import { FIXTURES, until, waiter } from './support/cli.js';
import { explainCounts } from './support/gates.js';
import { kitchens } from './support/explain.js';
import { useDb } from './support/kitchen.js';
import { FAST, addOrders, alive, background, byId, lines, orders, pidFrom, tempDir } from './support/recovery.js';

const HANG = join(FIXTURES, 'hang.sh');
const ECHO = join(FIXTURES, 'echo.sh');
/** How many orders box-b takes in the takeover test: far more than fit in one lease. */
const TAKEN = 40;

const open = kitchens();

describe('priorities', () => {
  const k = useDb();

  test('--priority 5 orders (load, add, API) are claimed before priority 0 ones loaded earlier (load, add); within a priority, file order; show and extract --json give it', async () => {
    const dir = await tempDir('prio');
    const low = join(dir, 'low.csv');
    const high = join(dir, 'high.csv');
    await writeFile(low, 'l1\nl2\nl3\n');
    await writeFile(high, 'h1\nh2\n');
    expect((await waiter(k, ['load', low])).exitCode).toBe(0);
    expect((await waiter(k, ['load', '--priority', '5', high])).exitCode).toBe(0);
    expect((await waiter(k, ['add', '--priority', '-1', '--', 'last'])).exitCode).toBe(0);
    expect((await waiter(k, ['add', '--priority', '9', '--', 'top'])).exitCode).toBe(0);
    const shown = await waiter(k, ['show', (await orders(k.db).findOne({ arguments: ['top'] }))!._id.toHexString()]);
    expect(shown.stdout).toContain('priority  9 (higher is taken first; default 0)');
    const log = join(dir, 'log');
    const r = await waiter(k, ['deliver', ECHO], { env: { ECHO_LOG: log } });
    expect(r.exitCode).toBe(0);
    expect((await lines(log)).map((l) => l.split(' ').slice(2).join(' '))).toEqual(['[top]', '[h1]', '[h2]', '[l1]', '[l2]', '[l3]', '[last]']);
    // prio is the claim's; a finished order's is its priority again; `priority` kept only when not 0.
    expect(await orders(k.db).findOne({ arguments: ['h1'] })).toMatchObject({ status: 'DONE', priority: 5, prio: 5 });
    expect(await orders(k.db).findOne({ arguments: ['l1'] })).not.toHaveProperty('priority');
    const json = (await waiter(k, ['extract', '--json'])).stdout.split('\n').map((l) => JSON.parse(l));
    expect(json.find((o) => o.arguments[0] === 'top')).toMatchObject({ priority: 9 });
    expect(json.every((o) => !('prio' in o))).toBe(true);
  });

  test('bad priorities are usage errors naming the option; the API names the order', async () => {
    for (const v of ['1.5', 'high', '', '2000000000']) {
      const r = await waiter(k, ['add', '--priority', v, '--', 'x']);
      expect([r.exitCode, r.stderr]).toEqual([2, `waiter: --priority: '${v}' is not a whole number from -1,000,000,000 to 1,000,000,000`]);
    }
    expect(await orders(k.db).countDocuments()).toBe(0);
    const { submission } = await import('../src/serve/input.js');
    expect(submission([{ arguments: ['a'], priority: 3 }, { arguments: ['b'] }]).priority).toEqual([3, 0]);
    expect(() => submission([{ arguments: ['a'] }, { arguments: ['b'], priority: 'x' }])).toThrow(/^\[1\]\.priority: expected a whole number/);
  });

  test('a retry keeps its priority: READY again at prio = priority, not at the RUNNING lift', async () => {
    await waiter(k, ['add', '--priority', '3', '--', 'flaky']);
    const r = await waiter(k, ['deliver', '--max-attempts', '2', '--max', '1', '--shell', 'exit 1']);
    expect(r.exitCode).toBe(0);
    expect(await orders(k.db).findOne({})).toMatchObject({ status: 'READY', attempts: 1, prio: 3, priority: 3 });
  });
});

describe('crashed work first', () => {
  const k = useDb();

  test('the claim: a stale RUNNING order before every READY one whatever its priority; a live one never', async () => {
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    const now = new Date();
    const at = (ms: number) => new Date(+now + ms);
    const [stale, live, high, low] = [new ObjectId(), new ObjectId(), new ObjectId(), new ObjectId()];
    await orders(k.db).insertMany([
      { _id: high, status: 'READY', arguments: ['high'], attempts: 0, due: at(-60_000), prio: 7, priority: 7 },
      { _id: low, status: 'READY', arguments: ['low'], attempts: 0, due: at(-120_000), prio: 0 },
      { _id: live, status: 'RUNNING', arguments: ['live'], attempts: 1, due: at(30_000), expires: at(30_000), claim: 'a', prio: PRIO_RUNNING },
      { _id: stale, status: 'RUNNING', arguments: ['stale'], attempts: 1, due: at(-1000), expires: at(-1000), claim: 'b', waiter: 'gone', prio: PRIO_RUNNING, priority: -5 },
    ] as never);
    const taken = await kitchen.claim('w', 60_000, now);
    expect(taken).toMatchObject({ id: stale, lostBy: 'gone', priority: -5 });
    expect((await kitchen.claim('w', 60_000, now))?.id).toEqual(high);
    expect((await kitchen.claim('w', 60_000, now))?.id).toEqual(low);
    expect(await kitchen.claim('w', 60_000, now)).toBeNull();
    // Taken over, it is RUNNING again at the lift; finished, back at its own priority.
    expect(await byId(k.db, stale)).toMatchObject({ prio: PRIO_RUNNING });
    await kitchen.finish(taken!, { status: 'DONE', result: 'DONE', stop: new Date(), output: '' });
    expect(await byId(k.db, stale)).toMatchObject({ status: 'DONE', prio: -5 });
  });

  test('a box killed mid-order with 500 READY orders behind it: its order is taken over at the first claim after its lease, before the backlog', async () => {
    const dir = await tempDir('stale-first');
    const env = { HANG_DIR: dir };
    const [first] = await addOrders(k.db, [['first'], ...Array.from({ length: 500 }, () => ['quick'])]);
    const hex = first!.toHexString();
    const a = background(k, ['-n', 'box-a', 'deliver', '--max', '1', ...FAST, HANG], env);
    const child = await pidFrom(join(dir, `${hex}.1.pid`), 'the first attempt to start');
    a.proc.kill('SIGKILL');
    await a.proc;
    process.kill(-child, 'SIGKILL'); // the machine died: its command with it
    await until(() => !alive(child), 10_000, 'the command to die');
    const lease = (await byId(k.db, first!)).expires!;

    // box-b works through the start of the backlog (--max: 40 of 501 orders; the lease ends
    // ~2 s in, a few dozen orders at most): the lost order must not wait for the end of it.
    const b = await waiter(k, ['-n', 'box-b', 'deliver', '--max', String(TAKEN), ...FAST, HANG], { env });
    expect([b.exitCode, b.stderr.split('\n').filter((l) => !/: delivering |ended: DONE/.test(l))]).toEqual([0, []]);
    const taken = await byId(k.db, first!);
    expect(taken).toMatchObject({ status: 'DONE', attempts: 2, waiter: 'box-b' });
    expect(taken.history!.map((h) => h.result)).toEqual(['LOST', 'DONE']);
    const all = await orders(k.db)
      .find({ _id: { $ne: first! } })
      .toArray();
    const backlog = all.filter((o) => o.status !== 'READY');
    // Box-b ran exactly --max orders (the lost one among them); the rest are untouched.
    expect([backlog.length, backlog.every((o) => o.status === 'DONE'), all.filter((o) => o.status === 'READY').length]).toEqual([TAKEN - 1, true, 501 - TAKEN]);
    // Claims are one at a time: at most the one order claimed as the lease ran out started between it and the takeover.
    const between = backlog.filter((o) => o.start! > lease && o.start! < taken.start!);
    expect(between.length).toBeLessThanOrEqual(1);
    // and a good part of the backlog was still to come (it was not taken last).
    expect(backlog.filter((o) => o.start! > taken.start!).length).toBeGreaterThan(0);
  }, 300_000);

  test('a list of the previous version (no prio) is migrated on first use: READY at 0, RUNNING lifted; idempotent', async () => {
    const past = new Date(Date.now() - 60_000);
    const ids = Array.from({ length: 3 }, () => new ObjectId());
    await orders(k.db).insertMany([
      { _id: ids[0]!, status: 'READY', arguments: ['a'], attempts: 0, due: past },
      { _id: ids[1]!, status: 'RUNNING', arguments: ['stale'], attempts: 1, waiter: 'gone', due: past, expires: past, heartbeat: past, start: past, claim: 'old' },
      { _id: ids[2]!, status: 'DONE', arguments: ['done'], attempts: 1, stop: past },
    ] as never);
    await orders(k.db).createIndex({ due: 1, _id: 1 }, { name: 'due_1__id_1' }); // the previous version's claim index
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    expect(await byId(k.db, ids[0]!)).toMatchObject({ prio: 0 });
    expect(await byId(k.db, ids[1]!)).toMatchObject({ prio: PRIO_RUNNING });
    expect(await byId(k.db, ids[2]!)).not.toHaveProperty('prio');
    expect((await orders(k.db).indexes()).map((i) => i.name)).toEqual(expect.arrayContaining(['prio_-1_due_1__id_1', 'due_1__id_1']));
    // Again (another process, the index there): nothing changes.
    const before = await orders(k.db).find({}).sort({ _id: 1 }).toArray();
    const again = await open(k);
    await again.ensureIndexes();
    expect(await orders(k.db).find({}).sort({ _id: 1 }).toArray()).toEqual(before);
    expect((await kitchen.claim('w', 60_000))?.id).toEqual(ids[1]); // the stale one first
    expect((await kitchen.claim('w', 60_000))?.id).toEqual(ids[0]);
  });
});

const counted = await explainCounts();
describe('claim cost with priorities (explain)', () => {
  const k = useDb();

  test.runIf(counted.run)(counted.title('10,000 READY over 4 priorities and 2,000 live RUNNING: the claim examines a handful of keys per priority'), async () => {
    const kitchen = await open(k);
    await kitchen.ensureIndexes();
    const now = new Date();
    const live = new Date(+now + 600_000);
    const docs = [
      ...Array.from({ length: 2000 }, (_, i) => ({ status: 'RUNNING', arguments: [`r${i}`], attempts: 1, expires: live, due: live, claim: `c${i}`, prio: PRIO_RUNNING })),
      // The highest priority is not due yet: the scan must skip it too.
      ...Array.from({ length: 10_000 }, (_, i) => ({ status: 'READY', arguments: [`${i}`], attempts: 0, due: i % 4 === 0 ? live : now, prio: [9, 5, 0, -3][i % 4] })),
    ];
    for (let i = 0; i < docs.length; i += 1000) await k.db.collection('orders').insertMany(docs.slice(i, i + 1000));
    const r = await k.db.command({
      explain: { findAndModify: 'orders', query: claimFilter(new Date()), sort: CLAIM_SORT, update: { $set: { status: 'RUNNING' } } },
      verbosity: 'executionStats',
    });
    const s = r.executionStats as { totalKeysExamined: number; totalDocsExamined: number; nReturned?: number };
    // One seek per distinct prio value above the first takeable one (lift, 9), then the first key of prio 5.
    expect(s.totalKeysExamined).toBeLessThanOrEqual(10);
    expect(s.totalDocsExamined).toBeLessThanOrEqual(3);
    expect(JSON.stringify(r.queryPlanner.winningPlan)).toContain('prio_-1_due_1__id_1');
    expect(JSON.stringify(r.queryPlanner.winningPlan)).not.toContain('"SORT"');
  });
});
