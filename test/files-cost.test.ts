// What the result-file queries cost on a real MongoDB, read from the server's own
// counters (explain executionStats): listing one order's files (show, the API) and
// reading one (the API, gather) examine that order's files and that file's chunks, not
// the bucket. Skipped only where the server names itself other than a mongod and its
// explain counts nothing (test/support/gates.ts): FerretDB v1 returns its SQL plan, 2.x
// no counters. The queries explained are the ones FileStore (src/kitchen/files.ts) and
// the driver's GridFS reader send, captured from the driver's command events: not copies.
import { Readable } from 'node:stream';
import { MongoClient, ObjectId, type Document } from 'mongodb';
import { afterAll, describe, expect, test } from 'vitest';
import { FileStore } from '../src/kitchen/files.js';
import { examined } from './support/explain.js';
import { explainCounts } from './support/gates.js';
import { useDb } from './support/kitchen.js';

const counted = await explainCounts();

describe('result files cost (explain)', () => {
  const k = useDb();
  const clients: MongoClient[] = [];
  afterAll(async () => {
    for (const c of clients) await c.close();
  });

  test.runIf(counted.run)(
    counted.title("listing an order's files and reading one examine that order's files (and that file's chunks), not the bucket's 1,200"),
    async () => {
      const client = new MongoClient(k.uri, { monitorCommands: true });
      clients.push(client);
      const store = new FileStore(client.db(k.name), 'orders');
      // 200 orders × 2 attempts × 3 one-chunk files; the order looked at has one more: 3 chunks.
      const orders = Array.from({ length: 200 }, () => new ObjectId());
      const target = orders[100]!;
      const put = (order: ObjectId, attempt: number, path: string, body: Buffer) => store.upload({ order, attempt, path }, Readable.from([body]));
      for (const order of orders) for (const attempt of [1, 2]) for (const path of ['a.csv', 'b.csv', 'c.csv']) await put(order, attempt, path, Buffer.from(`${path}\n`));
      const big = Buffer.alloc(600_000, 7);
      await put(target, 2, 'big.bin', big);
      const mine = 7; // the target's files: 6 small, big.bin

      const finds: Document[] = [];
      client.on('commandStarted', (e) => e.commandName === 'find' && finds.push(e.command));
      const explain = (cmd: Document) => {
        const asked = Object.fromEntries(['find', 'filter', 'sort', 'limit', 'skip', 'projection'].filter((key) => cmd[key] !== undefined).map((key) => [key, cmd[key]]));
        return client.db(k.name).command({ explain: asked, verbosity: 'executionStats' });
      };

      // show and GET /api/orders/:id/files: one order's files, every attempt.
      finds.length = 0;
      expect((await store.of([target])).map((f) => f.filename)).toHaveLength(mine);
      expect(finds).toHaveLength(1);
      const list = examined(await explain(finds[0]!));
      expect(list.keys).toBeLessThanOrEqual(mine + 1);
      expect(list.docs).toBeLessThanOrEqual(mine);

      // GET /api/orders/:id/files/<path>: the file by path (the newest attempt's; every order has an a.csv), then its content.
      finds.length = 0;
      const a = (await store.one(target, 'a.csv'))!;
      expect([a.metadata.order.toHexString(), a.metadata.attempt]).toEqual([target.toHexString(), 2]);
      expect(finds).toHaveLength(1);
      const one = examined(await explain(finds[0]!));
      expect(one.keys).toBeLessThanOrEqual(mine + 1);
      expect(one.docs).toBeLessThanOrEqual(2); // its a.csv of each attempt at most

      const f = (await store.one(target, 'big.bin'))!;
      expect([f.metadata.attempt, f.length]).toEqual([2, big.length]);
      finds.length = 0;
      const parts: Buffer[] = [];
      for await (const b of store.open(f)) parts.push(b as Buffer);
      expect(Buffer.concat(parts).equals(big)).toBe(true);
      expect(finds.length).toBeGreaterThan(0);
      for (const cmd of finds) {
        const read = examined(await explain(cmd));
        expect(read.keys, JSON.stringify(cmd.filter)).toBeLessThanOrEqual(3 + 1); // big.bin's 3 chunks
        expect(read.docs, JSON.stringify(cmd.filter)).toBeLessThanOrEqual(3);
      }

      // The measure can fail: without {metadata.order, metadata.attempt, filename} the same listing reads the bucket.
      finds.length = 0;
      await store.of([target]);
      await client.db(k.name).collection('orders.results.files').dropIndex('metadata.order_1_metadata.attempt_1_filename_1');
      const unindexed = examined(await explain(finds[0]!));
      expect(unindexed.keys + unindexed.docs).toBeGreaterThan(1200);
    },
    120_000,
  );
});
