// Clean: deleting orders, and freeing their output and result files (waiter clean).
// It takes the collections and rooms it empties (a Kitchen is one), not the Kitchen class.
import type { Collection, ObjectId } from 'mongodb';
import type { WaiterDoc } from '../fleet.js';
import type { ColumnsDoc, Order, State } from '../order.js';
import type { FileStore } from './files.js';
import type { OutputStore } from './output.js';
import type { PipelineQueries } from './pipeline.js';
import { ID_ORDER, cleanFilter, cleanOutputsFilter, cleanRange } from './plans.js';

/** What a clean deletes from: the list and what lies beside it. */
export interface CleanTarget {
  orders: Collection<Order>;
  waiters: Collection<WaiterDoc>;
  columnDocs: Collection<ColumnsDoc>;
  outputs: Pick<OutputStore, 'any' | 'docs' | 'removeFor' | 'removeAll'>;
  files: Pick<FileStore, 'any' | 'removeFor' | 'removeAll'>;
  /** Orders' checkpoints (deliver --checkpoint): they go with their orders. */
  checkpoints: Pick<FileStore, 'any' | 'removeFor' | 'removeAll'>;
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

/**
 * clean --outputs: frees the live output and result files of the orders of one state (all states
 * without it) that finished before `before` (any time without it), keeping the
 * orders. No filter at all: every output document of the list, one deleteMany.
 * With `before`: finished orders only, ranges of {status: 1, stop: 1}; the ids are
 * streamed (_id only), their slots deleted 500 order ids at a time.
 */
export async function cleanOutputs(k: CleanTarget, opts: { status?: State; before?: Date }): Promise<{ orders?: number; slots: number; files: number }> {
  if (!opts.status && !opts.before) {
    const slots = (await k.outputs.docs.deleteMany({})).deletedCount;
    return { slots, files: await k.files.removeAll() };
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
    page = [];
  };
  for await (const o of k.orders.find(filter, { projection: { _id: 1 }, batchSize: 1000 })) {
    page.push(o._id);
    orders++;
    if (page.length === 1000) await flush();
  }
  await flush();
  return { orders, slots, files };
}
