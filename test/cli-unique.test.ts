// load --unique and add --unique through the real CLI against the real server: loads
// that can be repeated (after a crash, or with an extended file) add each row once.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { ObjectId } from 'mongodb';
import { Kitchen } from '../src/kitchen.js';
import { KeySnapshot } from '../src/kitchen/unique.js';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const orders = () => k.db.collection('orders');
const snapshot = async () => (await orders().find({}).sort({ _id: 1 }).toArray()).map((o) => ({ ...o }));

async function csv(name: string, rows: number, from = 0): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
  const file = join(dir, name);
  await writeFile(file, Array.from({ length: rows }, (_, i) => `row${from + i},${(from + i) % 7},"a ""quoted"", field"`).join('\n'));
  return file;
}

describe('load --unique', () => {
  test('the same 10k-row file twice: the second adds 0 and leaves the kitchen unchanged; an extended file adds exactly the new rows', async () => {
    const file = await csv('10k.csv', 10_000);
    const first = await waiter(k, ['load', '--unique', file]);
    expect(first.stdout).toBe('Loaded 10,000 orders (0 already there)');
    const before = await snapshot();
    expect(before).toHaveLength(10_000);
    expect(before.every((o, i) => o.arguments[0] === `row${i}` && typeof o.key === 'string')).toBe(true); // file order
    // Like a plain load: one due time for the whole load (so it is claimed in file order).
    expect(before[0]!.due).toBeInstanceOf(Date);
    expect(new Set(before.map((o) => +o.due)).size).toBe(1);

    const again = await waiter(k, ['load', '--unique', file]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('Loaded 0 orders (10,000 already there)');
    expect(await snapshot()).toEqual(before);

    const extended = await csv('10040.csv', 10_040);
    const more = await waiter(k, ['load', '--unique', extended]);
    expect(more.stdout).toBe('Loaded 40 orders (10,000 already there)');
    const after = await snapshot();
    expect(after.slice(0, 10_000)).toEqual(before);
    expect(after.slice(10_000).map((o) => o.arguments[0])).toEqual(Array.from({ length: 40 }, (_, i) => `row${10_000 + i}`));
  }, 120_000);

  test('duplicates within the file are counted the same way, in every batch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const file = join(dir, 'dups.csv');
    // 1,500 distinct rows, each twice, the copies 1,000 rows apart (across batches) and one pair adjacent.
    const rows = Array.from({ length: 1500 }, (_, i) => `r${i}`);
    await writeFile(file, [...rows, ...rows, 'r0'].join('\n'));
    const r = await waiter(k, ['load', '--unique', file]);
    expect(r.stdout).toBe('Loaded 1,500 orders (1,501 already there)');
    expect(await orders().countDocuments()).toBe(1500);
  });

  test('the counts equal what was written, for any mix and order of new and repeated rows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const file = async (name: string, rows: string[]) => {
      await writeFile(join(dir, name), rows.join('\n'));
      return join(dir, name);
    };
    const seq = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    const cases: [string[], number, number][] = [
      [seq(1, 200), 200, 0],
      [[...seq(1, 200), 'new', '1'], 1, 201], // the issue's: repeated rows, one new, a repeat after it
      [['1', ...seq(201, 349)], 149, 1], // one duplicate first, then 149 new
      [['x', '350', 'y', '2', 'x', '3', 'z'], 4, 3], // new and old interleaved, and a repeat within the file
    ];
    let total = 0;
    for (const [i, [rows, loaded, there]] of cases.entries()) {
      const r = await waiter(k, ['load', '--unique', await file(`s${i}.csv`, rows)]);
      total += loaded;
      expect([r.exitCode, r.stdout]).toEqual([0, `Loaded ${loaded} order${loaded === 1 ? '' : 's'} (${there} already there)`]);
      expect(await orders().countDocuments()).toBe(total);
    }
  });

  test('3 concurrent loads of the same rows (forward, backward, from the middle): each row loaded exactly once, and they overlapped', async () => {
    // With one file, the load that starts first stays a batch ahead and writes every row
    // (seen: [[0,12000],[0,12000],[12000,0]]), so nothing shows the loads overlapped. The
    // same rows forward, backward and from the middle: each load writes rows until it
    // meets rows another one wrote; if they ran one after the other only one would.
    const N = 9000;
    const dir = await mkdtemp(join(tmpdir(), 'waiter-'));
    const line = (i: number) => `row${i},${i % 7},"a ""quoted"", field"`;
    const order = [(i: number) => i, (i: number) => N - 1 - i, (i: number) => (i + N / 2) % N];
    const files = await Promise.all(
      order.map(async (at, r) => {
        const f = join(dir, `order${r}.csv`);
        await writeFile(f, Array.from({ length: N }, (_, i) => line(at(i))).join('\n'));
        return f;
      }),
    );
    const runs = await Promise.all(files.map((file) => waiter(k, ['load', '--unique', file])));
    const counts = runs.map((r) => {
      expect(r.exitCode).toBe(0);
      const m = /^Loaded ([\d,]+) orders? \(([\d,]+) already there\)$/.exec(r.stdout);
      expect(m).not.toBeNull();
      return [Number(m![1]!.replace(/,/g, '')), Number(m![2]!.replace(/,/g, ''))] as const;
    });
    expect(counts.reduce((n, [loaded]) => n + loaded, 0)).toBe(N);
    expect(counts.every(([loaded, there]) => loaded + there === N)).toBe(true);
    // They overlapped: at least two of them wrote rows.
    expect(counts.filter(([loaded]) => loaded > 0).length, JSON.stringify(counts)).toBeGreaterThanOrEqual(2);
    const all = await orders().find({}).toArray();
    expect(all).toHaveLength(N);
    expect(new Set(all.map((o) => o.arguments[0])).size).toBe(N);
  }, 120_000);

  test('plain loads still add duplicates, and do not collide with unique ones (the key index is sparse)', async () => {
    const file = await csv('small.csv', 3);
    await waiter(k, ['load', file]);
    await waiter(k, ['load', file]);
    expect((await waiter(k, ['load', '--unique', file])).stdout).toBe('Loaded 3 orders (0 already there)');
    expect((await waiter(k, ['load', '--unique', file])).stdout).toBe('Loaded 0 orders (3 already there)');
    expect(await orders().countDocuments()).toBe(9);
  });

  test('load --unique --at: every new row waits until then, as a plain load does', async () => {
    const file = await csv('at.csv', 5);
    const r = await waiter(k, ['load', '--unique', '--at', '2031-01-01T00:00:00Z', file]);
    expect(r.stdout).toBe('Loaded 5 orders (0 already there)');
    const all = await orders().find({}).toArray();
    expect(all.map((o) => (o.due as Date).toISOString())).toEqual(Array(5).fill('2031-01-01T00:00:00.000Z'));
    expect((await waiter(k, ['deliver', 'true'])).stdout).toBe('Done. Delivered 0 orders.');
  });

  test('add --unique adds an order once; lists are separate', async () => {
    expect((await waiter(k, ['add', '--unique', '--', 'a', '-b'])).stdout).toMatch(/^Added order [0-9a-f]{24}$/);
    expect((await waiter(k, ['add', '--unique', '--', 'a', '-b'])).stdout).toBe('Added nothing: an order with these arguments is already in the list');
    expect((await waiter(k, ['-l', 'other', 'add', '--unique', '--', 'a', '-b'])).stdout).toMatch(/^Added order/);
    expect(await orders().countDocuments()).toBe(1);
    expect(await k.db.collection('other').countDocuments()).toBe(1);
  });
});

describe('Kitchen.insertOrders (the one insert behind load, add and POST /api/orders)', () => {
  test("with unique, one find of the batch's keys and one insert of only the new rows: a repeat meets no duplicate-key error", async () => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      const rows = Array.from({ length: 50 }, (_, i) => [`r${i}`]);
      await kitchen.insertOrders(rows.slice(0, 30), { unique: true });
      // What the kitchen sends, and whether any insert is refused (a duplicate key error thrown).
      const seen: string[] = [];
      let refused = 0;
      // The kitchen's own collection (private: every query stays in src/kitchen*), reached by bracket access to see what it sends.
      const col = kitchen['orders'];
      const find = col.find.bind(col);
      const insertMany = col.insertMany.bind(col);
      col.find = ((...args: Parameters<typeof find>) => (seen.push(`find ${Object.keys(args[0] ?? {}).join()}`), find(...args))) as typeof find;
      col.insertMany = (...args: Parameters<typeof insertMany>) => {
        seen.push(`insert ${args[0].length}`);
        return insertMany(...args).catch((err: unknown) => {
          refused++;
          throw err;
        });
      };
      const again = await kitchen.insertOrders([...rows, ['r3'], ['new']], { unique: true });
      expect(again).toMatchObject({ inserted: 21, existing: 31 });
      // A server that would scan the list for the key lookup (it says so in explain:
      // FerretDB v1) gets one unordered insert of the batch, its duplicates counted.
      const explained = (await orders()
        .find({ key: { $in: [''] } })
        .explain()) as { filterPushdown?: boolean };
      const scans = explained.filterPushdown === false;
      expect(seen).toEqual(scans ? ['insert 51'] : ['find key', 'insert 21']);
      expect(refused).toBe(scans ? 1 : 0);
      seen.length = 0;
      expect(await kitchen.insertOrders(rows, { unique: true })).toMatchObject({ inserted: 0, existing: 50 });
      expect(seen).toEqual(scans ? ['insert 50'] : ['find key']); // with the lookup: nothing new, no insert at all
      expect(await orders().countDocuments()).toBe(51);
    } finally {
      await kitchen.close();
    }
  });

  test("a load where keys cannot be looked up by index reads the list's keys once, after a batch met duplicates, if the list is at most twice what is left", async () => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      const rows = Array.from({ length: 30 }, (_, i) => [`r${i}`]);
      await kitchen.insertOrders(rows, { unique: true });
      const seen: string[] = [];
      // The kitchen's own collection (private: every query stays in src/kitchen*), reached by bracket access to see what it sends.
      const col = kitchen['orders'];
      const find = col.find.bind(col);
      const insertMany = col.insertMany.bind(col);
      col.find = ((...args: Parameters<typeof find>) => (seen.push(`find ${Object.keys(args[0] ?? {}).join()}`), find(...args))) as typeof find;
      col.insertMany = (...args: Parameters<typeof insertMany>) => (seen.push(`insert ${args[0].length}`), insertMany(...args));
      const explained = (await orders()
        .find({ key: { $in: [''] } })
        .explain()) as { filterPushdown?: boolean };
      const scans = explained.filterPushdown === false;
      // A load of 30 rows in batches of 10: the first 20 repeated, then 5 repeated and 5 new.
      const load = new KeySnapshot(30);
      const fresh = Array.from({ length: 5 }, (_, i) => [`n${i}`]);
      const counts = [];
      for (const batch of [rows.slice(0, 10), rows.slice(10, 20), [...rows.slice(20, 25), ...fresh]]) {
        const r = await kitchen.insertOrders(batch, { unique: true, keys: load });
        counts.push([r.inserted, r.existing]);
      }
      expect(counts).toEqual([
        [0, 10],
        [0, 10],
        [5, 5],
      ]);
      // Without the lookup: the first batch meets its duplicates, the keys are read (no
      // filter), then only the new rows are sent. With it, the keys are never read.
      expect(seen).toEqual(scans ? ['insert 10', 'find ', 'insert 5'] : ['find key', 'find key', 'find key', 'insert 5']);
      expect(load.keys?.size).toBe(scans ? 30 : undefined);
      // 35 orders in the list, 10 rows left after the first batch: not worth reading.
      seen.length = 0;
      const big = new KeySnapshot(20);
      expect(await kitchen.insertOrders(rows.slice(0, 10), { unique: true, keys: big })).toMatchObject({ inserted: 0, existing: 10 });
      expect(await kitchen.insertOrders([...rows.slice(10, 15), ['n5']], { unique: true, keys: big })).toMatchObject({ inserted: 1, existing: 5 });
      expect(big.keys).toBeUndefined();
      expect(seen).toEqual(scans ? ['insert 10', 'find ', 'insert 6'] : ['find key', 'find key', 'insert 1']);
      expect(await orders().countDocuments()).toBe(36);
    } finally {
      await kitchen.close();
    }
  });

  test('a concurrent load winning the race: the unique index refuses its rows, and the counts say what this load wrote', async () => {
    const a = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    const b = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      await a.ensureUniqueIndex();
      const rows = Array.from({ length: 20 }, (_, i) => [`r${i}`]);
      // b writes r5..r9 after a's lookup of the keys (if it makes one) and just before a's insert.
      // The kitchen a's own collection (private: every query stays in src/kitchen*), reached by bracket access to see what it sends.
      const col = a['orders'];
      const insertMany = col.insertMany.bind(col);
      let raced = false;
      col.insertMany = async (...args: Parameters<typeof insertMany>) => {
        if (!raced) {
          raced = true;
          await b.insertOrders(rows.slice(5, 10), { unique: true });
        }
        return insertMany(...args);
      };
      const r = await a.insertOrders(rows, { unique: true });
      expect({ inserted: r.inserted, existing: r.existing }).toEqual({ inserted: 15, existing: 5 });
      expect(await orders().countDocuments()).toBe(20);
      const mine = await orders()
        .find({ _id: { $in: r.ids } })
        .sort({ _id: 1 })
        .toArray();
      expect(mine.map((o) => o.arguments[0])).toEqual(rows.filter((_, i) => i < 5 || i >= 10).map(([x]) => x));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('returns the ids written, in row order: per-row dues; with unique only the new rows', async () => {
    const kitchen = await Kitchen.open({ uri: k.uri, db: k.name, list: 'orders' });
    try {
      const t1 = new Date('2030-01-01T00:00:00Z');
      const t2 = new Date('2031-01-01T00:00:00Z');
      const plain = await kitchen.insertOrders([['a'], ['b']], { due: [t1, t2] });
      expect(plain).toMatchObject({ inserted: 2, existing: 0 });
      expect((await snapshot()).map((o) => [o._id.toHexString(), o.due])).toEqual([
        [plain.ids[0]!.toHexString(), t1],
        [plain.ids[1]!.toHexString(), t2],
      ]);
      const first = await kitchen.insertOrders([['x'], ['y']], { unique: true });
      const again = await kitchen.insertOrders([['x'], ['z'], ['y'], ['w']], { unique: true });
      expect(again).toMatchObject({ inserted: 2, existing: 2 });
      const args = async (ids: ObjectId[]) =>
        (
          await orders()
            .find({ _id: { $in: ids } })
            .sort({ _id: 1 })
            .toArray()
        ).map((o) => o.arguments[0]);
      expect(await args(first.ids)).toEqual(['x', 'y']);
      expect(await args(again.ids)).toEqual(['z', 'w']);
      expect(await kitchen.addOrder(['x'], { unique: true })).toBeNull();
    } finally {
      await kitchen.close();
    }
  });
});
