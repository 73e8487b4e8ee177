// load's kitchen part: rows already read and checked (src/csv.ts, src/load-input.ts)
// become orders: column names saved, --unique keys read at most once, batches inserted
// one in flight (src/load.ts), an --after-all barrier made (or rejoined) and released.
import type { ObjectId } from 'mongodb';
import type { InsertOptions, Inserted, Kitchen } from '../kitchen.js';
import { KeySnapshot } from '../kitchen/unique.js';
import { loadRows } from '../load.js';
import { uniqueKey } from '../order.js';
import { waitInsert, type WaitAsked } from '../pipeline/wait.js';

export interface LoadRequest {
  /** The checked rows, read once more: a second pass over the input, opened only once the kitchen is ready for them. */
  rows: () => AsyncIterable<string[]>;
  /** How many the check counted. */
  expected: number;
  /** The header's column names, when the file has one. */
  names?: string[];
  unique: boolean;
  /** When the orders may first be taken (default: now). */
  at?: Date;
  priority?: number;
  /** --after-all (src/pipeline/). */
  wait?: WaitAsked;
  /** The first row, read again: asked only for --unique --after-all (a load run again may rejoin its stage). */
  firstRow?: () => Promise<string[] | undefined>;
  /** The rows of the load joining the stage of an earlier load of the same file, WAITING on this barrier. */
  rejoined?: (barrier: ObjectId) => void;
  /** A batch was inserted (a progress bar). */
  inserted?: (rows: number) => void;
  /** The kitchen's notes while loading (src/kitchen/unique.ts). */
  log?: (line: string) => void;
}

export async function loadOrders(k: Kitchen, r: LoadRequest): Promise<Inserted> {
  // Loaded again with --unique after it failed part way: the rest joins the stage its first rows wait in.
  const first = r.unique && r.wait?.all && r.firstRow ? await r.firstRow() : undefined;
  const held = first ? await k.pipeline.heldBarrierOf(uniqueKey(k.listName, first)) : undefined;
  if (held) r.rejoined?.(held);
  const wait = await waitInsert(k, r.wait, '--after-all', held);
  const opts: InsertOptions & { due: Date } = {
    unique: r.unique,
    // One due time for the whole load, so its orders are claimed in file order.
    due: r.at ?? new Date(),
    ...(r.priority ? { priority: r.priority } : {}),
    ...wait,
    ...(r.log ? { log: r.log } : {}),
  };
  // Where keys cannot be looked up by index, the list's keys read at most once (src/kitchen/unique.ts).
  if (r.unique) opts.keys = new KeySnapshot(r.expected);
  if (r.names) opts.columns = await k.saveColumns(r.names);
  const counted = {
    insertOrders: (rows: string[][], op: InsertOptions) => k.insertOrders(rows, op).finally(() => r.inserted?.(rows.length)),
  };
  const loaded = await loadRows(counted, r.rows(), r.expected, opts);
  // A barrier over orders all DONE already (or an empty list) holds nothing back.
  if (wait.wait?.barrier) await k.pipeline.releaseWritten({ barrier: wait.wait.barrier });
  return loaded;
}
