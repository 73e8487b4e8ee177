// What pipelines cost on a real MongoDB, read from explain executionStats: a claim with
// many WAITING orders present still reads a handful of keys (they have no `due`), and
// the release check reads O(WAITING), not the DONE orders of the list. Skipped where the
// server's explain counts nothing (test/support/gates.ts): FerretDB, the test server.
// The queries are src/kitchen/plans.ts's and pipeline-plans.ts's own filters, not copies of them.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import type { Order } from '../src/order.js';
import { CLAIM_SORT, STATUS_INDEX, claimFilter } from '../src/kitchen/plans.js';
import { HELD_FROM_WAITING, ON_IDS, barrierAfter, dependantsFilter, heldBetween, unfinishedBelow } from '../src/kitchen/pipeline-plans.js';
import { explainCounts } from './support/gates.js';
import { useExplainKitchen } from './support/explain.js';

const counted = await explainCounts();

type Stats = { totalKeysExamined: number; totalDocsExamined: number };
const stats = (e: unknown) => (e as { executionStats: Stats }).executionStats;

describe('pipeline cost (explain)', () => {
  const { k, open } = useExplainKitchen();

  test.runIf(counted.run)(
    counted.title('10,000 WAITING orders: the claim examines a handful of keys; 100,000 DONE and 10 WAITING: the release check examines O(WAITING)'),
    async () => {
      const kitchen = await open();
      await kitchen.pipeline.ensureIndexes();
      const col = k.db.collection('orders');
      const typed = k.db.collection<Order>('orders');
      const now = new Date();
      const put = async (docs: object[]) => {
        for (let i = 0; i < docs.length; i += 5000) await col.insertMany(docs.slice(i, i + 5000));
      };
      // 100,000 DONE, then a RUNNING one that holds everything back, then 10 READY.
      await put(Array.from({ length: 100_000 }, (_, i) => ({ status: 'DONE', arguments: [`d${i}`], attempts: 1, prio: 0 })));
      const running = new ObjectId();
      await col.insertOne({
        _id: running,
        status: 'RUNNING',
        arguments: ['r'],
        attempts: 1,
        prio: 2_000_000_000,
        due: new Date(+now + 600_000),
        expires: new Date(+now + 600_000),
      });
      await put(Array.from({ length: 10 }, (_, i) => ({ status: 'READY', arguments: [`q${i}`], attempts: 0, prio: 0, due: now })));
      const barrier = new ObjectId();
      // 10,000 WAITING at the READY orders' priority: 5 on ids, the rest behind the barrier.
      await put(
        Array.from({ length: 10_000 }, (_, i) =>
          i < 5
            ? { status: 'WAITING', arguments: [`w${i}`], attempts: 0, prio: 0, after: [running], wait: 1 }
            : { status: 'WAITING', arguments: [`w${i}`], attempts: 0, prio: 0, hold: barrier, barrier },
        ),
      );

      const claim = await k.db.command({
        explain: { findAndModify: 'orders', query: claimFilter(new Date()), sort: CLAIM_SORT, update: { $set: { status: 'RUNNING' } } },
        verbosity: 'executionStats',
      });
      expect(stats(claim).totalKeysExamined).toBeLessThanOrEqual(10);
      expect(stats(claim).totalDocsExamined).toBeLessThanOrEqual(3);

      // The barrier: one key (the RUNNING order) answers "something below is unfinished".
      const below = stats(
        await typed
          .find(unfinishedBelow(barrier), { projection: { _id: 1, status: 1 } })
          .hint(STATUS_INDEX)
          .limit(1)
          .explain('executionStats'),
      );
      expect(below.totalKeysExamined).toBeLessThanOrEqual(6);
      expect(below.totalDocsExamined).toBeLessThanOrEqual(1);
      // The walk of held barriers: one key each.
      const walk = stats(
        await typed
          .find(barrierAfter(), { projection: { _id: 0, hold: 1 } })
          .sort({ hold: 1 })
          .limit(1)
          .explain('executionStats'),
      );
      expect(walk.totalKeysExamined).toBeLessThanOrEqual(2);
      // The orders WAITING on ids: their own keys (5), not the list's.
      const onIds = stats(await typed.find(ON_IDS, { projection: { _id: 1, after: 1, any: 1 } }).explain('executionStats'));
      expect(onIds.totalKeysExamined).toBeLessThanOrEqual(10);
      expect(onIds.totalDocsExamined).toBeLessThanOrEqual(10);
      // The HELD orders held from WAITING (status: what held orders wait on): the HELD range (3), not the list.
      await put([
        { status: 'HELD', arguments: ['h0'], attempts: 0, prio: 0, after: [running], held: { by: 'a@b', at: now, from: 'WAITING' } },
        { status: 'HELD', arguments: ['h1'], attempts: 0, prio: 0, barrier, held: { by: 'a@b', at: now, from: 'WAITING' } },
        { status: 'HELD', arguments: ['h2'], attempts: 0, prio: 0, at: now, held: { by: 'a@b', at: now, from: 'READY' } },
      ]);
      const held = stats(await typed.find(HELD_FROM_WAITING, { projection: { _id: 1, after: 1, any: 1, hold: 1, barrier: 1 } }).explain('executionStats'));
      expect(held.totalKeysExamined).toBeLessThanOrEqual(4);
      expect(held.totalDocsExamined).toBeLessThanOrEqual(3);
      // The dependants of the RUNNING order once it finishes: from {after:1} or {wait:1} (the planner's pick), never the list.
      const kids = stats(await typed.find(dependantsFilter(running), { projection: { _id: 1, after: 1, any: 1 } }).explain('executionStats'));
      expect(kids.totalKeysExamined).toBeLessThanOrEqual(10);
      expect(kids.totalDocsExamined).toBeLessThanOrEqual(10);
      // "All blocked?" asks, for a barrier above this one, whether one of this one's 9,995 orders lies between: one key.
      const upper = new ObjectId();
      const between = stats(
        await typed
          .find(heldBetween(barrier, upper), { projection: { _id: 1 } })
          .hint(STATUS_INDEX)
          .limit(1)
          .explain('executionStats'),
      );
      expect(between.totalKeysExamined).toBeLessThanOrEqual(2);
      expect(between.totalDocsExamined).toBeLessThanOrEqual(1);
      // And the check itself releases nothing here (the RUNNING order holds both kinds back).
      expect(await kitchen.pipeline.releaseAll()).toBe(0);
    },
  );
});
