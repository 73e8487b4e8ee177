// load --unique on a server that cannot look keys up by index (FerretDB v1: it pushes
// down no filter but `_id` equality, so `{key: {$in: [...]}}` reads the whole list per
// batch). There every repeated row otherwise costs a duplicate-key error: FerretDB v1
// retries a refused batch of 100 one document at a time, so a repeated load costs
// ~1.5x the first (measured: 1000-row unordered inserts of duplicates 4.7 s vs 3.1 s
// for the first inserts, 20k rows). Reading the list's keys once costs less (2.2 s for
// 20k) when the list is not much bigger than the load: a kitchen room,
// Kitchen.insertOrders() is its one caller.
import type { Collection } from 'mongodb';
import type { Order } from '../order.js';

/**
 * The most keys a load holds: memory stays bounded (a repeated 200k-row load peaked at
 * 243 MB RSS with them, 118 MB without); a bigger list is met with duplicate-key errors.
 */
export const MAX_KEYS = 250_000;

/**
 * The keys already in the list, as one load --unique reads them at most once: after a
 * batch met duplicates (a fresh load into a list of other rows never reads) and while
 * rows are left to load, only while the list holds at most twice as many orders as
 * there are rows left, and at most MAX_KEYS (the read stops there, and the load goes
 * on meeting duplicates: a small repeat into a big list is not made much slower). One
 * per load, never kept beyond it: rows removed from the list after the read (a `clean` during the load)
 * still count as there for the rest of that load. Rows written after the read (by this
 * load or a concurrent one) are not in it: the unique index {key: 1} still refuses
 * them, and they are counted from its errors.
 */
export class KeySnapshot {
  /** The keys read, once read in full. */
  keys: Set<string> | undefined;
  private tried = false;
  private left: number;

  /** `rows`: how many rows the load has. */
  constructor(rows: number) {
    this.left = rows;
  }

  /** After a batch of `rows` rows, `refused` of them as duplicates: maybe read the keys. */
  async afterBatch(orders: Collection<Order>, rows: number, refused: number): Promise<void> {
    this.left -= rows;
    if (refused === 0 || this.tried || this.left <= 0) return;
    this.tried = true;
    this.keys = await readKeys(orders, Math.min(2 * this.left, MAX_KEYS));
  }
}

/**
 * Every `key` in the list, or undefined once more than `budget` orders were read.
 * ONE find of the whole list, only `key` returned, in batches of 10,000: it is asked
 * only where no filter would be pushed down (with no filter the server does the least
 * per document), and never on MongoDB or FerretDB 2.x, which look keys up on {key: 1}.
 */
export async function readKeys(orders: Collection<Order>, budget: number): Promise<Set<string> | undefined> {
  const keys = new Set<string>();
  let read = 0;
  const cursor = orders.find({}, { projection: { _id: 0, key: 1 }, batchSize: 10_000 });
  try {
    for await (const o of cursor) {
      if (++read > budget) return undefined;
      if (typeof o.key === 'string') keys.add(o.key);
    }
  } finally {
    await cursor.close();
  }
  return keys;
}
