// The plans of the pipeline queries (issue 18, src/kitchen/pipeline.ts), moved out of
// src/kitchen/plans.ts (same rules: pure, each with its contract; test/plans.test.ts).
import { ObjectId, type Filter, type UpdateFilter } from 'mongodb';
import type { Order, State } from '../order.js';

// Pipelines (issue 18, src/kitchen/pipeline.ts): WAITING orders have no `due`, so no
// claim reaches them; these are the checks that free them and their release.

/** What keeps an order from being free (ERROR and CANCELLED too, unless --after-any). HELD is not finished: what waits on it waits on. */
export const UNFINISHED: readonly State[] = Object.freeze(['ERROR', 'CANCELLED', 'READY', 'RUNNING', 'WAITING', 'HELD']);
export const UNFINISHED_ANY: readonly State[] = Object.freeze(['READY', 'RUNNING', 'WAITING', 'HELD']);
/** The finished states that hold back what waits for them (unless --after-any) until they are reset: the "failed orders" of status and show. */
export const FAILED: readonly State[] = Object.freeze(['ERROR', 'CANCELLED']);
/** Sorts below every ObjectId: `{hold: {$gte: MIN_ID}}` reads the whole sparse index. */
export const MIN_ID = Object.freeze(new ObjectId('000000000000000000000000'));
/** Barriers in order: the sparse index {hold: 1}. */
export const HOLD_ORDER = Object.freeze({ hold: 1 } as const);

/**
 * Orders per batch of a walk of {wait: 1} (or {after: id}), and ids per `$in`: every
 * query and reply stays far below the 16 MB BSON limit (an id in an array: ~21 bytes),
 * however many orders wait on ids. The walk is one cursor in batches of BATCH (the
 * index's own order: paging by _id would need a sort {wait: 1} cannot give).
 */
export const BATCH = 1_000;
export const IDS_PER_FIND = 10_000;

/** The newest order first: the _id index's last key (a new barrier goes above it). */
export const NEWEST_FIRST = Object.freeze({ _id: -1 } as const);

/** Work that may still release WAITING orders. Filter: status READY|RUNNING · Index used: {status:1,_id:1}, limit 1 · Cost: at most 1 key. */
export const ACTIVE: Filter<Order> = Object.freeze({ status: Object.freeze({ $in: Object.freeze(['READY', 'RUNNING'] as const) }) });

/** A load --after-all run again: the order of its first row, still WAITING. Filter: {key, status: WAITING} · Index used: {key:1} (unique, sparse) · Cost: 1 key. */
export function waitingKeyFilter(key: string): Filter<Order> {
  return { key, status: 'WAITING' };
}

/** show: those of these orders held by a barrier. Filter: {_id in ids, hold exists} · Index used: _id · Cost: keys = ids. */
export function heldOfFilter(ids: readonly ObjectId[]): Filter<Order> {
  return { _id: { $in: [...ids] }, hold: { $exists: true } };
}

/** Orders WAITING on ids. Filter: {wait: 1} · Index used: {wait:1} (sparse) · Cost: keys = those orders. */
export const ON_IDS: Filter<Order> = Object.freeze({ wait: 1 });

/**
 * Orders held from WAITING (waiter hold, issue 26): a hold removed `wait` and `hold`, kept
 * `after` and `barrier`, and a release makes them wait on those again. Filter: {status: HELD,
 * held.from: WAITING} · Index used: {status:1,_id:1}, the HELD range (held.from read from each
 * document) · Cost: keys and documents = the HELD orders (a user's holds), never the finished ones.
 */
export const HELD_FROM_WAITING: Filter<Order> = Object.freeze({ status: 'HELD', 'held.from': 'WAITING' });

/**
 * The dependants of an order that just finished, still WAITING. Filter: {after: id, wait: 1} ·
 * Index: not hinted; both sparse indexes fit, {after:1} (multikey: keys = its dependants)
 * and {wait:1} (keys = every order still WAITING on ids), and the server's planner picks.
 * Either way no DONE order or barrier-held one is read · Cost: keys ≤ the orders WAITING on ids.
 */
export function dependantsFilter(id: ObjectId): Filter<Order> {
  return { after: id, wait: 1 };
}

/**
 * Unfinished orders below a barrier. Filter: status in `statuses` (UNFINISHED), _id < barrier ·
 * Index used: {status:1,_id:1}, hinted (the _id index would read the DONE orders below
 * it), one range per state · Cost: limit 1: at most one key; counts: keys = those orders.
 */
export function unfinishedBelow(barrier: ObjectId, statuses: readonly State[] = UNFINISHED): Filter<Order> {
  return { status: { $in: statuses }, _id: { $lt: barrier } };
}

/** Barriers still held above `last` (all without it). Filter: {hold > last} · Sort: HOLD_ORDER, limit 1 · Index used: {hold:1} (sparse) · Cost: 1 key per barrier. */
export function barrierAfter(last?: ObjectId): Filter<Order> {
  return { hold: last ? { $gt: last } : { $gte: MIN_ID } };
}

/** The orders held by one barrier. Filter: {hold} · Index used: {hold:1} · Cost: keys = its orders. */
export function heldBy(barrier: ObjectId): Filter<Order> {
  return { hold: barrier };
}

/** blocked(): is a WAITING order of barrier `lower` below barrier `hold` (it holds `hold` back)? Filter: WAITING, lower < _id < hold, hold: lower · Index used: {status:1,_id:1}, hinted, limit 1 (`lower`'s orders come first) · Cost: 1 key. */
export function heldBetween(lower: ObjectId, hold: ObjectId): Filter<Order> {
  return { status: 'WAITING', _id: { $gt: lower, $lt: hold }, hold: lower };
}

/** A batch of orders on ids found free. Filter: {_id in ids, wait: 1} (still on ids), then the release's fence · Index used: _id. */
export function freeFilter(ids: readonly ObjectId[]): Filter<Order> {
  return { _id: { $in: [...ids] }, wait: 1 };
}

/** What a release removes: what the order waited on, and its --at (now its `due`). */
const RELEASE_UNSET = Object.freeze({ hold: '', wait: '', at: '' } as const);

/**
 * Release, now. Filter: `filter` (freeFilter, heldBy) and status WAITING (the fence: a second
 * release, from anywhere, changes nothing more), with no `at` or `at` <= now · Update:
 * $set status READY, due = now · $unset hold, wait, at. `prio` is already the priority
 * (written at insert) · Cost: 1 updateMany.
 */
export function releaseNowFilter(filter: Filter<Order>, now: Date): Filter<Order> {
  return { ...filter, status: 'WAITING', $or: [{ at: { $exists: false } }, { at: { $lte: now } }] };
}
export function releaseNowUpdate(now: Date): UpdateFilter<Order> {
  return { $set: { status: 'READY', due: now }, $unset: RELEASE_UNSET };
}

/**
 * Release, later: the orders whose --at is still ahead (few). Filter: `filter`, WAITING,
 * at > now (one find, _id and at) · then per order Filter: {_id, status: WAITING, at: the
 * at read} · Fence: status and that at: an edit --at between the find and the write
 * changes `at`, the write misses (never due = the old at) and the order stays WAITING with
 * its new at, released by the edit's own release check after its writes (or the next
 * sweep) · Update: $set status READY, due = its at · $unset hold, wait, at (one bulkWrite).
 */
export function releaseLaterFilter(filter: Filter<Order>, now: Date): Filter<Order> {
  return { ...filter, status: 'WAITING', at: { $gt: now } };
}
export function releaseAt(id: ObjectId, at: Date): { filter: Filter<Order>; update: UpdateFilter<Order> } {
  return { filter: { _id: id, status: 'WAITING', at }, update: { $set: { status: 'READY', due: at }, $unset: RELEASE_UNSET } };
}
