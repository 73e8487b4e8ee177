// Every query on orders' checkpoints (deliver --checkpoint, src/checkpoint/): the files in
// the GridFS bucket `<list>.checkpoints` (a FileStore, as result files are, with
// metadata.set naming the set each file belongs to), and the order's `checkpoint` field
// saying which set is current (CheckpointRef, src/order.ts).
//
// A set is current only once flipped: its files are stored first, then ONE updateOne
// fenced by the claim (the heartbeat's fence) sets `checkpoint`. So a set half stored,
// or stored by an attempt that lost its lease, never becomes current, and readers
// (restore) check the set against the count and hashes the flip wrote.
import type { Collection, ObjectId } from 'mongodb';
import type { CheckpointRef, Claimed, Order } from '../order.js';
import { COMPLETE, FileStore, type StoredFile } from './files.js';
import { fence } from './plans.js';

export class CheckpointQueries {
  constructor(
    private readonly orders: Collection<Order>,
    readonly files: FileStore,
  ) {}

  /**
   * Makes `ref` the order's current checkpoint. Filter: fence(c.id, c.token) · Update:
   * $set checkpoint · Index used: _id · Returns: false when the order is no longer this
   * attempt's (reset, taken over, cancelled): nothing written · Cost: 1 update per set stored.
   */
  async flip(c: Pick<Claimed, 'id' | 'token'>, ref: CheckpointRef): Promise<boolean> {
    const r = await this.orders.updateOne(fence(c.id, c.token), { $set: { checkpoint: ref } });
    return r.matchedCount === 1;
  }

  /** Says on the RUNNING order which attempt's checkpoint it started from (show). Fenced by the claim; 1 update, only for an attempt restored. */
  async resumed(c: Pick<Claimed, 'id' | 'token'>, attempt: number): Promise<boolean> {
    const r = await this.orders.updateOne(fence(c.id, c.token), { $set: { resumed: attempt } });
    return r.matchedCount === 1;
  }

  /** The complete files of one set, by path. Index: {metadata.order, …} (that order's checkpoint files), then set and COMPLETE filtered. */
  async setFiles(order: ObjectId, set: ObjectId): Promise<StoredFile[]> {
    return this.files.docs
      .find({ 'metadata.order': order, 'metadata.set': set, ...COMPLETE })
      .sort({ 'metadata.order': 1, 'metadata.attempt': 1, filename: 1 })
      .toArray();
  }

  /** Deletes one set's files (a set replaced, or one whose flip was refused): chunks first, then the documents. */
  async removeSet(order: ObjectId, set: ObjectId): Promise<number> {
    const ids = (await this.files.docs.find({ 'metadata.order': order, 'metadata.set': set }, { projection: { _id: 1 } }).toArray()).map((f) => f._id);
    if (ids.length === 0) return 0;
    await this.files.chunks.deleteMany({ files_id: { $in: ids } });
    return (await this.files.docs.deleteMany({ _id: { $in: ids } })).deletedCount;
  }
}
