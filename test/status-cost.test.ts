// What `waiter status`'s fleet queries cost on a real MongoDB, read from the server's
// own counters (explain executionStats): bounded by the pace and the live fleet, not
// by the size of the list (issue 9: status stays within its target at 1M orders).
// Skipped only where the server names itself other than a mongod and its explain counts
// nothing (test/support/gates.ts): FerretDB v1 returns its SQL plan, 2.x no counters.
// The queries are the kitchen's own filters (src/kitchen.ts), not copies of them.
import { describe, expect, test } from 'vitest';
import { DUE_SORT, RECENT_SORT, finishedFilter, liveFilter, oldestReadyFilter } from '../src/kitchen/plans.js';
import { MEDIAN_OF } from '../src/app/status.js';
import { SPENT_RANGE, SPENT_SORT } from '../src/kitchen/cost.js';
import { explainCounts } from './support/gates.js';
import { examined, every, useExplainKitchen } from './support/explain.js';
import { idAt } from './support/kitchen.js';

const counted = await explainCounts();

/** Every `stage` name in the winning plan(s). */
function stages(doc: unknown): string[] {
  if (Array.isArray(doc)) return doc.flatMap(stages);
  if (doc === null || typeof doc !== 'object') return [];
  return Object.entries(doc).flatMap(([k, v]) => (k === 'stage' && typeof v === 'string' ? [v] : k === 'rejectedPlans' ? [] : stages(v)));
}

describe('status cost (explain)', () => {
  const { k, open } = useExplainKitchen();

  test.runIf(counted.run)(
    counted.title('20,000 finished orders over 200 minutes, 10,000 READY, 325 registered waiters: pace, median and live waiters read what they count, not the list'),
    async () => {
      const kitchen = await open();
      await kitchen.fleet.ensureFleetIndexes();
      const now = Date.now();
      // 100 orders finish per minute (one every 600 ms, newest first); every tenth fails.
      const finished = Array.from({ length: 20_000 }, (_, i) => ({
        status: i % 10 ? 'DONE' : 'ERROR',
        arguments: [`f${i}`],
        attempts: 1,
        start: new Date(now - i * 600 - 1000),
        stop: new Date(now - i * 600),
      }));
      const ready = Array.from({ length: 10_000 }, (_, i) => ({ status: 'READY', arguments: [`r${i}`], attempts: 0, due: new Date(now) }));
      const docs = [...ready, ...finished];
      for (let i = 0; i < docs.length; i += 1000) await k.db.collection('orders').insertMany(docs.slice(i, i + 1000));
      const w = (n: number, extra: object) => Array.from({ length: n }, () => ({ name: 'w', host: 'h', concurrency: 1, started: new Date(now - 3_600_000), ...extra }));
      await k.db.collection('orders.waiters').insertMany([
        ...w(300, { ended: new Date(now - 60_000), expires: new Date(now - 60_000), reason: 'empty list' }),
        ...w(20, { expires: new Date(now - 60_000) }), // STALE: never ended, not seen
        ...w(5, { expires: new Date(now + 60_000) }), // live
      ]);

      // Pace over 10 minutes: what countDocuments sends ($match, then $group with $sum).
      const since = new Date(now - 600_000);
      const inWindow = 1001; // i * 600 ms <= 600 s
      expect(await kitchen.fleet.finishedSince(since)).toBe(inWindow);
      const count = (coll: string, filter: object) =>
        k.db.command({ explain: { aggregate: coll, pipeline: [{ $match: filter }, { $group: { _id: 1, n: { $sum: 1 } } }], cursor: {} }, verbosity: 'executionStats' });
      const pace = examined(await count('orders', finishedFilter(since)));
      expect(pace.keys).toBeLessThanOrEqual(inWindow + 5);
      expect(pace.docs).toBeLessThanOrEqual(inWindow + 5);

      // Median run time: the last MEDIAN_OF finished, newest first, merged from the two
      // status ranges of {status, stop} read backwards: no sort in memory.
      const recent = await k.db.command({
        explain: { find: 'orders', filter: finishedFilter(), sort: RECENT_SORT, limit: MEDIAN_OF, projection: { _id: 0, start: 1, stop: 1 } },
        verbosity: 'executionStats',
      });
      const median = examined(recent);
      expect(median.keys).toBeLessThanOrEqual(MEDIAN_OF + 5);
      expect(median.docs).toBeLessThanOrEqual(MEDIAN_OF + 5);
      expect(stages(recent.queryPlanner)).not.toContain('SORT');
      expect(stages(recent.queryPlanner)).toContain('SORT_MERGE');
      expect(every(recent, 'nReturned')).toContain(MEDIAN_OF);

      // Live waiters and their slots: one range on {ended, expires}, reading the live ones only.
      expect(await kitchen.fleet.liveWaiters(new Date(now))).toEqual({ waiters: 5, slots: 5, stopping: 0 });
      const live = examined(
        await k.db.command({ explain: { find: 'orders.waiters', filter: liveFilter(new Date(now)), projection: { _id: 0, concurrency: 1 } }, verbosity: 'executionStats' }),
      );
      expect(live.keys).toBeLessThanOrEqual(5 + 3);
      expect(live.docs).toBeLessThanOrEqual(5 + 3);

      // The measure can fail: without {status, stop} the same pace count reads the list.
      await k.db.collection('orders').dropIndex('status_1_stop_1');
      const unindexed = examined(await count('orders', finishedFilter(since)));
      expect(unindexed.keys + unindexed.docs).toBeGreaterThan(20_000);
    },
    120_000,
  );

  test.runIf(counted.run)(
    counted.title(
      'the READY order waiting longest (status, /metrics; not the page): 5,000 READY due, 40 stale RUNNING before them on {due, _id}, 500 live: keys = the stale ones + 2 at most, no sort in memory',
    ),
    async () => {
      const kitchen = await open();
      const now = Date.now();
      const t = (ms: number) => new Date(now + ms);
      const stale = 40;
      const docs = [
        // Written ten minutes ago, due since a minute: each waits since its due.
        ...Array.from({ length: 5000 }, (_, i) => ({
          _id: idAt(now - 600_000),
          status: 'READY',
          arguments: [`r${i}`],
          attempts: 0,
          due: t(-60_000 + i),
        })),
        // Their due, the lease, is past too, and older than any READY order's: read first.
        ...Array.from({ length: stale }, (_, i) => ({ status: 'RUNNING', arguments: [`s${i}`], attempts: 1, due: t(-120_000), expires: t(-120_000), claim: `s${i}` })),
        ...Array.from({ length: 500 }, (_, i) => ({ status: 'RUNNING', arguments: [`l${i}`], attempts: 1, due: t(60_000), expires: t(60_000), claim: `l${i}` })),
      ];
      for (let i = 0; i < docs.length; i += 1000) await k.db.collection('orders').insertMany(docs.slice(i, i + 1000));
      expect(await kitchen.oldestReady(t(0))).toEqual(t(-60_000));
      const plan = await k.db.command({
        explain: { find: 'orders', filter: oldestReadyFilter(t(0)), sort: DUE_SORT, limit: 1, projection: { due: 1 } },
        verbosity: 'executionStats',
      });
      const read = examined(plan);
      expect(read.keys).toBeLessThanOrEqual(stale + 2);
      expect(read.docs).toBeLessThanOrEqual(stale + 2);
      expect(stages(plan.queryPlanner)).not.toContain('SORT');
      expect(every(plan, 'nReturned')).toContain(1);
    },
    60_000,
  );
  test.runIf(counted.run)(
    counted.title("the list's cost (status, /metrics): 2,000 orders that used CPU among 10,000: the sums and the count read the spent index's 2,000 keys, the top 10 reads 10"),
    async () => {
      const kitchen = await open();
      await kitchen.fleet.ensureFleetIndexes();
      const spent = Array.from({ length: 2000 }, (_, i) => ({
        status: 'DONE',
        arguments: [`s${i}`],
        attempts: 1,
        stop: new Date(),
        spent: { cpuMs: i, wallMs: 2 * i, attempts: 1 },
      }));
      // Finished by an older waiter, or never run: no spent, no key in the range.
      const none = Array.from({ length: 8000 }, (_, i) => ({ status: i % 2 ? 'READY' : 'DONE', arguments: [`n${i}`], attempts: i % 2 ? 0 : 1, due: new Date() }));
      const docs = [...none, ...spent];
      for (let i = 0; i < docs.length; i += 1000) await k.db.collection('orders').insertMany(docs.slice(i, i + 1000));
      expect(await kitchen.cost.total()).toEqual({ cpuMs: (1999 * 2000) / 2, attempts: 2000, orders: 2000 });

      for (const field of ['cpuMs', 'attempts']) {
        const sum = examined(
          await k.db.command({
            explain: { aggregate: 'orders', pipeline: [{ $match: SPENT_RANGE }, { $group: { _id: null, n: { $sum: `$spent.${field}` } } }], cursor: {} },
            verbosity: 'executionStats',
          }),
        );
        expect(sum.keys).toBeLessThanOrEqual(2000 + 5);
        expect(sum.docs).toBeLessThanOrEqual(2000 + 5);
      }
      const top = await k.db.command({
        explain: { find: 'orders', filter: SPENT_RANGE, sort: SPENT_SORT, limit: 10, projection: { _id: 1, spent: 1 } },
        verbosity: 'executionStats',
      });
      expect(examined(top).keys).toBeLessThanOrEqual(10 + 2);
      expect(examined(top).docs).toBeLessThanOrEqual(10 + 2);
      expect(stages(top.queryPlanner)).not.toContain('SORT');
      expect((await kitchen.cost.top(3)).map((o) => o.spent.cpuMs)).toEqual([1999, 1998, 1997]);
    },
    60_000,
  );
});
