// Pipelines (issue 18): the queries of orders that wait for other orders. Imported by
// src/kitchen.ts (Kitchen.pipeline); nothing else here talks to the driver.
//
// A WAITING order has no `due`, so the claim (claimFilter: `due <= now` on the index
// {prio: -1, due: 1, _id: 1}) never reaches it: claims stay one findOneAndUpdate, and
// WAITING orders cost them one seek past the null `due` keys at most. It waits on one
// of two things:
// - `after` (add --after): a list of order ids, and `wait: 1` while it waits (sparse
//   index {wait: 1}: the WAITING ones on ids, for the self-healing check). It is free
//   when none of them is unfinished (READY, RUNNING, WAITING, HELD, or ERROR/CANCELLED unless `any`).
//   An id cleaned away holds nothing back. {after: 1} (sparse, multikey) finds the
//   dependants of one order that just finished.
// - `hold: X` (load/add --after-all): a barrier, an ObjectId above every _id in the
//   list when it was loaded (its own orders get higher ids). Free when no order with
//   _id < X is unfinished: one find, limit 1, over six ranges of {status: 1, _id: 1}
//   (ERROR, CANCELLED, READY, RUNNING, WAITING, HELD below X): it reads at most one key when something
//   is unfinished and none when the stage is done, never the DONE orders.
// Their release (every update of an order here): ./pipeline-release.ts.
import { ObjectId, type Collection, type Filter } from 'mongodb';
import type { Order, State } from '../order.js';
import { EVERY, STATUS_INDEX, byIdsFilter, inState } from './plans.js';
import {
  ACTIVE,
  BATCH,
  HELD_FROM_WAITING,
  HOLD_ORDER,
  IDS_PER_FIND,
  MIN_ID,
  NEWEST_FIRST,
  ON_IDS,
  FAILED,
  UNFINISHED,
  barrierAfter,
  heldBetween,
  heldBy,
  heldOfFilter,
  unfinishedBelow,
  waitingKeyFilter,
} from './pipeline-plans.js';
import { PipelineReleases } from './pipeline-release.js';
import { after, increasing } from './waiting.js';
import { blockedOf, type Blocked, type Node } from './blocked.js';
/** summary() reuses its counts of the orders on failed ones this long when it read more than BATCH orders on ids or HELD (status, the page's 1 s refresh). */
const SUMMARY_REUSE_MS = 10_000;

export interface WaitingSummary {
  /** WAITING orders. */
  waiting: number;
  /**
   * Of them, those failed orders hold back: an ERROR or CANCELLED order they wait for or
   * below their barrier, or a WAITING or held-from-WAITING one so held (transitively).
   */
  onFailed: number;
  /** HELD orders held from WAITING that, released, would wait on failed orders so (a release alone never runs them). */
  heldOnFailed: number;
}

export type { Blocked } from './blocked.js';

export class PipelineQueries {
  private indexed = false;
  /** The last blocked() walked this many orders on ids and held from WAITING; see summary(). */
  private walked = 0;
  private reused?: { at: number; onFailed: number; heldOnFailed: number };
  private statusIndexed?: Promise<boolean>;

  private readonly releases: PipelineReleases;

  constructor(private readonly orders: Collection<Order>) {
    this.releases = new PipelineReleases(orders, this);
  }

  /**
   * The hint to {status: 1, _id: 1}, only when the list has that index (Kitchen.ensureIndexes
   * makes it; a list made otherwise may lack it): MongoDB and FerretDB 2.x refuse a
   * hint to a missing index. Once there, not asked again (listIndexes: read rights suffice).
   */
  private async statusHint(): Promise<{ hint?: typeof STATUS_INDEX }> {
    this.statusIndexed ??= this.orders.indexExists('status_1__id_1').catch(() => false);
    if (await this.statusIndexed) return { hint: STATUS_INDEX };
    this.statusIndexed = undefined; // asked again next time: a writer may make it meanwhile
    return {};
  }

  /** The indexes dependants need: made by the writers of WAITING orders (add/load/the API), once per process; others never pay for them. */
  async ensureIndexes(): Promise<void> {
    if (this.indexed) return;
    await this.orders.createIndex({ after: 1 }, { sparse: true });
    await this.orders.createIndex({ wait: 1 }, { sparse: true });
    await this.orders.createIndex({ hold: 1 }, { sparse: true });
    // Kitchen.ensureIndexes makes it too; here so that what is hinted is there (statusHint).
    await this.orders.createIndex(STATUS_INDEX);
    this.statusIndexed = Promise.resolve(true);
    this.indexed = true;
  }

  /** Which of these ids are not in the list (add --after checks them first). One find by _id. */
  async missing(ids: readonly ObjectId[]): Promise<ObjectId[]> {
    const there = await this.byIds<Pick<Order, '_id'>>(ids, { _id: 1 });
    return ids.filter((id) => !there.has(id.toHexString()));
  }

  /**
   * A new barrier: above the newest _id in the list now (the _id index's last key), and
   * `ids`, the maker of the held orders' ids: each above the barrier and the one before,
   * so the orders keep the file's order and all sort above their barrier. Plain
   * ObjectIds do not always do that (bson's counter starts at random and wraps at 2^24;
   * clocks step back), so an id that is not above the last one is made from the last
   * one's second (then the next second) with this process's own bytes and counter: never
   * another process's id (their 5 random bytes differ), nor one this process makes later
   * (its counter goes on). When the newest _id is ahead of this clock (another box's),
   * the barrier is made so too, a second above it: not that box's next ids.
   */
  async newBarrier(): Promise<{ barrier: ObjectId; ids: () => ObjectId }> {
    const fresh = new ObjectId();
    const newest = await this.orders
      .find(EVERY, { projection: { _id: 1 } })
      .sort(NEWEST_FIRST)
      .limit(1)
      .next();
    const barrier = !newest || newest._id.toHexString() < fresh.toHexString() ? fresh : after(newest._id, 1);
    return { barrier, ids: increasing(barrier) };
  }

  /**
   * The barrier an order with this --unique key still waits on, if any: a load
   * --after-all run again after it failed part way rejoins that stage (its first row is
   * there, WAITING) instead of waiting for its own first part. One find on {key: 1}.
   */
  async heldBarrierOf(key: string): Promise<ObjectId | undefined> {
    return (await this.orders.findOne(waitingKeyFilter(key), { projection: { _id: 0, hold: 1 } }))?.hold;
  }

  /** Whether any order is WAITING: one key of {status: 1, _id: 1}. */
  async anyWaiting(): Promise<boolean> {
    return (
      (await this.orders
        .find(inState('WAITING'), { projection: { _id: 1 } })
        .limit(1)
        .next()) !== null
    );
  }

  /** Whether any order is READY or RUNNING (work that may still release WAITING ones): at most one key. */
  async anyActive(): Promise<boolean> {
    return (
      (await this.orders
        .find(ACTIVE, { projection: { _id: 1 } })
        .limit(1)
        .next()) !== null
    );
  }

  /** What an order that just finished may release: PipelineReleases.releaseFor (./pipeline-release.ts). */
  releaseFor(id: ObjectId): Promise<number> {
    return this.releases.releaseFor(id);
  }

  /** The self-healing sweep: PipelineReleases.releaseAll (./pipeline-release.ts). */
  releaseAll(): Promise<number> {
    return this.releases.releaseAll();
  }

  /** What add, load and POST /api/orders release of what they just wrote: PipelineReleases.releaseWritten (./pipeline-release.ts). */
  releaseWritten(written: { ids?: readonly ObjectId[]; barrier?: ObjectId }): Promise<{ released: number; states: Map<string, State> }> {
    return this.releases.releaseWritten(written);
  }

  /** The cheap check of a waiter's every idle poll: PipelineReleases.releaseLowest (./pipeline-release.ts). */
  releaseLowest(): Promise<number> {
    return this.releases.releaseLowest();
  }

  /** The orders matching `filter` (on ids: {wait: 1}, {after: id}), BATCH at a time: one cursor. Public: the releases read through it (./pipeline-release.ts). */
  async *batches(filter: Filter<Order>, projection: Record<string, 1> = { _id: 1, after: 1, any: 1 }): AsyncGenerator<Pick<Order, '_id' | 'after' | 'any' | 'hold' | 'barrier'>[]> {
    const cursor = this.orders.find(filter, { projection, batchSize: BATCH });
    try {
      let batch: Pick<Order, '_id' | 'after' | 'any' | 'hold' | 'barrier'>[] = [];
      for await (const o of cursor) {
        batch.push(o);
        if (batch.length === BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      await cursor.close();
    }
  }

  /** These orders by hex id (missing ones: cleaned), IDS_PER_FIND ids per find by _id (each id asked once). Public: the releases read through it. */
  async byIds<T extends Pick<Order, '_id'>>(ids: readonly ObjectId[], projection: Record<string, 1>): Promise<Map<string, T>> {
    const unique = [...new Map(ids.map((id) => [id.toHexString(), id])).values()];
    const out = new Map<string, T>();
    for (let i = 0; i < unique.length; i += IDS_PER_FIND) {
      const found = await this.orders.find(byIdsFilter(unique.slice(i, i + IDS_PER_FIND)), { projection }).toArray();
      for (const o of found) out.set(o._id.toHexString(), o as unknown as T);
    }
    return out;
  }

  /** The barriers still held, lowest first: one key of {hold: 1} each. */
  async barriers(): Promise<ObjectId[]> {
    const out: ObjectId[] = [];
    for (let last = MIN_ID; ;) {
      const h = await this.orders
        .find(barrierAfter(out.length ? last : undefined), { projection: { _id: 0, hold: 1 } })
        .sort(HOLD_ORDER)
        .limit(1)
        .next();
      if (!h?.hold) return out;
      out.push((last = h.hold));
    }
  }

  /**
   * The first unfinished order below a barrier (status `ERROR` first), or null: at most
   * one key over four ranges of {status, _id}. Hinted: the _id index would read the DONE
   * orders below it, when the list has that index (statusHint).
   */
  async belowBarrier(barrier: ObjectId, statuses: readonly State[] = UNFINISHED): Promise<Pick<Order, '_id' | 'status'> | null> {
    return this.orders
      .find(unfinishedBelow(barrier, statuses), { projection: { _id: 1, status: 1 }, ...(await this.statusHint()) })
      .limit(1)
      .next();
  }

  /** The states of these orders by hex id (missing ones: cleaned). Finds by _id, IDS_PER_FIND ids each. */
  async statesOf(ids: readonly ObjectId[]): Promise<Map<string, State>> {
    const found = await this.byIds<Pick<Order, '_id' | 'status'>>(ids, { _id: 1, status: 1 });
    return new Map([...found].map(([id, o]) => [id, o.status]));
  }

  /**
   * The orders that nothing can release until a failed (ERROR or CANCELLED) order is reset:
   * WAITING ones by hex id (those on ids) and by barrier, and HELD ones held from WAITING
   * (a release would make them wait so); see blockedOf (./blocked.ts) for the rules. A
   * HELD order is not a failed one: what waits only on held orders is not blocked. Bounded
   * by the WAITING and HELD orders, never the DONE ones: the orders on ids ({wait: 1}), the
   * HELD range of {status, _id} (HELD_FROM_WAITING), one find of their ids' states; per
   * barrier (of WAITING orders, {hold: 1}; or of held ones only) one key of {status, _id}
   * (ERROR or CANCELLED below); and per pair of barriers, one blocked and one above it, a
   * walk of the WAITING keys between them (limit 1: the lower one's orders come first).
   */
  async blocked(): Promise<Blocked> {
    const waiting = await this.anyWaiting();
    const nodes: Node[] = [];
    const parents = new Map<string, Pick<Order, 'status' | 'hold'>>();
    // Read in batches (bounded queries); kept in memory for the fixpoint: O(WAITING on ids + HELD) reads and memory.
    const read = async (filter: Filter<Order>, held: boolean) => {
      for await (const batch of this.batches(filter, { _id: 1, after: 1, any: 1, hold: 1, barrier: 1 })) {
        nodes.push(...batch.map((o) => ({ _id: o._id, after: o.after, any: o.any, barrier: held ? o.barrier : o.hold, held })));
        for (const [id, p] of await this.parentsOf(batch.flatMap((w) => w.after ?? []))) parents.set(id, p);
      }
    };
    if (waiting) await read(ON_IDS, false);
    await read(HELD_FROM_WAITING, true);
    this.walked = nodes.length;
    if (!waiting && nodes.length === 0) return { ids: new Set(), held: new Set(), barriers: new Set(), all: false };
    const known = await this.barriers();
    const seen = new Set(known.map((b) => b.toHexString()));
    const more = [...new Map(nodes.filter((w) => w.held && w.barrier && !seen.has(w.barrier.toHexString())).map((w) => [w.barrier!.toHexString(), w.barrier!])).values()];
    const failedBelow = new Set<string>();
    for (const hold of [...known, ...more]) if (await this.belowBarrier(hold, FAILED)) failedBelow.add(hold.toHexString());
    const between = async (lower: ObjectId, hold: ObjectId) =>
      (await this.orders
        .find(heldBetween(lower, hold), { projection: { _id: 1 }, ...(await this.statusHint()) })
        .limit(1)
        .next()) !== null;
    return blockedOf({ nodes, parents, waiting: known, more, failedBelow, between });
  }

  /**
   * status (and the page, refreshed every second): how many are WAITING, and how many of
   * them failed orders hold back (blocked(), transitively, through held orders too); and
   * how many HELD orders a release would leave waiting on failed ones. onFailed stays a
   * count of WAITING orders (status prints it beside WAITING); a held order is no failure,
   * so what waits only on held orders is in neither. Costs two counts of {status, _id}
   * (keys = WAITING and HELD orders), blocked() (O(WAITING on ids + HELD + barriers)
   * reads, in bounded queries), per blocked barrier one count of {hold: 1} (keys = its
   * orders). When blocked() read more than BATCH orders on ids, or more than BATCH are
   * HELD, its counts are reused for SUMMARY_REUSE_MS (capped by the fresh WAITING and HELD
   * counts): a page open on a big pipeline walks it once per 10 s, not once a second.
   */
  async summary(): Promise<WaitingSummary> {
    const [waiting, held] = await Promise.all([this.orders.countDocuments(inState('WAITING')), this.orders.countDocuments(inState('HELD'))]);
    if (waiting === 0 && held === 0) return { waiting, onFailed: 0, heldOnFailed: 0 };
    const r = this.reused;
    if (r && Date.now() - r.at < SUMMARY_REUSE_MS) return { waiting, onFailed: Math.min(waiting, r.onFailed), heldOnFailed: Math.min(held, r.heldOnFailed) };
    const b = await this.blocked();
    let onFailed = 0;
    for (const hold of b.barriers) onFailed += await this.orders.countDocuments(heldBy(ObjectId.createFromHexString(hold)));
    // An order on ids with a blocked barrier too is counted once (with its barrier).
    if (b.ids.size > 0 && b.barriers.size > 0) {
      const both = await this.byIds<Pick<Order, '_id' | 'hold'>>(
        [...b.ids].map((id) => ObjectId.createFromHexString(id)),
        { _id: 1, hold: 1 },
      );
      onFailed -= [...both.values()].filter((o) => o.hold && b.barriers.has(o.hold.toHexString())).length;
    }
    onFailed += b.ids.size;
    // A HELD order held from READY is read too (its held.from): the HELD count, not only those walked.
    const heldOnFailed = b.held.size;
    this.reused = this.walked > BATCH || held > BATCH ? { at: Date.now(), onFailed, heldOnFailed } : undefined;
    return { waiting, onFailed, heldOnFailed };
  }

  /** show: the barriers these orders are held by (those held by one), by hex id. One find by _id. */
  async barriersOf(ids: readonly ObjectId[]): Promise<{ id: string; barrier: string }[]> {
    const found = await this.orders.find(heldOfFilter(ids), { projection: { _id: 1, hold: 1 } }).toArray();
    return found.map((o) => ({ id: o._id.toHexString(), barrier: o.hold!.toHexString() }));
  }

  /** The states (and barriers) of these orders by hex id (missing ones: cleaned). Finds by _id, IDS_PER_FIND ids each. */
  private async parentsOf(ids: readonly ObjectId[]): Promise<Map<string, Pick<Order, 'status' | 'hold'>>> {
    return this.byIds<Pick<Order, '_id' | 'status' | 'hold'>>(ids, { _id: 1, status: 1, hold: 1 });
  }

  /** show: below a barrier, how many orders are not DONE, and how many of them ERROR or CANCELLED (counts on {status, _id}: keys = those orders). */
  async barrierState(barrier: ObjectId): Promise<{ unfinished: number; failed: number }> {
    const hint = await this.statusHint();
    const [unfinished, failed] = await Promise.all([
      this.orders.countDocuments(unfinishedBelow(barrier), hint),
      this.orders.countDocuments(unfinishedBelow(barrier, FAILED), hint),
    ]);
    return { unfinished, failed };
  }
}
