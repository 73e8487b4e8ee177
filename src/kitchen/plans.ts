// The plans of the order queries (pg-boss's plans.ts): the filters, updates and sorts of
// the claim, heartbeat, finish, counts, reset, listing, clean and tail queries, the fleet
// view's finished-order and live-waiter filters and the registry's write, as pure
// functions of their inputs, each with its contract (the pipeline's: pipeline-plans.ts;
// reset's: reset-plans.ts, re-exported here).
// The I/O methods call one, run it and map the result; test/plans.test.ts checks the
// documents without a server.
//
// Not (yet) here, still built beside their query in src/kitchen/: the one-time
// migration of an older waiter's list (indexes.ts); the READY-per-priority aggregate
// (priorities.ts: READY_PRIO_FILTER has its contract there); the fleet view's registry
// and page reads (fleet.ts: waiters by name, settle, the page's RUNNING and recent
// orders); --unique's key lookups and id checks (insert.ts, unique.ts); and the
// queries on the collections beside the list (output.ts, files.ts).
//
// A contract reads: what the query is (Filter, Update, Sort), the index it is answered
// from, what fences it (a write a waiter makes about its attempt matches only while it
// still holds the claim), what it returns and what it costs per call.
import { ObjectId, type Filter, type UpdateFilter } from 'mongodb';
import { HISTORY_LIMIT, PRIO_RUNNING, canTransition, type Attempt, type Claimed, type ColumnsDoc, type Finish, type JobProgress, type Order, type State } from '../order.js';
import type { WaiterDoc } from '../fleet.js';

/**
 * Sorts before any time a READY order gets now: what orders of an older waiter are migrated to.
 * A function, not a shared Date: a Date cannot be frozen (setTime writes its internal slot).
 */
export const longAgo = (): Date => new Date(0);

/** The claim's order: the index {prio: -1, due: 1, _id: 1}. */
export const CLAIM_SORT = Object.freeze({ prio: -1, due: 1, _id: 1 } as const);
/** `due` order, on {due: 1, _id: 1}: status's not-yet-due count and the next due time. */
export const DUE_SORT = Object.freeze({ due: 1, _id: 1 } as const);
/** The index {status: 1, _id: 1}: orders in one state in _id order (a sort, and the pipeline's hint). */
export const STATUS_INDEX = Object.freeze({ status: 1, _id: 1 } as const);
/** The _id index, oldest first. */
export const ID_ORDER = Object.freeze({ _id: 1 } as const);

/** Orders in one state. Filter: {status} · Index used: {status:1,_id:1} · Cost: keys = orders in that state (counts, listings, reset's left-alone count). */
export function inState(status: State): Filter<Order> {
  return { status };
}

/**
 * The fence of every write a waiter makes about its attempt. Filter: {_id, claim, status: RUNNING}
 * · Index used: _id · Matches nothing once the order was reset (claim removed) or taken
 * over (a new claim): the waiter that lost it records nothing.
 */
export function fence(id: ObjectId, token: string): Filter<Order> {
  return { _id: id, claim: token, status: 'RUNNING' };
}

/**
 * Claim. Filter: due <= now (and, for orders an older waiter wrote, READY|RUNNING with no live
 * `expires`) · Sort: CLAIM_SORT · Index used: {prio:-1,due:1,_id:1} · Fence: none (the
 * findOneAndUpdate is the atomic step) · Returns: the doc before · Cost: 1 key read.
 * `due <= now` alone says it for orders written by this version; the two other conditions
 * only ever reject an order touched by an older waiter still running beside this one
 * (which does not keep `due`): one it finished (DONE/ERROR with a stale due), or one it
 * claimed and keeps alive by `expires`. In a fleet of this version they filter nothing,
 * so the first key read is the one taken. Also deliver --dry-run's peek (find, same sort).
 */
export function claimFilter(now: Date): Filter<Order> {
  return { due: { $lte: now }, status: { $in: ['READY', 'RUNNING'] }, expires: { $not: { $gt: now } } };
}

/**
 * Claim. Update: $set status RUNNING, the waiter, start = heartbeat = now, expires = due = now +
 * lease, a fresh claim token, prio PRIO_RUNNING (a lapsed lease is taken over before any
 * READY order) · $inc attempts · $unset the previous attempt's stop, exitCode, signal,
 * error, output, usage, progress: a RUNNING order has no result yet, so a cancel, reset or takeover of
 * it (none of which unset them) never leaves an earlier attempt's beside its own.
 */
export function claimUpdate(waiter: string, token: string, now: Date, leaseMs: number): UpdateFilter<Order> {
  const expires = new Date(+now + leaseMs);
  return {
    $set: { status: 'RUNNING', waiter, start: now, heartbeat: now, expires, due: expires, claim: token, prio: PRIO_RUNNING },
    $inc: { attempts: 1 },
    $unset: { stop: '', exitCode: '', signal: '', error: '', output: '', usage: '', progress: '', resumed: '' },
  };
}

/**
 * Claim retried after a lost answer. Filter: {claim: token, status: RUNNING} · Index used:
 * {status:1,_id:1} (the RUNNING range) · Returns: the order that claim took, if it did ·
 * Cost: keys = RUNNING orders, only after a connection failure.
 */
export function claimedByFilter(token: string): Filter<Order> {
  return { claim: token, status: 'RUNNING' };
}

/** A takeover: the attempt whose lease lapsed, as history keeps it (result LOST, stopped at its last heartbeat). */
export function lostAttempt(before: Pick<Order, 'attempts' | 'waiter' | 'start' | 'heartbeat' | 'progress' | 'resumed'>, now: Date): Attempt {
  return {
    ...(before.resumed !== undefined ? { resumed: before.resumed } : {}),
    attempt: before.attempts,
    waiter: before.waiter ?? '',
    start: before.start ?? now,
    stop: before.heartbeat ?? now,
    error: `lost: no heartbeat from ${before.waiter ?? 'its waiter'} since ${(before.heartbeat ?? now).toISOString()}`,
    result: 'LOST',
    ...(before.progress ? { progress: before.progress } : {}),
  };
}

/**
 * Takeover's history. Filter: fence(id, new token) · Update: $set history (the last
 * HISTORY_LIMIT; $set, not $push: FerretDB v1 ignores $slice) · Index used: _id ·
 * Cost: 1 update, on takeovers only.
 */
export function historyUpdate(history: readonly Attempt[]): UpdateFilter<Order> {
  return { $set: { history: history.slice(-HISTORY_LIMIT) } };
}

/**
 * Heartbeat. Filter: fence(c.id, c.token) · Update: $set heartbeat = now, expires = due = now + lease,
 * and progress when its command wrote one (src/deliver/progress.ts: it rides on this write)
 * · Index used: _id · Fence: the claim · Returns: matched 1, or 0 when the order is no
 * longer ours · Cost: 1 update.
 */
export function heartbeatUpdate(now: Date, leaseMs: number, progress?: JobProgress): UpdateFilter<Order> {
  return { $set: { heartbeat: now, expires: new Date(+now + leaseMs), due: new Date(+now + leaseMs), ...(progress ? { progress } : {}) } };
}

/**
 * Finish. Filter: fence(c.id, c.token) · Update: $set status, prio back to the priority (0 if
 * none), stop, output, history + this attempt (last HISTORY_LIMIT), exitCode/signal/error/
 * usage and progress when given (else $unset; usage, src/usage/, and the last progress
 * ride on this write: no round trip of their own), workdir when given; READY (a retry): due = f.due ?? stop and
 * $unset claim; DONE/ERROR: $unset due · always $unset heartbeat, expires · f.uncounted:
 * $inc uncounted (`attempts` is never taken back: it numbers attempts, and a number used once
 * is never given to another: history, live output and files are kept by it) · usage with a CPU figure: $inc spent.cpuMs, spent.wallMs, spent.attempts
 * (Order.spent) · f.dropCheckpoint: $unset checkpoint · Index used: _id · Fence: the claim ·
 * Returns: matched 1 or 0 ·
 * Cost: 1 update. Throws for a status RUNNING cannot go to.
 */
export function finishUpdate(c: Claimed, f: Finish): UpdateFilter<Order> {
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
    ...(f.usage ? { usage: f.usage } : {}),
    ...(f.progress ? { progress: f.progress } : {}),
    ...(f.resumed !== undefined ? { resumed: f.resumed } : {}),
  };
  const set: Partial<Order> = {
    status: f.status,
    prio: c.priority ?? 0,
    stop: f.stop,
    output: f.output,
    history: [...c.history, attempt].slice(-HISTORY_LIMIT),
  };
  const unset: Record<string, ''> = { heartbeat: '', expires: '' };
  for (const k of ['exitCode', 'signal', 'error', 'usage', 'progress'] as const) {
    if (f[k] !== undefined) (set as Record<string, unknown>)[k] = f[k];
    else unset[k] = '';
  }
  if (f.workdir !== undefined) set.workdir = f.workdir;
  if (f.dropCheckpoint) unset.checkpoint = '';
  if (f.status === 'READY') {
    unset.claim = '';
    set.due = f.due ?? f.stop;
  } else unset.due = '';
  const inc: Record<string, number> = f.uncounted ? { uncounted: 1 } : {};
  // What the attempt used adds to the order's spent (uncounted or not: it was paid), in this same write.
  if (f.usage?.cpuMs !== undefined) Object.assign(inc, { 'spent.cpuMs': f.usage.cpuMs, 'spent.wallMs': f.usage.wallMs, 'spent.attempts': 1 });
  return { $set: set, $unset: unset, ...(Object.keys(inc).length ? { $inc: inc } : {}) };
}

/**
 * Finish retried after a lost answer: was it written? Filter: {_id, history.attempt, history.stop}
 * (our attempt, with our stop) · Index used: _id · Cost: 1 count, after a failure only.
 */
export function finishedAttemptFilter(c: Claimed, f: Finish): Filter<Order> {
  return { _id: c.id, 'history.attempt': c.attempt, 'history.stop': f.stop };
}

/**
 * Counts (status, the page), one round trip each, in parallel. Filters: stale
 * {status: RUNNING, expires < now} and each state (inState) on {status:1,_id:1}; the
 * range past now on {due:1,_id:1} (dueLater: READY not yet due + live RUNNING, keys
 * only); the next due READY order (nextDue, Sort: DUE_SORT, limit 1) · Cost: keys = the
 * orders counted; nextDue skips a fleet's worth of live RUNNING keys at most.
 */
export function countsFilters(now: Date): { stale: Filter<Order>; dueLater: Filter<Order>; nextDue: Filter<Order> } {
  return {
    stale: { status: 'RUNNING', expires: { $lt: now } },
    dueLater: { due: { $gt: now } },
    nextDue: { due: { $gt: now }, status: 'READY' },
  };
}

/**
 * The READY order waiting longest (status --json, /metrics: asked for, not by the page's
 * refresh every second). Filter: {due <= now, status: READY} · Sort: DUE_SORT, limit 1,
 * projection {due} · Index used: {due:1,_id:1} · Returns: its _id and due (readySince) ·
 * Cost on MongoDB: keys = the stale RUNNING orders before it (their due, the lease, is
 * past too) + 1, no sort stage (test/status-cost.test.ts). FerretDB 2.x does not serve
 * a sort from an index: it reads the whole due range (the backlog) and sorts it, once per
 * status or scrape.
 */
export function oldestReadyFilter(now: Date): Filter<Order> {
  return { due: { $lte: now }, status: 'READY' };
}

/**
 * Since when a READY order has waited to be claimed: its `due` (set when it last became
 * claimable: add, reset, retry, release), but never before it was written (its _id's
 * time, whole seconds): a list migrated from an older version has due = longAgo() (1970),
 * an `--at` in the past an earlier due.
 */
export function readySince(o: { _id: ObjectId; due?: Date }): Date {
  const written = o._id.getTimestamp();
  return o.due && o.due > written ? o.due : written;
}

export { leftAloneFilter, resetFilter, resetUpdate, type ResetAsk } from './reset-plans.js';

/**
 * A page of ids in one state (gather --status). Filter: {status, _id > after} · Sort:
 * STATUS_INDEX, limit · Index used: {status:1,_id:1} · Cost: keys = limit.
 */
export function idsInFilter(status: State, after: ObjectId | undefined): Filter<Order> {
  return after ? { status, _id: { $gt: after } } : { status };
}

/**
 * Orders RUNNING on other waiters (the end of a run, src/kitchen/tail.ts). Filter:
 * {prio: PRIO_RUNNING, due: any date (SOME_DUE), status: RUNNING, _id not in `held`} ·
 * Sort: CLAIM_SORT (soonest lease end first) or TAIL_LATEST_FIRST · Index used: {prio:-1,due:1,_id:1}: every
 * RUNNING order has prio PRIO_RUNNING and due = its lease expiry, so they are one range,
 * in lease order; no READY order is read but one reset while it ran (READY, still at
 * PRIO_RUNNING, due now: the next claim's) · Cost: 1 key (+ held) for the soonest.
 */
export function othersRunningFilter(held: readonly ObjectId[]): Filter<Order> {
  return { prio: PRIO_RUNNING, due: SOME_DUE, status: 'RUNNING', ...(held.length > 0 ? { _id: { $nin: [...held] } } : {}) };
}
/**
 * Any `due` there is (every one is a time after 1970; the claim sets it with PRIO_RUNNING,
 * so no RUNNING order lacks it): bounds the index range so an order without one is never read. Missing `due` sorts first in {prio:-1,due:1,_id:1}, and an
 * order can keep PRIO_RUNNING without it: reset from RUNNING (prio is left), then cancelled,
 * or finished by an older waiter; unbounded, the tail read every such order on each look.
 */
const SOME_DUE = Object.freeze({ $gte: new Date(0) });
/** The claim index read backwards: the latest lease end first. */
export const TAIL_LATEST_FIRST = Object.freeze({ prio: 1, due: -1, _id: -1 } as const);

/**
 * Clean (of one state, or every order). Filter: {status} or {} · Sort: ID_ORDER; a range
 * ends at the CLEAN_BATCH-th _id (cleanRange) · Index used: {status:1,_id:1} or _id ·
 * Cost: keys = the orders deleted.
 */
export function cleanFilter(status?: State): Filter<Order> {
  return status ? { status } : {};
}
/** One range of a clean: the orders of `filter` up to `last` (inclusive); all of them when there is no last. */
export function cleanRange(filter: Filter<Order>, last?: ObjectId): Filter<Order> {
  return last ? { ...filter, _id: { $lte: last } } : filter;
}

/**
 * clean --outputs: the orders whose output and files go. Filter: with `before`, finished
 * ones (the state, or DONE|ERROR) with stop < before, ranges of {status:1, stop:1};
 * else {status} on {status:1,_id:1} · Cost: keys = those orders (_id only).
 */
export function cleanOutputsFilter(opts: { status?: State; before?: Date }): Filter<Order> {
  return opts.before ? { status: opts.status ? opts.status : { $in: ['DONE', 'ERROR'] }, stop: { $lt: opts.before } } : { status: opts.status! };
}

/** Finished orders: no attempt runs, nor will without a reset. Their checkpoints are what clean --outputs frees. */
export const FINISHED_STATES: readonly State[] = Object.freeze(['DONE', 'ERROR', 'CANCELLED']);

/**
 * clean --outputs: forget the checkpoint of those of `ids` that are finished, before their
 * files go. Filter: _id in ids (≤ 500), status in FINISHED_STATES, a checkpoint ·
 * Update: $unset checkpoint · Index used: _id · Fence: the state (an order reset
 * meanwhile keeps its checkpoint, and its files) · Cost: keys = the ids.
 */
export function dropFinishedCheckpointFilter(ids: readonly ObjectId[]): Filter<Order> {
  return { _id: { $in: [...ids] }, status: { $in: [...FINISHED_STATES] }, checkpoint: { $exists: true } };
}
export function dropCheckpointUpdate(): UpdateFilter<Order> {
  return { $unset: { checkpoint: '' } };
}

/**
 * Finished orders, the fleet view (pace, median, chart). Filter: DONE|ERROR with stop >= since
 * (all finished ones without it) · Index used: {status:1,stop:1}, two ranges; newest
 * first with RECENT_SORT, the same index backwards · Cost: keys = orders finished since.
 */
export function finishedFilter(since?: Date): Filter<Order> {
  return { status: { $in: ['DONE', 'ERROR'] }, ...(since ? { stop: { $gte: since } } : {}) };
}
export const RECENT_SORT = Object.freeze({ stop: -1 } as const);

/** A waiter that has not ended (null matches a missing field, and is an index range). */
export const NOT_ENDED = Object.freeze({ ended: null }) as unknown as Filter<WaiterDoc>;
/** Live waiters. Filter: not ended, seen within their lease (expires > now) · Index used: {ended:1,expires:1}, one range · Cost: keys = live waiters. */
export function liveFilter(now: Date): Filter<WaiterDoc> {
  return { ...NOT_ENDED, expires: { $gt: now } };
}

/**
 * A waiter's registry document, written whole. Filter: {_id} (its random instance id),
 * upsert · Update: $set everything but _id; $unset current/recording when it has none,
 * and `settled` always (a reader may have settled it as dead: it was only slow) ·
 * Cost: 1 update, never on an order's path.
 */
export function saveWaiterUpdate(doc: WaiterDoc): UpdateFilter<WaiterDoc> {
  const { _id, ...rest } = doc;
  const unset: Record<string, ''> = {};
  if (!doc.current) unset.current = '';
  if (!doc.recording) unset.recording = '';
  // A reader may have settled it as dead (FleetQueries.settleWaiters): it was only slow, its own counts hold again.
  unset.settled = '';
  return { $set: rest, ...(Object.keys(unset).length ? { $unset: unset } : {}) };
}

// Moved from src/kitchen.ts and src/kitchen/pipeline.ts: whole-collection reads, one
// order by id, a header's column names.

/** Every document of a collection: {} · The caller's sort picks the index (ID_ORDER: the _id index; NEWEST_FIRST, limit 1: its last key). */
export const EVERY = Object.freeze({});

/** One order. Filter: {_id} · Index used: _id · Cost: 1 key. */
export function byIdFilter(id: ObjectId): Filter<Order> {
  return { _id: id };
}

/** These orders. Filter: {_id in ids} · Index used: _id · Cost: keys = ids (the callers send at most 10,000 per find). */
export function byIdsFilter(ids: readonly ObjectId[]): Filter<Order> {
  return { _id: { $in: [...ids] } };
}

/** One header's column names in `<list>.columns`, by the hash of the names. Filter: {_id} · Index used: _id · Cost: 1 key. */
export function columnsFilter(id: string): Filter<ColumnsDoc> {
  return { _id: id };
}

/**
 * Save a header's names once. Filter: columnsFilter(hash of the names), upsert · Update:
 * $setOnInsert names: the first load of a header writes it; a repeat, or a load racing it
 * from elsewhere, changes nothing (the same id holds the same names) · Cost: 1 update per load.
 */
export function saveColumnsUpdate(names: string[]): UpdateFilter<ColumnsDoc> {
  return { $setOnInsert: { names } };
}
