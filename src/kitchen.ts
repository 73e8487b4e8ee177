// Every MongoDB query waiter makes. Each method states its contract, like a stored
// procedure; nothing outside this file and the rooms it imports (src/kitchen/: the
// fleet view, clean, connecting, inserting, pipelines, live output and result files)
// talks to the driver (test/layers.test.ts checks). The filters, updates and sorts
// are built by src/kitchen/plans.ts, pure and each with its contract; a method here
// calls the builder, runs it and maps the result.
//
// The order document (one per job, in the collection named by --list):
//   {_id, status, arguments, attempts, due, waiter, start, heartbeat, expires, stop,
//    exitCode, signal, error, output, claim, history}
// - attempts: the claims made; each claim's number, never reused (history, live output
//   and files are kept by it). uncounted: those of them given back (held, a spot notice,
//   a broken box): --max-attempts counts attempts - uncounted. Neither ever decreases.
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
// heartbeat and at exit; never on an order's path. Its answer carries what others asked
// of the waiter (`paused`, `stop`); the list's pause is `<list>.control` (src/kitchen/control.ts).
//
// Portability: everything here runs on MongoDB 5.0+ and on FerretDB v1 (the test
// server): no partial indexes, no projection on findAndModify, no pipeline updates,
// $group only with $sum.
import { MongoClient, MongoError, type Collection, type Filter, type ObjectId } from 'mongodb';
import { KitchenError, UsageError } from './errors.js';
import { STATES, shortHash, type Claimed, type ColumnsDoc, type Counts, type LeaseAnswer, type LeaseTaken, type Order, type State } from './order.js';
import type { ControlDoc, WaiterDoc } from './fleet.js';
import { clean, cleanOutputs, type CleanTarget, type FreedOutputs } from './kitchen/clean.js';
import { FileStore } from './kitchen/files.js';
import { CheckpointQueries } from './kitchen/checkpoints.js';
import { OutputStore } from './kitchen/output.js';
import { defaultsNotIn, describe, reason, type KitchenAddress } from './kitchen/connect.js';
import { FleetQueries } from './kitchen/fleet.js';
import { ControlQueries } from './kitchen/control.js';
import { ensureOrderIndexes } from './kitchen/indexes.js';
import { OrderInserter, type InsertOptions, type Inserted } from './kitchen/insert.js';
import { AttemptQueries } from './kitchen/attempt.js';
import {
  CLAIM_SORT,
  DUE_SORT,
  EVERY,
  ID_ORDER,
  STATUS_INDEX,
  byIdFilter,
  claimFilter,
  columnsFilter,
  countsFilters,
  idsInFilter,
  inState,
  leftAloneFilter,
  oldestReadyFilter,
  readySince,
  resetFilter,
  type ResetAsk,
  resetUpdate,
  saveColumnsUpdate,
} from './kitchen/plans.js';
import { TailQueries } from './kitchen/tail.js';
import { SteerQueries } from './kitchen/steer.js';
import { CostQueries } from './kitchen/cost.js';
import { PipelineQueries } from './kitchen/pipeline.js';

export { describe } from './kitchen/connect.js';
export type { InsertOptions, Inserted } from './kitchen/insert.js';

const CONNECT_TIMEOUT_MS = 10_000;

export class Kitchen {
  private indexed = false;
  /** The waiter registry, beside the list: `<list>.waiters` (see src/fleet.ts). Private, like the orders: every query stays in this file and its rooms. */
  private readonly waiters: Collection<WaiterDoc>;
  /** Live output of orders, beside the list: `<list>.output` (queries in src/kitchen/output.ts). */
  readonly outputs: OutputStore;
  /** Result files of orders (deliver --collect): the GridFS bucket `<list>.results` (queries in src/kitchen/files.ts). */
  readonly files: FileStore;
  /** Checkpoints of orders (deliver --checkpoint): the GridFS bucket `<list>.checkpoints` and the orders' `checkpoint` (src/kitchen/checkpoints.ts). */
  readonly checkpoints: CheckpointQueries;
  /** Orders waiting for orders (issue 18): src/kitchen/pipeline.ts. */
  readonly pipeline: PipelineQueries;
  /** The fleet view's queries (status, waiters, the page): src/kitchen/fleet.ts. */
  readonly fleet: FleetQueries;
  /** The list's pause and the requests to waiters (pause, resume, stop; issue 26): src/kitchen/control.ts. */
  readonly control: ControlQueries;
  /** Orders RUNNING on other waiters, asked by a waiter that found nothing to claim: src/kitchen/tail.ts. */
  readonly tail: TailQueries;
  /** Changing orders from outside their waiter (cancel): src/kitchen/steer.ts. */
  readonly steer: SteerQueries;
  /** What the orders used (status, /metrics; issue 28): src/kitchen/cost.ts. */
  readonly cost: CostQueries;
  /** Writing new orders (load, add, the API): src/kitchen/insert.ts. */
  private readonly inserter: OrderInserter;
  /** A waiter's claim, heartbeat and finish (claim, heartbeat, finish below): src/kitchen/attempt.ts. */
  private readonly attempts: AttemptQueries;

  private constructor(
    private readonly client: MongoClient,
    private readonly orders: Collection<Order>,
    readonly where: string,
  ) {
    this.waiters = orders.db.collection<WaiterDoc>(`${orders.collectionName}.waiters`);
    this.outputs = new OutputStore(orders.db, orders.collectionName);
    this.files = new FileStore(orders.db, orders.collectionName);
    this.checkpoints = new CheckpointQueries(orders, new FileStore(orders.db, orders.collectionName, 'checkpoints'));
    this.pipeline = new PipelineQueries(orders);
    this.fleet = new FleetQueries(orders, this.waiters);
    this.tail = new TailQueries(orders);
    this.control = new ControlQueries(orders.db.collection<ControlDoc>(`${orders.collectionName}.control`), this.waiters);
    this.steer = new SteerQueries(orders);
    this.cost = new CostQueries(orders);
    this.inserter = new OrderInserter(orders, () => this.ensureIndexes());
    this.attempts = new AttemptQueries(orders, () => this.ensureIndexes());
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

  /** The indexes and the migration of a list an older waiter wrote (src/kitchen/indexes.ts). Idempotent; once per process. */
  async ensureIndexes(): Promise<void> {
    if (this.indexed) return;
    await ensureOrderIndexes(this.orders);
    this.indexed = true;
  }

  /** Claim the next due order, or null: src/kitchen/attempt.ts (its contract, the takeover, a retried claim). */
  claim(...args: Parameters<AttemptQueries['claim']>): Promise<Claimed | null> {
    return this.attempts.claim(...args);
  }

  /** Extend the lease of an order this waiter holds, fenced by the claim: src/kitchen/attempt.ts. */
  heartbeat(...args: Parameters<AttemptQueries['heartbeat']>): Promise<LeaseAnswer | LeaseTaken> {
    return this.attempts.heartbeat(...args);
  }

  /** Record how the attempt ended, fenced by the claim; false when the order is no longer ours: src/kitchen/attempt.ts. */
  finish(...args: Parameters<AttemptQueries['finish']>): Promise<boolean> {
    return this.attempts.finish(...args);
  }

  /**
   * Counts per state in one round trip each, all in parallel, each answered from the
   * {status, _id} index. `stale` = RUNNING orders whose lease has expired.
   * `notYetDue`/`nextDue`: READY orders due after now, from the {due, _id} index (the
   * range past now holds those and the live RUNNING orders; nextDue skips a fleet's
   * worth of the latter at most).
   */
  async counts(now = new Date()): Promise<Counts> {
    const q = countsFilters(now);
    const [stale, dueLater, next, ...perState] = await Promise.all([
      this.orders.countDocuments(q.stale),
      this.orders.countDocuments(q.dueLater),
      this.firstDue(q.nextDue),
      ...STATES.map((s) => this.orders.countDocuments(inState(s))),
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

  /** Since when the READY order waiting longest has waited (oldestReadyFilter, readySince), or null when none is due. Not part of counts: the page does not ask. */
  async oldestReady(now = new Date()): Promise<Date | null> {
    const o = await this.firstDue(oldestReadyFilter(now));
    return o ? readySince(o) : null;
  }

  private firstDue(filter: Filter<Order>) {
    return this.orders
      .find(filter, { projection: { due: 1 } })
      .sort(DUE_SORT)
      .limit(1)
      .next();
  }

  /**
   * Reset: put orders back to READY, due now. ERROR orders always (if asked for). RUNNING
   * orders only when stale (lease expired), or started before `startedBefore`, or
   * every one with `force`. The claim is removed, so the waiter that held one can
   * no longer record over it. READY orders without `due` (left by an older waiter)
   * get one (resetFilter, resetUpdate). Returns how many were reset, and how many RUNNING
   * orders were left alone because they are alive (leftAloneFilter). A RUNNING order reset keeps prio
   * PRIO_RUNNING: taken first, like crashed work.
   */
  async reset(opts: ResetAsk & { now?: Date }): Promise<{ reset: number; leftAlone: number }> {
    const now = opts.now ?? new Date();
    const filter = resetFilter(opts, now);
    if (!filter) return { reset: 0, leftAlone: 0 };
    const r = await this.orders.updateMany(filter, resetUpdate(now));
    const alone = leftAloneFilter(opts, now);
    return { reset: r.modifiedCount, leftAlone: alone ? await this.orders.countDocuments(alone) : 0 };
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

  /** The list's name (--list): the collection of its orders, and the prefix of the collections beside it. */
  get listName(): string {
    return this.orders.collectionName;
  }

  /** `<list>.columns` (saveColumns below; clean empties it). */
  private get columnDocs(): Collection<ColumnsDoc> {
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
    await this.columnDocs.updateOne(columnsFilter(id), saveColumnsUpdate(names), { upsert: true });
    return id;
  }

  /** The column names saved under this id, or null. One findOne by _id; deliver caches it per waiter. */
  async columns(id: string): Promise<string[] | null> {
    return (await this.columnDocs.findOne(columnsFilter(id)))?.names ?? null;
  }

  /** Every column-names document of the list (a handful: one per distinct header), for extract. */
  async allColumns(): Promise<Map<string, string[]>> {
    const docs = await this.columnDocs.find(EVERY).sort(ID_ORDER).toArray();
    return new Map(docs.map((d) => [d._id, d.names]));
  }

  /** Clean: delete the orders of the list, of one state if given (src/kitchen/clean.ts). Returns how many. */
  clean(status?: State): Promise<number> {
    return clean(this.cleanTarget(), status);
  }

  /** clean --outputs: free the live output and result files of orders, and finished ones' checkpoints, keeping the orders (src/kitchen/clean.ts). */
  cleanOutputs(opts: { status?: State; before?: Date }): Promise<FreedOutputs> {
    return cleanOutputs(this.cleanTarget(), opts);
  }

  private cleanTarget(): CleanTarget {
    return {
      orders: this.orders,
      waiters: this.waiters,
      columnDocs: this.columnDocs,
      outputs: this.outputs,
      files: this.files,
      checkpoints: this.checkpoints.files,
      pipeline: this.pipeline,
    };
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
    return this.orders.find(status ? inState(status) : EVERY).sort(ID_ORDER);
  }

  /** A page of the ids of the orders in one state, after `after` (exclusive): a range of {status, _id}, keys examined = limit (gather --status: no cursor held while files are written). */
  idsIn(status: State, after: ObjectId | undefined, limit: number): Promise<ObjectId[]> {
    return this.orders
      .find(idsInFilter(status, after), { projection: { _id: 1 } })
      .sort(STATUS_INDEX)
      .limit(limit)
      .map((o) => o._id)
      .toArray();
  }

  /**
   * How many orders (of one state): for a progress bar's total, so the whole list's
   * count is the collection's metadata, and a state's is counted from {status, _id}.
   */
  async countOrders(status?: State): Promise<number> {
    return status ? this.orders.countDocuments(inState(status)) : this.orders.estimatedDocumentCount();
  }

  /** One order by id, or null. */
  async order(id: ObjectId): Promise<Order | null> {
    return this.orders.findOne(byIdFilter(id));
  }
}
