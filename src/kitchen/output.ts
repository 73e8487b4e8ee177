// Every query on `<list>.output`, the live output of orders (issue 17). A kitchen-side
// module: Kitchen owns one (kitchen.outputs); each method states its contract.
//
// A document is one *slot*: a contiguous piece [from, to) of one attempt's combined
// output (byte positions in all the attempt printed), its chunks marked by stream:
//   {_id: "<order hex>:<attempt>:<slot>", order, attempt, from, to, at, chunks: [{s, d}]}
// - slot h0, h1, …: the head (the first half of --keep-output), never overwritten;
//   t0…t(N-1): the tail, a ring: a new tail slot replaces the oldest. So an attempt
//   never holds more than --keep-output bytes, and what was dropped is the gap
//   between one slot's `to` and the next one's `from`.
// - Writes: one bulkWrite of updates per flush (one `update` command, one round trip):
//   a slot that grows is $push-ed to, fenced by its old `to` (a retry after a lost
//   answer matches nothing instead of pushing twice); a new slot is replaced whole
//   (upsert by _id; repeating it writes the same).
// - Reads are ranges of the index {order: 1, attempt: 1, to: 1}: keys examined = slots
//   read (≤ 2 × 8 + 8 per attempt with the default cap).
// - Never inside the order document, which stays small; an attempt that was lost or
//   reset, held or interrupted keeps what it sent (attempts are numbered, never twice the
//   same: a new one writes new slots).
import { usageOf } from './usage.js';
import { Binary, type AnyBulkWriteOperation, type Collection, type Db, type ObjectId } from 'mongodb';

export type StreamName = 'out' | 'err';

export interface Chunk {
  s: StreamName;
  d: Binary;
}

export interface OutputDoc {
  _id: string;
  order: ObjectId;
  attempt: number;
  from: number;
  to: number;
  /** When the slot was last written. */
  at: Date;
  chunks: Chunk[];
}

/** One slot write of a flush (see LiveOutput). */
export type SlotWrite = { kind: 'replace'; doc: OutputDoc } | { kind: 'append'; id: string; oldTo: number; to: number; at: Date; chunks: Chunk[] };

/** How many order ids one deleteMany names: an $in of thousands is slow on FerretDB v1. */
const DELETE_BATCH = 500;

export class OutputStore {
  readonly docs: Collection<OutputDoc>;
  private indexed = false;

  constructor(db: Db, list: string) {
    this.docs = db.collection<OutputDoc>(`${list}.output`);
  }

  /** The index {order: 1, attempt: 1, to: 1}; idempotent, once per process. */
  async ensureIndex(): Promise<void> {
    if (this.indexed) return;
    await this.docs.createIndex({ order: 1, attempt: 1, to: 1 });
    this.indexed = true;
  }

  /**
   * One flush of one attempt's output: all its slot writes in ONE ordered bulkWrite
   * (all updates: one command). Safe to repeat after a lost answer (see the header).
   */
  async write(writes: readonly SlotWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.ensureIndex();
    const ops: AnyBulkWriteOperation<OutputDoc>[] = writes.map((w) =>
      w.kind === 'replace'
        ? { replaceOne: { filter: { _id: w.doc._id }, replacement: w.doc, upsert: true } }
        : { updateOne: { filter: { _id: w.id, to: w.oldTo }, update: { $push: { chunks: { $each: w.chunks } }, $set: { to: w.to, at: w.at } } } },
    );
    await this.docs.bulkWrite(ops, { ordered: true });
  }

  /**
   * The slots of one attempt that hold bytes after position `after` (to > after), in
   * order, at most `limit`: one range of {order, attempt, to}.
   */
  async read(order: ObjectId, attempt: number, after = 0, limit = 100): Promise<OutputDoc[]> {
    return this.docs
      .find({ order, attempt, to: { $gt: after } })
      .sort({ order: 1, attempt: 1, to: 1 })
      .limit(limit)
      .toArray();
  }

  /** Deletes the output of these orders (every attempt): ranges of the index's first key, DELETE_BATCH ids per command. */
  async removeFor(orders: readonly ObjectId[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < orders.length; i += DELETE_BATCH) {
      n += (await this.docs.deleteMany({ order: { $in: orders.slice(i, i + DELETE_BATCH) } })).deletedCount;
    }
    return n;
  }

  /**
   * Frees the output of the orders matching `orders` (a filter on the list, given by
   * the caller's kitchen: {status, stop} ranges on the index {status: 1, stop: 1}),
   * keeping the orders: their ids are read in pages of 1,000 (_id only) and their
   * slots deleted per page. Returns how many orders were looked at and slots deleted.
   */
  async removeMatching(ids: AsyncIterable<ObjectId>): Promise<{ orders: number; slots: number }> {
    let orders = 0;
    let slots = 0;
    let page: ObjectId[] = [];
    for await (const id of ids) {
      page.push(id);
      orders++;
      if (page.length === 1000) {
        slots += await this.removeFor(page);
        page = [];
      }
    }
    slots += await this.removeFor(page);
    return { orders, slots };
  }

  /** Deletes every list's output document (a whole clean). */
  async removeAll(): Promise<void> {
    await this.docs.deleteMany({});
  }

  /** How much the list's live output takes: the server's own figures for the collection (usage.ts: $collStats, no scan). */
  async usage(): Promise<{ documents: number; bytes: number; storageBytes: number }> {
    const u = await usageOf(this.docs);
    return { documents: u.count, bytes: u.size, storageBytes: u.storageSize };
  }

  /** Whether there is any output at all: the collection's metadata, no scan. */
  async any(): Promise<boolean> {
    return (await this.docs.estimatedDocumentCount()) > 0;
  }
}

export function binary(b: Buffer): Binary {
  return new Binary(b);
}

/** The bytes of a stored chunk. */
export function bytesOf(c: Chunk): Buffer {
  const d = c.d as Binary | Buffer | Uint8Array;
  if (d instanceof Binary) return Buffer.from(d.buffer.buffer, d.buffer.byteOffset, d.position);
  return Buffer.from(d);
}
