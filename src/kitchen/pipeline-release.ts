// Pipelines (issue 18): the release of WAITING orders, every update of an order the
// pipeline queries make. PipelineQueries (./pipeline.ts) delegates releaseFor, releaseAll,
// releaseWritten and releaseLowest here; what they read, they read through it.
//
// Release: status READY, due = now (or its `at` if later), `hold`/`wait`/`at` removed;
// fenced by status WAITING, so running it twice, or from two waiters, changes nothing
// more. `prio` is already its priority (written at insert), so no per-order update.
import type { Collection, Filter, ObjectId } from 'mongodb';
import type { Order, State } from '../order.js';
import type { PipelineQueries } from './pipeline.js';
import {
  BATCH,
  HOLD_ORDER,
  ON_IDS,
  barrierAfter,
  dependantsFilter,
  freeFilter,
  heldBy,
  releaseAt,
  releaseLaterFilter,
  releaseNowFilter,
  releaseNowUpdate,
} from './pipeline-plans.js';
import { blocks } from './waiting.js';

/** What the releases read: the bounded finds of PipelineQueries. */
export type ReleaseReads = Pick<PipelineQueries, 'anyWaiting' | 'barriers' | 'belowBarrier' | 'statesOf' | 'batches' | 'byIds'>;

export class PipelineReleases {
  constructor(
    private readonly orders: Collection<Order>,
    private readonly reads: ReleaseReads,
  ) {}

  /**
   * What an order that just finished (DONE or ERROR) may release, off the waiter's
   * critical path: its dependants on {after: 1} (keys = its dependants), each freed if
   * nothing else holds it back; and the lowest barrier above its _id (one key of
   * {hold: 1}: a higher barrier has that one's WAITING orders below it). Returns how
   * many orders it released.
   */
  async releaseFor(id: ObjectId): Promise<number> {
    let n = 0;
    for await (const kids of this.reads.batches(dependantsFilter(id))) n += await this.releaseFree(kids);
    const next = await this.orders
      .find(barrierAfter(id), { projection: { _id: 0, hold: 1 } })
      .sort(HOLD_ORDER)
      .limit(1)
      .next();
    if (next?.hold) n += await this.releaseBarrier(next.hold);
    return n;
  }

  /**
   * The self-healing sweep (reset, clean; a waiter's idle polls now and then, see
   * Releaser.idle): every barrier still held (one key per barrier: a walk of {hold: 1})
   * and every order WAITING on ids ({wait: 1}: keys = those orders, in batches of BATCH,
   * each with one find of its ids' states and one release). O(WAITING on ids + barriers)
   * reads; when nothing is WAITING, one key. Returns how many it released.
   */
  async releaseAll(): Promise<number> {
    if (!(await this.reads.anyWaiting())) return 0;
    let n = 0;
    for (const hold of await this.reads.barriers()) n += await this.releaseBarrier(hold);
    for await (const waiting of this.reads.batches(ON_IDS)) n += await this.releaseFree(waiting);
    return n;
  }

  /**
   * What add, load and POST /api/orders release of what they just wrote (what it waits
   * for may have finished already, or meanwhile: a finish after the insert sees it on
   * {after: 1}, one before is seen here): those of `ids` still WAITING on ids (finds by
   * _id, then their parents' states) and the barrier. O(orders written), not the
   * sweep's O(WAITING). Returns how many it released, and the state of each of `ids` (by
   * hex id) once it has: what add prints, so it is read, never assumed.
   */
  async releaseWritten(written: { ids?: readonly ObjectId[]; barrier?: ObjectId }): Promise<{ released: number; states: Map<string, State> }> {
    let released = written.barrier ? await this.releaseBarrier(written.barrier) : 0;
    // Read after the barrier's release: those it freed are READY here.
    const found = await this.reads.byIds<Pick<Order, '_id' | 'after' | 'any' | 'status' | 'wait'>>(written.ids ?? [], { _id: 1, after: 1, any: 1, status: 1, wait: 1 });
    const states = new Map([...found].map(([id, o]) => [id, o.status]));
    const onIds = [...found.values()].filter((o) => o.status === 'WAITING' && o.wait);
    for (let i = 0; i < onIds.length; i += BATCH) {
      const free = await this.freeOf(onIds.slice(i, i + BATCH));
      const n = free.length === 0 ? 0 : await this.release(freeFilter(free));
      released += n;
      // Fewer released than free: another hand (a waiter's release, a hold, a cancel) got there first: read what it made of them.
      if (n === free.length) for (const id of free) states.set(id.toHexString(), 'READY');
      else for (const [id, state] of await this.reads.statesOf(free)) states.set(id, state);
    }
    return { released, states };
  }

  /** The cheap check of a waiter's every idle poll: the lowest barrier still held (one key of {hold: 1}, then one of {status, _id}). Returns how many it released. */
  async releaseLowest(): Promise<number> {
    const h = await this.orders
      .find(barrierAfter(), { projection: { _id: 0, hold: 1 } })
      .sort(HOLD_ORDER)
      .limit(1)
      .next();
    return h?.hold ? this.releaseBarrier(h.hold) : 0;
  }

  private async releaseBarrier(barrier: ObjectId): Promise<number> {
    if (await this.reads.belowBarrier(barrier)) return 0;
    return this.release(heldBy(barrier));
  }

  /** Frees those of these WAITING orders (a batch) that nothing holds back: a find of their ids' states, then one release of the free ones. */
  private async releaseFree(waiting: Pick<Order, '_id' | 'after' | 'any'>[]): Promise<number> {
    const free = await this.freeOf(waiting);
    return free.length === 0 ? 0 : this.release(freeFilter(free));
  }

  /** The ids of those of these WAITING orders that nothing holds back: one find of their ids' states. */
  private async freeOf(waiting: Pick<Order, '_id' | 'after' | 'any'>[]): Promise<ObjectId[]> {
    if (waiting.length === 0) return [];
    const states = await this.reads.statesOf(waiting.flatMap((w) => w.after ?? []));
    return waiting.filter((w) => !(w.after ?? []).some((id) => blocks(states.get(id.toHexString()), Boolean(w.any)))).map((w) => w._id);
  }

  /**
   * The release of the WAITING orders matching `filter` (fenced by status WAITING):
   * READY, due now, or their `at` when it is later (those are few: one find and a
   * bulk write). Returns how many it released.
   */
  private async release(filter: Filter<Order>, now = new Date()): Promise<number> {
    const r = await this.orders.updateMany(releaseNowFilter(filter, now), releaseNowUpdate(now));
    let n = r.modifiedCount;
    const later = await this.orders.find(releaseLaterFilter(filter, now), { projection: { _id: 1, at: 1 } }).toArray();
    if (later.length > 0) {
      const b = await this.orders.bulkWrite(later.map((o) => ({ updateOne: releaseAt(o._id, o.at!) })));
      n += b.modifiedCount;
    }
    return n;
  }
}
