// Writing new orders (load, add, POST /api/orders): Kitchen.insertOrders delegates here.
// Plain loads are one ordered insertMany per batch; --unique keeps repeats out with the
// fewest duplicate-key errors (some servers pay dearly for each).
import { MongoBulkWriteError, ObjectId, type Collection } from 'mongodb';
import { uniqueKey, type Order } from '../order.js';
import { idAbove, waitingFields, type WaitFor } from './waiting.js';
import type { KeySnapshot } from './unique.js';
import { retrying } from '../deliver/retry.js';

/** The server's duplicate key error (FerretDB v1 returns it for inserts too). */
const DUPLICATE_KEY = 11000;
/** How long one batch rides out transient errors (an outage, a deadlock, a write conflict) before the load fails. */
export const INSERT_RETRY_MS = 60_000;

/** How a batch of orders went in: new ones, and ones whose key was already in the list (--unique). */
export interface Inserted {
  inserted: number;
  existing: number;
}

export interface InsertOptions {
  /** saveColumns()'s id: the orders' arguments are named. */
  columns?: string;
  /** Skip rows whose uniqueKey() is already in the list (or earlier in the batch). */
  unique?: boolean;
  /** With unique, one per load: where keys cannot be looked up by index, the list's keys read once (src/kitchen/unique.ts). */
  keys?: KeySnapshot;
  /**
   * When the orders may first be taken; default now. One time for all (a load passes
   * one for all its batches, so its orders are claimed in file order), or one per row
   * (POST /api/orders: each order its own "at").
   */
  due?: Date | readonly Date[];
  /** Claimed before orders of lower priority (default 0): one for all, or one per row (the API). */
  priority?: number | readonly number[];
  /** The orders are WAITING for these (src/pipeline/): no `due` until released. One for all, or one per row (the API). */
  wait?: WaitFor | readonly (WaitFor | undefined)[];
  /** Makes the orders' _ids (a barrier's, when another box's clock is ahead); default new ObjectId(). */
  ids?: () => ObjectId;
  /** Where a transient error being retried is said (once per batch); default nowhere. */
  log?: (line: string) => void;
}

export class OrderInserter {
  private uniqueIndexed = false;

  constructor(
    private readonly orders: Collection<Order>,
    private readonly ensureIndexes: () => Promise<void>,
  ) {}

  /**
   * Insert a batch of READY orders, due `opts.due`; _ids are made here, in row order.
   * The caller validates the whole batch first. Without `unique`: ONE ordered
   * insertMany (a plain load costs exactly that per batch). Optionally names their
   * arguments (`columns`) and, with `unique`, keys by uniqueKey(list, arguments) under
   * the unique index {key: 1}: rows repeated within the batch are dropped (the first
   * stays), then ONE find of the batch's keys on {key: 1} says which are already in the
   * list, and one ordered insertMany writes only the others. Duplicate-key errors thus
   * happen only when a concurrent load wrote the same rows between the two (some
   * servers make each of them a costly server-side exception: a repeated load must not
   * rely on them); the index stays the guard: then what was written is read back by
   * _id, keys now there count as existing, and the rest is tried again.
   * On a server that says it cannot answer the key lookup from an index (keyLookup():
   * FerretDB v1 pushes down no filter but _id, so it would scan the list per batch)
   * the lookup is skipped: one unordered insertMany, its duplicate-key errors counted;
   * a load passes `keys`, which reads the list's keys once after a batch met duplicates
   * (when the list is not much bigger than what is left to load), and later batches
   * send only rows whose key was not there.
   * Returns the counts (of what was written) and the ids written, in row order.
   */
  async insertOrders(rows: string[][], opts: InsertOptions = {}): Promise<Inserted & { ids: ObjectId[] }> {
    if (rows.length === 0) return { inserted: 0, existing: 0, ids: [] };
    const log = opts.log ?? (() => undefined);
    // Idempotent: several loads at once may meet here (FerretDB 2.x: "deadlock detected").
    await retrying(
      async () => {
        await this.ensureIndexes();
        if (opts.unique) await this.ensureUniqueIndex();
      },
      { what: 'making the indexes', log, limitMs: INSERT_RETRY_MS, once: true },
    );
    const now = new Date();
    const docs = rows.map((args, i) => this.newOrder(args, opts, now, i));
    if (!opts.unique) {
      const { error } = await this.insertMany(docs, true, log);
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the driver's own error, rethrown as it came
      if (error !== undefined) throw error;
      return { inserted: docs.length, existing: 0, ids: docs.map((d) => d._id) };
    }
    const seen = new Set<string>();
    let pending = docs.filter((d) => !seen.has(d.key!) && seen.add(d.key!));
    const written = new Set<ObjectId>();
    if (!(await this.keyLookup())) {
      const known = opts.keys?.keys;
      if (known) pending = pending.filter((d) => !known.has(d.key!));
      const refused = new Set(await this.insertUnordered(pending, log));
      for (const d of pending) if (!refused.has(d)) written.add(d._id);
      pending = [];
      await opts.keys?.afterBatch(this.orders, rows.length, refused.size);
    }
    while (pending.length > 0) {
      const there = await this.keysPresent(pending.map((d) => d.key!));
      pending = pending.filter((d) => !there.has(d.key!));
      if (pending.length === 0) break;
      const refused = await this.insertRefusingDuplicates(pending, log);
      if (!refused) {
        for (const d of pending) written.add(d._id);
        break;
      }
      // Lost a race with another load: what made it in is read back, not inferred.
      const ids = await this.orders.find({ _id: { $in: pending.map((d) => d._id) } }, { projection: { _id: 1 } }).toArray();
      const hex = new Set(ids.map((d) => d._id.toHexString()));
      const left = pending.filter((d) => !hex.has(d._id.toHexString()));
      for (const d of pending) if (hex.has(d._id.toHexString())) written.add(d._id);
      if (left.length === pending.length && (await this.keysPresent(left.map((d) => d.key!))).size === 0) throw refused;
      pending = left;
    }
    const ids = docs.filter((d) => written.has(d._id)).map((d) => d._id);
    return { inserted: ids.length, existing: docs.length - ids.length, ids };
  }

  private keyLookupAnswer?: Promise<boolean>;

  /**
   * Whether the server answers a find on `key` from an index: asked once per process
   * with an explain of that find. Only a server that reports it would not push the
   * filter down (FerretDB v1: `filterPushdown: false`) answers no; MongoDB and
   * FerretDB 2.x use {key: 1}. An explain that fails leaves the lookup on.
   */
  private keyLookup(): Promise<boolean> {
    this.keyLookupAnswer ??= this.orders
      .find({ key: { $in: [''] } }, { projection: { _id: 0, key: 1 } })
      .explain()
      .then(
        (e) => (e as { filterPushdown?: unknown }).filterPushdown !== false,
        () => true,
      );
    return this.keyLookupAnswer;
  }

  /** Which of these --unique keys are in the list: one find on the unique index {key: 1}, only the key returned. */
  private async keysPresent(keys: string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const found = await this.orders.find({ key: { $in: keys } }, { projection: { _id: 0, key: 1 } }).toArray();
    return new Set(found.map((d) => d.key!));
  }

  /** One ordered insertMany; the error when some document was refused as a duplicate key (nothing else), any other error thrown. */
  private async insertRefusingDuplicates(docs: Order[], log: (line: string) => void): Promise<MongoBulkWriteError | undefined> {
    const { error } = await this.insertMany(docs, true, log);
    return error === undefined ? undefined : duplicatesOnly(error);
  }

  /**
   * One unordered insertMany: every document is tried, each refused one is reported
   * once with its index (an ordered insert is not enough here: FerretDB v1 goes on
   * past the first failure, in batches of 100, and reports one error per batch).
   * Returns the documents refused as duplicate keys; any other error thrown.
   */
  private async insertUnordered(docs: Order[], log: (line: string) => void): Promise<Order[]> {
    if (docs.length === 0) return [];
    const { sent, error } = await this.insertMany(docs, false, log);
    return error === undefined ? [] : [duplicatesOnly(error).writeErrors].flat().map((e) => sent[e.index]!);
  }

  /**
   * insertMany with transient errors (an outage, a deadlock, a write conflict: the
   * shared classifier, src/deliver/retry.ts) retried for up to INSERT_RETRY_MS, said
   * once. Idempotent for plain and --unique loads alike: the _ids are made here, so a
   * retry first reads back by _id which of them a failed call wrote, and sends only the
   * others (one find on _id, on retries only). Returns the documents of the last call
   * (a bulk error's indexes are into them) and its error when it is not transient.
   */
  private async insertMany(docs: Order[], ordered: boolean, log: (line: string) => void): Promise<{ sent: Order[]; error?: unknown }> {
    let sent = docs;
    let again = false;
    try {
      await retrying(
        async () => {
          if (again) sent = await this.absent(sent);
          again = true;
          if (sent.length > 0) await this.orders.insertMany(sent, { ordered });
        },
        { what: `inserting ${docs.length} order(s)`, log, limitMs: INSERT_RETRY_MS, once: true },
      );
      return { sent };
    } catch (error) {
      return { sent, error };
    }
  }

  /** Those of these documents whose _id is not in the list: one find on _id. */
  private async absent(docs: Order[]): Promise<Order[]> {
    const there = await this.orders.find({ _id: { $in: docs.map((d) => d._id) } }, { projection: { _id: 1 } }).toArray();
    const hex = new Set(there.map((d) => d._id.toHexString()));
    return docs.filter((d) => !hex.has(d._id.toHexString()));
  }

  /**
   * The unique index behind --unique: {key: 1}, sparse, so that orders loaded without
   * --unique (no key) do not collide. Created only by unique loads: other loads and
   * claims never pay for it. Idempotent; once per process.
   */
  async ensureUniqueIndex(): Promise<void> {
    if (this.uniqueIndexed) return;
    await this.orders.createIndex({ key: 1 }, { unique: true, sparse: true });
    this.uniqueIndexed = true;
  }

  /** Row `i` of a batch as a new READY order document for insertOrders(); _ids made here, in order. */
  private newOrder(args: string[], opts: InsertOptions, now: Date, i: number): Order {
    const due = opts.due === undefined ? now : opts.due instanceof Date ? opts.due : (opts.due[i] ?? now);
    const priority = (typeof opts.priority === 'number' ? opts.priority : opts.priority?.[i]) ?? 0;
    const wait = Array.isArray(opts.wait) ? (opts.wait as (WaitFor | undefined)[])[i] : (opts.wait as WaitFor | undefined);
    const fresh = opts.ids ? opts.ids() : new ObjectId();
    const o = { _id: wait?.after?.length ? idAbove(wait.after, fresh) : fresh, status: 'READY', arguments: args, attempts: 0, due, prio: priority } as Order;
    if (wait) {
      delete o.due;
      Object.assign(o, waitingFields(wait, due, now));
    }
    if (priority !== 0) o.priority = priority;
    if (opts.columns) o.columns = opts.columns;
    if (opts.unique) o.key = uniqueKey(this.orders.collectionName, args);
    return o;
  }
}

/** A bulk write error whose every failure is a duplicate key; anything else rethrown. */
function duplicatesOnly(err: unknown): MongoBulkWriteError {
  if (!(err instanceof MongoBulkWriteError)) throw err;
  const errors = [err.writeErrors].flat();
  if (errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
  return err;
}
