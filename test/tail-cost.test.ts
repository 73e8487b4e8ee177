// What a waiter at the end of a run (src/deliver/tail.ts) costs the kitchen and says,
// counted on the wire (test/support/count-proxy.ts) from a real CLI process on the real
// server: one claim per look, no spin beside an older waiter's order or a long retry
// delay, and one line per stretch of waiting, not two contradicting ones in turn.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { countProxy } from './support/count-proxy.js';
import { until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, background, orders, runningElsewhere } from './support/recovery.js';
import { explainCounts } from './support/gates.js';
import { examined, kitchens } from './support/explain.js';
import { CLAIM_SORT, TAIL_LATEST_FIRST, othersRunningFilter } from '../src/kitchen/plans.js';
import { PRIO_RUNNING } from '../src/order.js';

const k = useDb();
const open = kitchens();
const explained = await explainCounts();

/**
 * A waiter whose kitchen traffic is counted. Counted by command and collection: a claim is
 * `findAndModify orders`; the registry write, a findAndModify too, is `findAndModify
 * orders.waiters`, never counted as one.
 */
async function counted(args: string[]) {
  const proxy = await countProxy(k.uri);
  const w = background({ uri: proxy.uri, name: k.name }, args);
  return { proxy, w };
}

/** Lets `ms` pass: how long a waiter is watched for a spin (not a timing assertion: a spin shows at any speed). */
const watch = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the end of a run, counted', () => {
  test('waiting beside an order running elsewhere: one claim per look (not two)', async () => {
    await runningElsewhere(k.db, new Date(Date.now() + 10 * 60_000));
    const { proxy, w } = await counted(['deliver', '--poll', '300ms', 'true']);
    await until(() => /waiting for 1 order RUNNING/.test(w.stderr()), 60_000, 'the waiting line');
    proxy.reset();
    // Each look is one find of the soonest lease (plus one "anything WAITING?" find).
    await until(() => proxy.count('findAndModify') >= 8, 60_000, 'eight claims');
    const claims = proxy.count('findAndModify');
    const finds = proxy.count('find');
    w.proc.kill('SIGINT');
    await w.proc;
    // Two finds per claim: before, each look made two claims and three finds.
    expect(claims, JSON.stringify(proxy.counts())).toBeLessThanOrEqual(finds / 2 + 1);
  }, 120_000);

  test("beside an older waiter's order (its `due` not renewed, `expires` is): no spin, and the line says when its lease really ends", async () => {
    const expires = new Date(Date.now() + 10 * 60_000);
    await runningElsewhere(k.db, new Date(Date.now() - 60_000), expires);
    const { proxy, w } = await counted(['deliver', '--poll', '10m', 'true']);
    await until(() => /waiting for 1 order RUNNING/.test(w.stderr()), 60_000, 'the waiting line');
    proxy.reset();
    await watch(3000);
    const claims = proxy.count('findAndModify');
    w.proc.kill('SIGINT');
    await w.proc;
    // --poll 10m and a lease 10 minutes away: it sleeps; before, it claimed 4 times a second.
    expect(claims, JSON.stringify(proxy.counts())).toBeLessThanOrEqual(1);
    const by = /its lease ends by (\S+) unless renewed/.exec(w.stderr())![1]!;
    expect(new Date(by).getTime()).toBe(expires.getTime());
  }, 120_000);

  test('a retry delay past the longest timer (30 days): it sleeps, no spin and no TimeoutOverflowWarning', async () => {
    await addOrders(k.db, [['x']]);
    const { proxy, w } = await counted(['deliver', '--max-attempts', '2', '--retry-delay', '30d', '--retry-max-delay', '30d', 'false']);
    await until(() => /waiting for 1 retry\(ies\) of mine/.test(w.stderr()), 60_000, 'the retry line');
    proxy.reset();
    await watch(3000);
    const claims = proxy.count('findAndModify');
    w.proc.kill('SIGINT');
    const r = await w.proc;
    expect(r.exitCode).toBe(130);
    expect(claims, JSON.stringify(proxy.counts())).toBeLessThanOrEqual(1);
    expect(w.stderr()).not.toMatch(/TimeoutOverflowWarning/);
  }, 120_000);

  test('orders WAITING on a failed one, beside an order running elsewhere: says "not waiting for them" once, then only what it waits for', async () => {
    const failed = new ObjectId();
    await orders(k.db).insertMany([
      { _id: failed, status: 'ERROR', arguments: ['A'], attempts: 1, prio: 0 },
      { _id: new ObjectId(), status: 'WAITING', arguments: ['B'], attempts: 0, prio: 0, after: [failed], wait: 1 },
    ] as never);
    await runningElsewhere(k.db, new Date(Date.now() + 10 * 60_000));
    // --poll 300ms: many looks, and the sweep (1 s, 2 s, 4 s apart) comes due several times.
    const { proxy, w } = await counted(['deliver', '--poll', '300ms', 'true']);
    await until(() => /waiting for 1 order RUNNING/.test(w.stderr()), 60_000, 'the waiting line');
    await watch(8000);
    w.proc.kill('SIGINT');
    await w.proc;
    const lines = w
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('waiter: nothing due now'));
    expect(lines.length, w.stderr()).toBe(2);
    expect(lines[0]).toMatch(/1 of them on failed orders: .*not waiting for them$/);
    expect(lines[1]).toMatch(/waiting for 1 order RUNNING on other waiters/);
    expect(proxy.count('findAndModify')).toBeGreaterThan(5);
  }, 120_000);
});

describe('the last look', () => {
  test('an order that goes back READY between the last claim and the look that finds nothing RUNNING is still taken before the waiter leaves', async () => {
    const proxy = await countProxy(k.uri);
    // Just before its look for orders RUNNING elsewhere (a sorted find on status RUNNING), one
    // goes back READY (its waiter interrupted, or a reset): the claims before the look missed it.
    proxy.before('find', 'orders', ['RUNNING', 'sort'], () => addOrders(k.db, [['late']]));
    const r = await waiter({ uri: proxy.uri, name: k.name }, ['deliver', '--poll', '10m', 'true']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Done\. Delivered 1 order\.$/);
    expect(await orders(k.db).find({}).toArray()).toMatchObject([{ arguments: ['late'], status: 'DONE' }]);
  }, 120_000);
});

describe('the look for orders running elsewhere (explain)', () => {
  test.runIf(explained.run)(
    explained.title('orders without `due` left at PRIO_RUNNING (reset from RUNNING, then cancelled or finished) are not read: the range starts at the first due'),
    async () => {
      const kitchen = await open(k);
      await kitchen.ensureIndexes();
      // A READY order reset from RUNNING keeps PRIO_RUNNING; cancelled (or an old waiter's DONE/ERROR) it has no `due`.
      await orders(k.db).insertMany(
        Array.from({ length: 200 }, (_, i) => ({ status: i % 2 ? 'CANCELLED' : 'DONE', arguments: [String(i)], attempts: 1, prio: PRIO_RUNNING }) as never),
      );
      await runningElsewhere(k.db, new Date(Date.now() + 60_000));
      for (const sort of [CLAIM_SORT, TAIL_LATEST_FIRST]) {
        const plan = await k.db.command({ explain: { find: 'orders', filter: othersRunningFilter([]), sort, limit: 1 }, verbosity: 'executionStats' });
        const { keys, docs } = examined(plan);
        expect(keys, JSON.stringify(sort)).toBeLessThanOrEqual(2);
        expect(docs, JSON.stringify(sort)).toBeLessThanOrEqual(1);
      }
    },
  );
});
