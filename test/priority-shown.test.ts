// Issue 15's "status, extract and the page show priorities": `status` breaks READY down
// by priority when more than one is waiting (one aggregate on the claim index), and
// extract's CSV gains a `priority` column, last, so every earlier column keeps its place.
import { parse } from 'csv-parse/sync';
import { describe, expect, test } from 'vitest';
import { Kitchen } from '../src/kitchen.js';
import { READY_PRIO_FILTER } from '../src/kitchen/priorities.js';
import { PRIO_RUNNING } from '../src/order.js';
import { waiter } from './support/cli.js';
import { explainCounts } from './support/gates.js';
import { useDb } from './support/kitchen.js';

const counted = await explainCounts();
const k = useDb();

describe('priorities shown', () => {
  test('status: READY per priority only when more than one is waiting (text and --json); extract: a priority column, last', async () => {
    const add = async (...args: string[]) => expect((await waiter(k, ['add', ...args])).exitCode).toBe(0);
    await add('--', 'a');
    const one = await waiter(k, ['status']);
    expect(one.stdout).not.toContain('priority');
    await add('--priority', '5', '--', 'b');
    await add('--priority', '5', '--', 'c');
    await add('--priority', '-2', '--', 'd');
    // One order finished: not READY, not counted per priority.
    await k.db.collection('orders').insertOne({ status: 'DONE', arguments: ['e'], attempts: 1, prio: 5, priority: 5, stop: new Date() });
    const text = (await waiter(k, ['status'])).stdout.split('\n');
    expect(text.slice(0, 5)).toEqual(['READY    4', '  priority 5      2', '  priority 0      1', '  priority -2     1', 'RUNNING  0']);
    const json = JSON.parse((await waiter(k, ['status', '--json'])).stdout) as { readyByPriority: unknown };
    expect(json.readyByPriority).toEqual([
      { priority: 5, READY: 2 },
      { priority: 0, READY: 1 },
      { priority: -2, READY: 1 },
    ]);

    const rows = parse<Record<string, string>>((await waiter(k, ['extract'])).stdout, { columns: true });
    expect(Object.keys(rows[0]!).slice(-7)).toEqual(['workdir', 'priority', 'after', 'wall_ms', 'cpu_ms', 'peak_rss_bytes', 'measured']);
    // (_id order; ids made by different processes within one second sort by their random part)
    expect(rows.map((r) => [JSON.parse(r.arguments!)[0], r.priority]).sort()).toEqual([
      ['a', '0'],
      ['b', '5'],
      ['c', '5'],
      ['d', '-2'],
      ['e', '5'],
    ]);
  });

  test.runIf(counted.run)(counted.title('READY per priority reads index keys of READY orders (and at most the live RUNNING ones), not the finished ones'), async () => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      await kitchen.ensureIndexes();
      const now = Date.now();
      const ready = Array.from({ length: 3000 }, (_, i) => ({ status: 'READY', arguments: [`r${i}`], attempts: 0, due: new Date(now), prio: i % 3 }));
      const running = Array.from({ length: 200 }, (_, i) => ({
        status: 'RUNNING',
        arguments: [`u${i}`],
        attempts: 1,
        due: new Date(now + 60_000),
        expires: new Date(now + 60_000),
        prio: PRIO_RUNNING,
      }));
      const done = Array.from({ length: 5000 }, (_, i) => ({ status: 'DONE', arguments: [`d${i}`], attempts: 1, prio: i % 3, stop: new Date(now) }));
      const docs = [...ready, ...running, ...done];
      for (let i = 0; i < docs.length; i += 1000) await k.db.collection('orders').insertMany(docs.slice(i, i + 1000));
      expect(await kitchen.fleet.readyByPriority()).toEqual([2, 1, 0].map((p) => ({ priority: p, READY: 1000 })));
      const explain = await k.db.command({
        explain: { aggregate: 'orders', pipeline: [{ $match: READY_PRIO_FILTER }, { $group: { _id: '$prio', n: { $sum: 1 } } }], cursor: {} },
        verbosity: 'executionStats',
      });
      const most = (name: string) =>
        Math.max(
          ...JSON.stringify(explain)
            .match(new RegExp(`"${name}":\\d+`, 'g'))!
            .map((m) => Number(m.split(':')[1])),
        );
      expect(most('totalKeysExamined')).toBeLessThanOrEqual(3000 + 200 + 20);
      expect(most('totalDocsExamined')).toBeLessThanOrEqual(3000 + 200);
    } finally {
      await kitchen.close();
    }
  });
});
