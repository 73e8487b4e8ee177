// Clean: deleting orders, and freeing their output and result files (waiter clean).
import type { Filter, ObjectId } from 'mongodb';
import type { Kitchen } from '../kitchen.js';
import type { Order, State } from '../order.js';

const CLEAN_BATCH = 20_000;

/**
 * Clean: delete the orders of the list (of one state if given), oldest first, in
 * _id ranges of at most CLEAN_BATCH orders: one deleteMany over a large list fails
 * on FerretDB v1 ("too many SQL variables"), and a range is cheap to match on both
 * servers (an $in of thousands of ids is not, on FerretDB). Returns how many.
 * A whole clean (no state) also empties `<list>.waiters`, `<list>.columns` and
 * `<list>.output` and the `<list>.results` files; a clean of one state deletes the
 * output and files of the orders it deletes.
 */
export async function clean(k: Kitchen, status?: State): Promise<number> {
  const filter: Filter<Order> = status ? { status } : {};
  let deleted = 0;
  // Their output goes first (ids of the range, then the orders): an interrupted clean leaves orders, never orphaned output.
  const outputs = status !== undefined && (await k.outputs.any());
  const files = status !== undefined && (await k.files.any());
  for (;;) {
    const [last] = await k.orders
      .find(filter, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .skip(CLEAN_BATCH - 1)
      .limit(1)
      .toArray();
    const range: Filter<Order> = last ? { ...filter, _id: { $lte: last._id } } : filter;
    const ids = outputs || files ? (await k.orders.find(range, { projection: { _id: 1 } }).toArray()).map((o) => o._id) : [];
    if (outputs) await k.outputs.removeFor(ids);
    if (files) await k.files.removeFor(ids);
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
export async function cleanOutputs(k: Kitchen, opts: { status?: State; before?: Date }): Promise<{ orders?: number; slots: number; files: number }> {
  if (!opts.status && !opts.before) {
    const slots = (await k.outputs.docs.deleteMany({})).deletedCount;
    return { slots, files: await k.files.removeAll() };
  }
  const filter: Filter<Order> = opts.before ? { status: opts.status ? opts.status : { $in: ['DONE', 'ERROR'] }, stop: { $lt: opts.before } } : { status: opts.status! };
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
