// add: one order (waiter add), or many rows at once (POST /api/orders), READY or
// WAITING. What they wait for is checked before anything is written (ids not in the
// list: a UsageError, exit 2 or a 400), and released at once if it finished already.
import type { ObjectId } from 'mongodb';
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import { notInList, waitInsert, waitRows, type WaitAsked } from '../pipeline/wait.js';

export interface AddRequest {
  args: string[];
  /** Column names, when given as --field name=value. */
  names?: string[];
  unique: boolean;
  /** When the order may first be taken (default: now). */
  at?: Date;
  /** --priority: higher is claimed first (default 0). */
  priority?: number;
  /** --after, --after-any, --after-all (src/pipeline/). */
  wait?: WaitAsked;
}

/** One order. Its id, or null when `unique` found one with these arguments in the list already. */
export async function addOne(k: Kitchen, o: AddRequest): Promise<ObjectId | null> {
  const wait = await waitInsert(k, o.wait);
  const columns = o.names ? await k.saveColumns(o.names) : undefined;
  const added = await k.addOrder(o.args, {
    unique: o.unique,
    ...(columns ? { columns } : {}),
    ...(o.at ? { due: o.at } : {}),
    ...(o.priority ? { priority: o.priority } : {}),
    ...wait,
  });
  // What it waits for may have finished already (or meanwhile).
  if (added && wait.wait) await k.pipeline.releaseWritten(wait.wait.barrier ? { barrier: wait.wait.barrier } : { ids: [added] });
  return added;
}

/** Many orders, one row each, with a due time, a priority and what to wait for per row (the API's body, src/serve/input.ts submission). */
export interface AddMany {
  rows: string[][];
  due: Date[];
  priority: number[];
  after: (WaitAsked | undefined)[];
}

/** The rows as orders, in one insert; their ids in row order. */
export async function addMany(k: Kitchen, r: AddMany): Promise<{ ids: ObjectId[] }> {
  const w = await waitRows(k, r.after);
  if ('missing' in w) throw new UsageError(notInList('after', w.missing));
  const { ids } = await k.insertOrders(r.rows, { due: r.due, priority: r.priority, ...w });
  if (w.wait) await k.pipeline.releaseWritten({ ids });
  return { ids };
}
