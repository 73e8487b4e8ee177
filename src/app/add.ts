// add: many rows at once (POST /api/orders), or one order (waiter add: the same with
// one row, plus its --unique and --field names), READY or WAITING. What they wait for is
// checked before anything is written (ids not in the list: a UsageError, exit 2 or a
// 400), and released at once if it finished already: one path, so the two cannot drift.
import type { ObjectId } from 'mongodb';
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { State } from '../order.js';
import { notInList, waitRows, type WaitAsked } from '../pipeline/wait.js';

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

/** One order: addMany of one row, with add's extras. Its id and state, or null when `unique` found one with these arguments in the list already. */
export async function addOne(k: Kitchen, o: AddRequest): Promise<{ id: ObjectId; status: State } | null> {
  const row = { rows: [o.args], due: o.at ? [o.at] : [], priority: [o.priority ?? 0], after: [o.wait] };
  const { ids, status } = await addMany(k, row, { unique: o.unique, ...(o.names ? { names: o.names } : {}), what: o.wait?.any ? '--after-any' : '--after' });
  return ids[0] ? { id: ids[0], status: status[0]! } : null;
}

/** Many orders, one row each, with a due time (default now), a priority and what to wait for per row (the API's body, src/serve/input.ts submission). */
export interface AddMany {
  rows: string[][];
  due: Date[];
  priority: number[];
  after: (WaitAsked | undefined)[];
}

/** What only `waiter add` asks (its one row): --unique, --field's names, and its option's name in a refusal (the API's: `after`). */
export interface AddExtras {
  unique?: boolean;
  names?: string[];
  what?: string;
}

/**
 * The rows as orders, in one insert; the ids written, in row order (with `unique`, not
 * those already there), and each one's state once what it waits for was checked: READY, or
 * WAITING; read back when any waits (what add and the API say is what the list holds).
 */
export async function addMany(k: Kitchen, r: AddMany, x: AddExtras = {}): Promise<{ ids: ObjectId[]; status: State[] }> {
  const asked = await waitRows(k, r.after);
  if ('missing' in asked) throw new UsageError(notInList(x.what ?? 'after', asked.missing));
  const { barrier, ...w } = asked;
  const columns = x.names ? await k.saveColumns(x.names) : undefined;
  const { ids } = await k.insertOrders(r.rows, { due: r.due, priority: r.priority, ...(x.unique ? { unique: true } : {}), ...(columns ? { columns } : {}), ...w });
  if (ids.length === 0 || !w.wait) return { ids, status: ids.map(() => 'READY') };
  // What they wait for may have finished already (or meanwhile): the barrier's stage, the ids of the others.
  const { states } = await k.pipeline.releaseWritten({ ...(barrier ? { barrier } : {}), ids });
  // One not found was released, run and cleaned meanwhile: it was READY.
  return { ids, status: ids.map((id) => states.get(id.toHexString()) ?? 'READY') };
}
