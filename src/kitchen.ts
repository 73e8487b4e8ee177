// Every MongoDB query waiter makes. Each method states its contract, like a stored
// procedure; nothing outside this file and the rooms it imports (src/kitchen/: the
// fleet view, clean, connecting, inserting; src/pipeline/queries.ts; src/output/: live
// output and result files) talks to the driver.
//
// The order document (one per job, in the collection named by --list):
//   {_id, status, arguments, attempts, due, waiter, start, heartbeat, expires, stop,
//    exitCode, signal, error, output, claim, history}
// - status: READY -> RUNNING -> DONE | ERROR (or back to READY: retry, reset, interrupt).
// - claim: a fresh random token per attempt. Every write a waiter makes about its
//   attempt is fenced by {_id, claim, status: RUNNING}, so an order that was reset or
//   taken over while it ran is never overwritten by the waiter that lost it.
// - expires: the lease. A claim and every heartbeat push it `lease` ms ahead; a
//   RUNNING order whose lease has expired is stale and the next claim takes it over.
// - due: when the order may next be claimed. READY: when it became READY (load, add,
//   reset, a retry), or a later time asked for (--at, --retry-delay). RUNNING: equal to
//   `expires`. DONE/ERROR: none. So "takeable now" is one range of ONE index,
//   {due: 1, _id: 1}: a claim reads the first key at or before now, however many
//   orders are READY or RUNNING (the former {$or: READY | stale RUNNING} read every
//   RUNNING order per claim on MongoDB). Orders of one load share one due, so they
//   are taken in file order (_id).
// - prio, priority (issue 15): `priority` is the user's (load/add --priority, the
//   API; kept only when not 0), `prio` the claim's sort key: READY orders carry their
//   priority, RUNNING ones PRIO_RUNNING, above every priority a user can give. The
//   claim reads {prio: -1, due: 1, _id: 1}: a stale RUNNING order (due = its lease
//   expiry, past) comes before every READY one; live RUNNING orders (due ahead) are
//   skipped by one seek, as are priorities whose orders are not yet due.
// - history: finished attempts, the last HISTORY_LIMIT. Written with $set from the
//   copy the claim returned (FerretDB v1 ignores $push's $slice); safe because only
//   the holder of the claim writes it.
// - columns, key, workdir (issue 11): the id of the `<list>.columns` document naming
//   the arguments (load --header, add --field); the --unique key under the sparse
//   unique index {key: 1}; the folder the last attempt ran in (deliver --workdir).
//
// The waiter registry (collection `<list>.waiters`, see src/fleet.ts): one document
// per deliver process, by a random instance id, written whole (upsert) at start, every
// heartbeat and at exit; never on an order's path.
//
// Portability: everything here runs on MongoDB 5.0+ and on FerretDB v1 (the test
// server): no partial indexes, no projection on findAndModify, no pipeline updates,
// $group only with $sum.
import { randomUUID } from 'node:crypto';
import { MongoClient, MongoError, ObjectId, type Collection, type Filter } from 'mongodb';
import { KitchenError, UsageError } from './errors.js';
import { HISTORY_LIMIT, PRIO_RUNNING, STATES, canTransition, shortHash, type Attempt, type Order, type State } from './order.js';
import type { WaiterDoc } from './fleet.js';
import { FileStore } from './output/files.js';
import { OutputStore } from './output/store.js';
import { defaultsNotIn, describe, reason } from './kitchen/connect.js';
import { FleetQueries } from './kitchen/fleet.js';
import { OrderInserter, type InsertOptions, type Inserted } from './kitchen/insert.js';
import { TailQueries } from './kitchen/tail.js';
import { PipelineQueries, inputsOf } from './pipeline/queries.js';

export { describe } from './kitchen/connect.js';
export type { InsertOptions, Inserted } from './kitchen/insert.js';

/** What a heartbeat found: the order still ours, or not (reset, taken over); 'cancelled' and 'held' are for orders cancelled or held while they run (not answered yet). */
export type LeaseAnswer = 'ours' | 'lost' | 'cancelled' | 'held';

export interface KitchenAddress {
  uri: string;
  db: string;
  list: string;
}

/** An order this waiter holds: what it needs to run it and to fence its writes. */
export interface Claimed {
  id: ObjectId;
  token: string;
  attempt: number;
  waiter: string;
  start: Date;
  arguments: string[];
  /** History as it was when claimed, plus the lost attempt this claim took over. */
  history: Attempt[];
  /** The order's `columns` reference (named arguments), if it has one. */
  columns?: string;
  /** A takeover: the waiter whose lease on the order expired (its attempt is LOST in history). */
  lostBy?: string;
  /** The user's priority (load/add --priority), when not 0: `prio` goes back to it when the attempt ends. */
  priority?: number;
  /** The ids it waited for (add --after) and its barrier (--after-all), hex: WAITER_AFTER, WAITER_AFTER_ALL. */
  after?: string[];
  barrier?: string;
}

/** How an attempt ended, as written by finish(). */
export interface Finish {
  status: State;
  stop: Date;
  /** With status READY: when the order may be taken again (a delayed retry); default `stop`. */
  due?: Date;
  exitCode?: number;
  signal?: string;
  error?: string;
  output: string;
  result: Attempt['result'];
  /** deliver --workdir: the folder the attempt ran in. */
  workdir?: string;
  /** The claim's increment of `attempts` is taken back: the order was not run (its box failed, or it was lost too often). */
  uncounted?: boolean;
}

/** `<list>.columns`: the names of a load's arguments, once per distinct header, not per order. */
export interface ColumnsDoc {
  _id: string;
  names: string[];
}

export type Counts = Record<State, number> & {
  total: number;
  stale: number;
  /** READY orders whose `due` is still ahead (--at, --retry-delay), and the soonest of them. */
  notYetDue: number;
  nextDue: Date | null;
};

/** Sorts before any time a READY order gets now: what orders of an older waiter are migrated to. */
export const LONG_AGO = new Date(0);

/**
 * The claim: orders takeable at `now`, in the order they are taken (CLAIM_SORT, on the
 * index {prio: -1, due: 1, _id: 1}). `due <= now` alone says it for orders written by this
 * version; the two other conditions only ever reject an order touched by an older
 * waiter still running beside this one (which does not keep `due`): one it finished
 * (DONE/ERROR with a stale due), or one it claimed and keeps alive by `expires`. In a
 * fleet of this version they filter nothing, so the first key read is the one taken.
 */
export function claimFilter(now: Date): Filter<Order> {
  return { due: { $lte: now }, status: { $in: ['READY', 'RUNNING'] }, expires: { $not: { $gt: now } } };
}
export const CLAIM_SORT = { prio: -1, due: 1, _id: 1 } as const;
/** `due` order, on {due: 1, _id: 1}: status's not-yet-due count and the next due time. */
export const DUE_SORT = { due: 1, _id: 1 } as const;

const CONNECT_TIMEOUT_MS = 10_000;
const DUE_INDEX = 'due_1__id_1';
const CLAIM_INDEX = 'prio_-1_due_1__id_1';

export class Kitchen {
  private indexed = false;
  /** The waiter registry, beside the list: `<list>.waiters` (see src/fleet.ts). */
  readonly waiters: Collection<WaiterDoc>;
  /** Live output of orders, beside the list: `<list>.output` (queries in src/output/store.ts). */
  readonly outputs: OutputStore;
  /** Result files of orders (deliver --collect): the GridFS bucket `<list>.results` (queries in src/output/files.ts). */
  readonly files: FileStore;
  /** Orders waiting for orders (issue 18): src/pipeline/queries.ts. */
  readonly pipeline: PipelineQueries;
  /** The fleet view's queries (status, waiters, the page): src/kitchen/fleet.ts. */
  readonly fleet: FleetQueries;
  /** Orders RUNNING on other waiters, asked by a waiter that found nothing to claim: src/kitchen/tail.ts. */
  readonly tail: TailQueries;
  /** Writing new orders (load, add, the API): src/kitchen/insert.ts. */
  private readonly inserter: OrderInserter;

  private constructor(
    private readonly client: MongoClient,
    readonly orders: Collection<Order>,
    readonly where: string,
  ) {
    this.waiters = orders.db.collection<WaiterDoc>(`${orders.collectionName}.waiters`);
    this.outputs = new OutputStore(orders.db, orders.collectionName);
    this.files = new FileStore(orders.db, orders.collectionName);
    this.pipeline = new PipelineQueries(orders);
    this.fleet = new FleetQueries(orders, this.waiters);
    this.tail = new TailQueries(orders);
    this.inserter = new OrderInserter(orders, () => this.ensureIndexes());
  }

  /** Connects (≤ 10 s) or throws a KitchenError naming host and database, never the password. */
  static async open(address: KitchenAddress): Promise<Kitchen> {
    const where = describe(address);
    let client: MongoClient;
    try {
      client = new MongoClient(
        address.uri,
        defaultsNotIn(address.uri, {
          serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS,
          connectTimeoutMS: CONNECT_TIMEOUT_MS,
          appName: 'waiter',
        }),
      );
    } catch (err) {
      // The driver parses the URI here, before any connection: a typo, not an outage.
      throw new UsageError(`--kitchen (or WAITER_KITCHEN): not a usable MongoDB connection string: ${reason(err, address.uri)}`);
    }
    try {
      await client.connect();
    } catch (err) {
      throw new KitchenError(`cannot reach the kitchen at ${where}: ${reason(err, address.uri)}`);
    }
    return new Kitchen(client, client.db(address.db).collection<Order>(address.list), where);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Runs fn, turning driver errors into KitchenErrors that name the kitchen. */
  async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof MongoError) throw new KitchenError(`${what} failed at ${this.where}: ${err.message}`);
      throw err;
    }
  }

  /**
   * The indexes: {prio: -1, due: 1, _id: 1} for claims, {due: 1, _id: 1} for the
   * not-yet-due count, {status: 1, _id: 1} for counts and per-state listings.
   * Idempotent; once per process.
   * A list written by an older waiter (orders without `due`) is migrated first: READY
   * orders get LONG_AGO (taken before newer ones, in _id order), RUNNING ones their
   * lease expiry. The claim index is built only after that, so its presence says the
   * list is migrated (a process that dies midway leaves it to the next); two processes
   * migrating at once write the same values. Then `prio` likewise, before the claim
   * index {prio: -1, due: 1, _id: 1}. An older waiter still running beside this version
   * does not set `prio` on what it claims: its stale orders are taken over at their
   * own priority rather than first; an order it adds has none and sorts after all
   * others (still taken).
   */
  async ensureIndexes(): Promise<void> {
    if (this.indexed) return;
    await this.orders.createIndex({ status: 1, _id: 1 });
    if (!(await this.orders.indexExists(CLAIM_INDEX).catch(() => false))) {
      if (!(await this.orders.indexExists(DUE_INDEX).catch(() => false))) {
        await this.orders.updateMany({ status: 'READY', due: { $exists: false } }, { $set: { due: LONG_AGO } });
        for await (const o of this.orders.find({ status: 'RUNNING', due: { $exists: false } })) {
          await this.orders.updateOne({ _id: o._id, claim: o.claim, status: 'RUNNING', due: { $exists: false } }, { $set: { due: o.expires ?? LONG_AGO } });
        }
        await this.orders.createIndex(DUE_SORT, { name: DUE_INDEX });
      }
      // Then `prio` (issue 15), the same way: orders of an older version have none.
      // Their READY orders get 0 (no priority was ever given), RUNNING ones PRIO_RUNNING;
      // only missing values are written, so it is idempotent and two at once agree.
      await this.orders.updateMany({ status: 'READY', prio: { $exists: false } }, { $set: { prio: 0 } });
      await this.orders.updateMany({ status: 'RUNNING', prio: { $exists: false } }, { $set: { prio: PRIO_RUNNING } });
      await this.orders.createIndex(CLAIM_SORT, { name: CLAIM_INDEX });
    }
    this.indexed = true;
  }

  /**
   * Claim: atomically take the first order (highest prio, then lowest {due, _id}) whose
   * due time has come: a RUNNING one whose lease expired (a takeover: prio PRIO_RUNNING,
   * above all), else the READY one of the highest priority due soonest, in ONE
   * findOneAndUpdate on the index {prio: -1, due: 1, _id: 1} (claimFilter, CLAIM_SORT; no
   * hint: the only index giving that order without a sort). Sets a fresh claim token,
   * prio PRIO_RUNNING, the waiter, start, heartbeat and lease (expires = due = now + lease),
   * increments attempts and clears the previous attempt's result. Returns null when
   * nothing is due.
   * Returns the document as it was BEFORE (no projection: FerretDB v1 lacks it) so a
   * takeover can record the attempt it replaced: it writes that LOST attempt into
   * history at once (one updateOne fenced by the new claim, takeovers only).
   * `retry`: this token was sent before and the answer was lost (connection failure);
   * if that claim did take an order, return it rather than take a second one and
   * leave the first RUNNING with nobody running it. (If it was a takeover, the lost
   * attempt it replaced is then missing from history.)
   */
  async claim(waiter: string, leaseMs: number, now = new Date(), token = randomUUID(), retry = false): Promise<Claimed | null> {
    await this.ensureIndexes();
    if (retry) {
      const mine = await this.orders.findOne({ claim: token, status: 'RUNNING' });
      if (mine) {
        const start = mine.start ?? now;
        return {
          id: mine._id,
          token,
          attempt: mine.attempts,
          waiter,
          start,
          arguments: mine.arguments,
          history: [...(mine.history ?? [])],
          ...columnsOf(mine),
          ...priorityOf(mine),
          ...inputsOf(mine),
        };
      }
    }
    const expires = new Date(+now + leaseMs);
    const before = await this.orders.findOneAndUpdate(
      claimFilter(now),
      {
        $set: { status: 'RUNNING', waiter, start: now, heartbeat: now, expires, due: expires, claim: token, prio: PRIO_RUNNING },
        $inc: { attempts: 1 },
        $unset: { stop: '', exitCode: '', signal: '', error: '', output: '' },
      },
      { sort: CLAIM_SORT, returnDocument: 'before' },
    );
    if (!before) return null;
    const history = [...(before.history ?? [])];
    let lostBy: string | undefined;
    if (before.status === 'RUNNING') {
      lostBy = before.waiter ?? 'its waiter';
      history.push({
        attempt: before.attempts,
        waiter: before.waiter ?? '',
        start: before.start ?? now,
        stop: before.heartbeat ?? now,
        error: `lost: no heartbeat from ${before.waiter ?? 'its waiter'} since ${(before.heartbeat ?? now).toISOString()}`,
        result: 'LOST',
      });
      // Written now, not only with this attempt's result: if this waiter dies too, the
      // next one must still see every lost attempt (deliver ends an order lost too
      // often). One more round trip, on takeovers only; fenced by the new claim.
      await this.orders.updateOne({ _id: before._id, claim: token, status: 'RUNNING' }, { $set: { history: history.slice(-HISTORY_LIMIT) } });
    }
    return {
      id: before._id,
      token,
      attempt: (before.attempts ?? 0) + 1,
      waiter,
      start: now,
      arguments: before.arguments,
      history,
      ...columnsOf(before),
      ...priorityOf(before),
      ...inputsOf(before),
      ...(lostBy !== undefined ? { lostBy } : {}),
    };
  }

  /**
   * Heartbeat: extend the lease (expires and due) of an order this waiter holds. Fenced by the claim.
   * Says what it found, from the update's own count (no read when it is ours): 'lost' when
   * the order is no longer ours (reset, or taken over): the caller must stop its command
   * and record nothing.
   */
  async heartbeat(c: Claimed, leaseMs: number, now = new Date()): Promise<LeaseAnswer> {
    const r = await this.orders.updateOne(
      { _id: c.id, claim: c.token, status: 'RUNNING' },
      { $set: { heartbeat: now, expires: new Date(+now + leaseMs), due: new Date(+now + leaseMs) } },
    );
    return r.matchedCount === 1 ? 'ours' : 'lost';
  }

  /**
   * Finish: record how the attempt ended, in ONE updateOne fenced by
   * {_id, claim, status: RUNNING}. `f.status` is DONE, ERROR, or READY (a retry, or
   * an attempt interrupted by a signal; due then `f.due`, else now). Appends the
   * attempt to history. `f.uncounted` takes back the claim's increment of attempts.
   * Returns false when the order was reset or taken over meanwhile: nothing written.
   * `retry`: an earlier call with this same `f` may have been written with its answer
   * lost; then true if that write is there (our attempt, with our stop, in history).
   */
  async finish(c: Claimed, f: Finish, retry = false): Promise<boolean> {
    if (!canTransition('RUNNING', f.status)) throw new Error(`finish: RUNNING -> ${f.status} is not a transition`);
    const attempt: Attempt = {
      attempt: c.attempt,
      waiter: c.waiter,
      start: c.start,
      stop: f.stop,
      result: f.result,
      ...(f.exitCode !== undefined ? { exitCode: f.exitCode } : {}),
      ...(f.signal ? { signal: f.signal } : {}),
      ...(f.error ? { error: f.error } : {}),
    };
    const set: Partial<Order> = {
      status: f.status,
      prio: c.priority ?? 0,
      stop: f.stop,
      output: f.output,
      history: [...c.history, attempt].slice(-HISTORY_LIMIT),
    };
    const unset: Record<string, ''> = { heartbeat: '', expires: '' };
    for (const k of ['exitCode', 'signal', 'error'] as const) {
      if (f[k] !== undefined) (set as Record<string, unknown>)[k] = f[k];
      else unset[k] = '';
    }
    if (f.workdir !== undefined) set.workdir = f.workdir;
    if (f.status === 'READY') {
      unset.claim = '';
      set.due = f.due ?? f.stop;
    } else unset.due = '';
    const r = await this.orders.updateOne({ _id: c.id, claim: c.token, status: 'RUNNING' }, { $set: set, $unset: unset, ...(f.uncounted ? { $inc: { attempts: -1 } } : {}) });
    if (r.matchedCount === 1) return true;
    return retry && (await this.orders.countDocuments({ _id: c.id, 'history.attempt': c.attempt, 'history.stop': f.stop })) === 1;
  }

  /**
   * Counts per state in one round trip each, all in parallel, each answered from the
   * {status, _id} index. `stale` = RUNNING orders whose lease has expired.
   * `notYetDue`/`nextDue`: READY orders due after now, from the {due, _id} index (the
   * range past now holds those and the live RUNNING orders; nextDue skips a fleet's
   * worth of the latter at most).
   */
  async counts(now = new Date()): Promise<Counts> {
    const later = { due: { $gt: now }, status: 'READY' as const };
    const [stale, dueLater, next, ...perState] = await Promise.all([
      this.orders.countDocuments({ status: 'RUNNING', expires: { $lt: now } }),
      this.orders.countDocuments({ due: { $gt: now } }),
      this.orders
        .find(later, { projection: { due: 1 } })
        .sort(DUE_SORT)
        .limit(1)
        .next(),
      ...STATES.map((s) => this.orders.countDocuments({ status: s })),
    ]);
    const counts = {} as Counts;
    STATES.forEach((s, i) => (counts[s] = perState[i] ?? 0));
    // Past now on {due, _id} lie the READY orders not yet due and the live RUNNING
    // ones (due = their lease): counting the range reads keys only, and the live
    // RUNNING orders are RUNNING - stale, already counted. (Filtering the range on
    // status instead would fetch every document in it: a `load --at +1d` of 1M rows.)
    const notYetDue = Math.max(0, dueLater - (counts.RUNNING - stale));
    return Object.assign(counts, { total: perState.reduce((a, b) => a + b, 0), stale, notYetDue, nextDue: next?.due ?? null });
  }

  /**
   * Reset: put orders back to READY, due now. ERROR orders always (if asked for). RUNNING
   * orders only when stale (lease expired), or started before `startedBefore`, or
   * every one with `force`. The claim is removed, so the waiter that held one can
   * no longer record over it. READY orders without `due` (left by an older waiter)
   * get one. Returns how many were reset, and how many RUNNING orders were left
   * alone because they are alive. A RUNNING order reset keeps its claim key prio
   * PRIO_RUNNING (no per-document update without a pipeline): like crashed work, it is
   * taken first; its priority is back once that attempt ends.
   */
  async reset(opts: { statuses: State[]; force: boolean; startedBefore?: Date; now?: Date }): Promise<{ reset: number; leftAlone: number }> {
    const now = opts.now ?? new Date();
    const or: Filter<Order>[] = [];
    if (opts.statuses.includes('ERROR')) or.push({ status: 'ERROR' });
    const running = opts.statuses.includes('RUNNING');
    if (running && opts.force) or.push({ status: 'RUNNING' });
    else if (running) {
      or.push({ status: 'RUNNING', expires: { $lt: now } });
      if (opts.startedBefore) or.push({ status: 'RUNNING', start: { $lt: opts.startedBefore } });
    }
    if (or.length === 0) return { reset: 0, leftAlone: 0 };
    // READY orders an older waiter added or reset after the list was migrated have no
    // `due`, so no claim sees them: a reset gives them one (a rare, manual command may
    // read every READY order; claims never do).
    or.push({ status: 'READY', due: { $exists: false } });
    const r = await this.orders.updateMany(
      { $or: or },
      {
        $set: { status: 'READY', due: now },
        $unset: { claim: '', heartbeat: '', expires: '' },
      },
    );
    const leftAlone = running && !opts.force ? await this.orders.countDocuments({ status: 'RUNNING' }) : 0;
    return { reset: r.modifiedCount, leftAlone };
  }

  /**
   * Insert a batch of orders (see OrderInserter.insertOrders, src/kitchen/insert.ts):
   * the counts and the ids written, in row order.
   */
  insertOrders(rows: string[][], opts: InsertOptions = {}): Promise<Inserted & { ids: ObjectId[] }> {
    return this.inserter.insertOrders(rows, opts);
  }

  /** Add one order: insertOrders() of one row. Returns its id, or null when --unique found it already there. */
  async addOrder(args: string[], opts: InsertOptions = {}): Promise<ObjectId | null> {
    return (await this.insertOrders([args], opts)).ids[0] ?? null;
  }

  /** The unique index behind --unique (OrderInserter.ensureUniqueIndex). */
  ensureUniqueIndex(): Promise<void> {
    return this.inserter.ensureUniqueIndex();
  }

  /** `<list>.columns` (saveColumns below; clean empties it). */
  get columnDocs(): Collection<ColumnsDoc> {
    return this.client.db(this.orders.dbName).collection<ColumnsDoc>(`${this.orders.collectionName}.columns`);
  }

  /**
   * Save column names once (not per order) in `<list>.columns`, under an id that is a
   * hash of the names: loading the same header again, from anywhere, reuses the
   * document (an upsert on _id, safe when several loads race). Returns the id the
   * orders reference.
   */
  async saveColumns(names: string[]): Promise<string> {
    const id = shortHash(names);
    await this.columnDocs.updateOne({ _id: id }, { $setOnInsert: { names } }, { upsert: true });
    return id;
  }

  /** The column names saved under this id, or null. One findOne by _id; deliver caches it per waiter. */
  async columns(id: string): Promise<string[] | null> {
    return (await this.columnDocs.findOne({ _id: id }))?.names ?? null;
  }

  /** Every column-names document of the list (a handful: one per distinct header), for extract. */
  async allColumns(): Promise<Map<string, string[]>> {
    const docs = await this.columnDocs.find({}).sort({ _id: 1 }).toArray();
    return new Map(docs.map((d) => [d._id, d.names]));
  }

  /**
   * The next `n` orders a claim would take now (claimFilter, CLAIM_SORT), untouched
   * (deliver --dry-run). Like a claim, it first migrates a list an older waiter wrote.
   */
  async peek(n: number, now = new Date()): Promise<Order[]> {
    await this.ensureIndexes();
    return this.orders.find(claimFilter(now)).sort(CLAIM_SORT).limit(n).toArray();
  }

  /** Orders in _id order, optionally of one state, as a cursor (streamed, never buffered whole). */
  list(status?: State) {
    return this.orders.find(status ? { status } : {}).sort({ _id: 1 });
  }

  /** A page of the ids of the orders in one state, after `after` (exclusive): a range of {status, _id}, keys examined = limit (gather --status: no cursor held while files are written). */
  idsIn(status: State, after: ObjectId | undefined, limit: number): Promise<ObjectId[]> {
    const filter: Filter<Order> = after ? { status, _id: { $gt: after } } : { status };
    return this.orders
      .find(filter, { projection: { _id: 1 } })
      .sort({ status: 1, _id: 1 })
      .limit(limit)
      .map((o) => o._id)
      .toArray();
  }

  /**
   * How many orders (of one state): for a progress bar's total, so the whole list's
   * count is the collection's metadata, and a state's is counted from {status, _id}.
   */
  async countOrders(status?: State): Promise<number> {
    return status ? this.orders.countDocuments({ status }) : this.orders.estimatedDocumentCount();
  }

  /** One order by id, or null. */
  async order(id: ObjectId): Promise<Order | null> {
    return this.orders.findOne({ _id: id });
  }
}

/** What a claim passes on from the order document besides its arguments. */
function columnsOf(o: Order): { columns?: string } {
  return o.columns ? { columns: o.columns } : {};
}

function priorityOf(o: Order): { priority?: number } {
  return o.priority ? { priority: o.priority } : {};
}
