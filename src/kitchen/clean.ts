// Clean: deleting orders, and freeing their output and result files (waiter clean).
// It takes the collections and rooms it empties (a Kitchen is one), not the Kitchen class.
import type { Collection, ObjectId } from 'mongodb';
import type { WaiterDoc } from '../fleet.js';
import type { ColumnsDoc, Order, State } from '../order.js';
import type { FileStore } from './files.js';
import type { OutputStore } from './output.js';
import type { PipelineQueries } from './pipeline.js';
import { FINISHED_STATES, ID_ORDER, byIdsFilter, cleanFilter, cleanOutputsFilter, cleanRange, dropCheckpointUpdate, dropFinishedCheckpointFilter } from './plans.js';

/** What a clean deletes from: the list and what lies beside it. */
export interface CleanTarget {
  orders: Collection<Order>;
  waiters: Collection<WaiterDoc>;
  columnDocs: Collection<ColumnsDoc>;
  outputs: Pick<OutputStore, 'any' | 'docs' | 'removeFor' | 'removeAll'>;
  files: Pick<FileStore, 'any' | 'removeFor' | 'removeAll'>;
  /** Orders' checkpoints (deliver --checkpoint): they go with their orders, and with clean --outputs once the orders are finished. */
  checkpoints: Pick<FileStore, 'any' | 'removeFor' | 'removeOf' | 'removeAll' | 'holders'>;
  pipeline: Pick<PipelineQueries, 'releaseAll'>;
}

const CLEAN_BATCH = 20_000;

/**
 * Clean: delete the orders of the list (of one state if given), oldest first, in
 * _id ranges of at most CLEAN_BATCH orders: one deleteMany over a large list fails
 * on FerretDB v1 ("too many SQL variables"), and a range is cheap to match on both
 * servers (an $in of thousands of ids is not, on FerretDB). Returns how many.
 * A whole clean (no state) also empties `<list>.waiters`, `<list>.columns` and
 * `<list>.output`, the `<list>.results` files and the `<list>.checkpoints`; a clean of one state deletes the
 * output, files and checkpoints of the orders it deletes.
 */
export async function clean(k: CleanTarget, status?: State): Promise<number> {
  const filter = cleanFilter(status);
  let deleted = 0;
  // Their output goes first (ids of the range, then the orders): an interrupted clean leaves orders, never orphaned output.
  const outputs = status !== undefined && (await k.outputs.any());
  const files = status !== undefined && (await k.files.any());
  const checkpoints = status !== undefined && (await k.checkpoints.any());
  for (;;) {
    const [last] = await k.orders
      .find(filter, { projection: { _id: 1 } })
      .sort(ID_ORDER)
      .skip(CLEAN_BATCH - 1)
      .limit(1)
      .toArray();
    const range = cleanRange(filter, last?._id);
    const ids = outputs || files || checkpoints ? (await k.orders.find(range, { projection: { _id: 1 } }).toArray()).map((o) => o._id) : [];
    if (outputs) await k.outputs.removeFor(ids);
    if (files) await k.files.removeFor(ids);
    if (checkpoints) await k.checkpoints.removeFor(ids);
    const r = await k.orders.deleteMany(range);
    deleted += r.deletedCount;
    if (!last) break;
  }
  // A whole clean also forgets the list's waiters (live ones write themselves back
  // at their next heartbeat) and its column names (no order references them now;
  // left behind, extract would print them as columns of the next, plain load).
  if (!status) {
    await k.outputs.removeAll();
    await k.files.removeAll();
    await k.checkpoints.removeAll();
    await k.waiters.deleteMany({});
    await k.columnDocs.deleteMany({});
  } else if (deleted > 0) {
    // An order cleaned away holds nothing back (src/kitchen/pipeline.ts): what waited
    // for it goes READY now, not at the next check of an idle waiter.
    await k.pipeline.releaseAll();
  }
  return deleted;
}

/** What clean --outputs freed: of how many orders (not counted when it is every one), output documents, result files, and the orders whose checkpoint went. */
export interface FreedOutputs {
  orders?: number;
  slots: number;
  files: number;
  checkpoints: number;
}

/**
 * clean --outputs: frees the live output and result files of the orders of one state (all states
 * without it) that finished before `before` (any time without it), keeping the
 * orders, and the checkpoints of those that are finished (FINISHED_STATES: a READY,
 * RUNNING, WAITING or HELD order may still resume from its own). No filter at all:
 * every output document of the list, one deleteMany, every result file, and the
 * checkpoints of finished orders found from the checkpoint files' index (not every order).
 * With `before`: finished orders only, ranges of {status: 1, stop: 1}; the ids are
 * streamed (_id only), their slots deleted 500 order ids at a time.
 */
export async function cleanOutputs(k: CleanTarget, opts: { status?: State; before?: Date }): Promise<FreedOutputs> {
  const withCheckpoints = (!opts.status || FINISHED_STATES.includes(opts.status)) && (await k.checkpoints.any());
  let checkpoints = 0;
  if (!opts.status && !opts.before) {
    const slots = (await k.outputs.docs.deleteMany({})).deletedCount;
    const files = await k.files.removeAll();
    let page = withCheckpoints ? await k.checkpoints.holders(undefined, 1000) : [];
    while (page.length > 0) {
      checkpoints += await freeCheckpoints(k, page);
      page = await k.checkpoints.holders(page.at(-1), 1000);
    }
    return { slots, files, checkpoints };
  }
  const filter = cleanOutputsFilter(opts);
  // Ids streamed (_id only), output and files deleted per 1,000 of them. One batch of
  // the cursor per 1,000: the time between two reads stays that of one flush, far
  // below the server's idle-cursor timeout (10 min), however large the list.
  let orders = 0;
  let slots = 0;
  let files = 0;
  let page: ObjectId[] = [];
  const flush = async () => {
    slots += await k.outputs.removeFor(page);
    files += await k.files.removeFor(page);
    if (withCheckpoints) checkpoints += await freeCheckpoints(k, page);
    page = [];
  };
  for await (const o of k.orders.find(filter, { projection: { _id: 1 }, batchSize: 1000 })) {
    page.push(o._id);
    orders++;
    if (page.length === 1000) await flush();
  }
  await flush();
  return { orders, slots, files, checkpoints };
}

/** Order ids per step of freeCheckpoints: an $in of thousands is slow on FerretDB v1. */
const CHECKPOINT_BATCH = 500;

/**
 * Frees the checkpoints of those of `ids` that are finished, or no longer in the list:
 * `checkpoint` unset first (fenced by the state: an order reset meanwhile keeps it and
 * its files), then the files of those still finished or gone. An interrupted clean
 * leaves files no order names (the next clean --outputs frees them), never an order
 * naming files gone. Returns how many orders had checkpoint files deleted.
 */
async function freeCheckpoints(k: CleanTarget, ids: readonly ObjectId[]): Promise<number> {
  let freed = 0;
  for (let i = 0; i < ids.length; i += CHECKPOINT_BATCH) {
    const some = ids.slice(i, i + CHECKPOINT_BATCH);
    await k.orders.updateMany(dropFinishedCheckpointFilter(some), dropCheckpointUpdate());
    const found = await k.orders.find(byIdsFilter(some), { projection: { _id: 1, status: 1, attempts: 1 } }).toArray();
    const kept = new Set(found.filter((o) => !FINISHED_STATES.includes(o.status)).map((o) => o._id.toHexString()));
    // Only the attempts read here: one reset and claimed since then may have stored a new set (attempts only go up).
    const upTo = new Map(found.map((o) => [o._id.toHexString(), o.attempts ?? 0]));
    freed += (
      await k.checkpoints.removeOf(
        some.filter((id) => !kept.has(id.toHexString())),
        undefined,
        upTo,
      )
    ).orders;
  }
  return freed;
}
