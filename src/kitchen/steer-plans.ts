// The plans of steering (issue 26: cancel, hold; edit takes the same selections): which
// orders a user's selection names, and the writes that change them from outside their
// waiter. Pure, like ./plans.ts (same contract form); checked in test/plans.test.ts
// without a server. Hold's and release's own: ./hold-plans.ts. Queries: ./steer.ts.
import type { Filter, ObjectId, UpdateFilter } from 'mongodb';
import { UsageError } from '../errors.js';
import { HISTORY_LIMIT, type Attempt, type Order, type State, type Steered } from '../order.js';
import { lostAttempt } from './plans.js';

/** One --where: a named column (load --header, add --field) or an argument's place (1-based), and the value it must equal. */
export interface Where {
  column: string | number;
  value: string;
}

/** What a user selects: every part given must hold (AND). No part at all selects nothing (the callers refuse it). */
export interface Selection {
  ids?: ObjectId[];
  status?: State;
  where?: Where[];
  /** The order's error contains this text, literally. */
  failedWith?: string;
}

/** Whether the selection names anything: no id and no selection is never "everything". */
export function selects(s: Selection): boolean {
  return Boolean(s.ids?.length || s.status || s.where?.length || s.failedWith !== undefined);
}

/** A text as a regular expression that matches it literally (--failed-with "a.b (x)"). */
export function literalRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A selection as a Filter. ids: {_id: {$in}} · status: {status} · failedWith: {error: {$regex: literal}}
 * · where n=v: {'arguments.<n-1>': v}; where name=v: $or over the `<list>.columns` documents naming
 * that column, {columns: doc, 'arguments.<its place>': v} (a handful: one per distinct header).
 * Index used: _id for ids, {status:1,_id:1} for a status; a where or failedWith alone reads the
 * list (a selection of the user's, not a per-order path) · Throws a UsageError for a column no
 * header names.
 */
export function selectionFilter(s: Selection, columns: ReadonlyMap<string, readonly string[]>): Filter<Order> {
  const f: Record<string, unknown> = {};
  const ors: Filter<Order>[][] = [];
  if (s.ids?.length) f._id = { $in: [...s.ids] };
  if (s.status) f.status = s.status;
  if (s.failedWith !== undefined) f.error = { $regex: literalRegex(s.failedWith) };
  for (const w of s.where ?? []) {
    if (typeof w.column === 'number') {
      f[`arguments.${w.column - 1}`] = w.value;
      continue;
    }
    const or: Filter<Order>[] = [];
    for (const [id, names] of columns) {
      const i = names.indexOf(w.column);
      if (i >= 0) or.push({ columns: id, [`arguments.${i}`]: w.value });
    }
    if (or.length === 0) {
      const known = [...new Set([...columns.values()].flat())];
      throw new UsageError(
        `--where ${w.column}: no column of this list is named so (${known.length ? `its columns: ${known.join(', ')}` : 'it has no named columns'}; or give a place: --where 1=value)`,
      );
    }
    ors.push(or);
  }
  if (ors.length === 1) f.$or = ors[0];
  else if (ors.length > 1) f.$and = ors.map((or) => ({ $or: or }));
  return f;
}

/**
 * The part of a selection in some states. Filter: the selection and status in `states` (its own
 * status when it has one: null when that is not among them) · Index used: {status:1,_id:1}, one
 * range per state.
 */
export function inStates(selected: Filter<Order>, states: readonly State[]): Filter<Order> | null {
  const own = (selected as { status?: State }).status;
  if (own !== undefined) return states.includes(own) ? selected : null;
  return { ...selected, status: states.length === 1 ? states[0]! : { $in: [...states] } };
}

/**
 * Cancel of orders not running (READY, WAITING, HELD), all at once. Filter: inStates(selection,
 * READY|WAITING|HELD): the status is the fence (a claim, a release or a hold meanwhile takes the
 * order out of it) · Update: $set status CANCELLED, cancelled {by, at, reason} · $unset due (no claim
 * reaches it), wait and hold (no release check reads it; `after` and `barrier` stay for show),
 * held (no longer held), claim, heartbeat, expires · Cost: ONE updateMany, keys = the selection;
 * modifiedCount is what was cancelled.
 */
export function cancelUpdate(s: Steered): UpdateFilter<Order> {
  return { $set: { status: 'CANCELLED', cancelled: s }, $unset: { due: '', wait: '', hold: '', held: '', claim: '', heartbeat: '', expires: '' } };
}

/** What a cancel reads of a RUNNING order to write it: its claim (the fence), its lease (stale or not) and what its attempt's history line needs. */
export const RUNNING_READ = { _id: 1, status: 1, claim: 1, attempts: 1, waiter: 1, start: 1, heartbeat: 1, expires: 1, history: 1, priority: 1, progress: 1, resumed: 1 } as const;
export type RunningRead = Pick<Order, '_id' | 'status' | 'claim' | 'attempts' | 'waiter' | 'start' | 'heartbeat' | 'expires' | 'history' | 'priority' | 'progress' | 'resumed'>;

/** A RUNNING order whose lease ended before `at`: its waiter is gone (or cut off), nobody stops its attempt. */
export function staleAt(o: Pick<Order, 'expires'>, at: Date): boolean {
  return o.expires !== undefined && o.expires < at;
}

/** What a user's command makes of a RUNNING order it stops: cancel, hold. */
export type StopTo = 'CANCELLED' | 'HELD';
/** The states a cancel or a hold changes without a claim to fence it (the status is the fence): a hold's are the states held from. */
export const IDLE: Readonly<Record<StopTo, readonly State[]>> = Object.freeze({
  CANCELLED: Object.freeze(['READY', 'WAITING', 'HELD'] as const),
  HELD: Object.freeze(['READY', 'WAITING'] as const),
});

/**
 * Cancel or hold of one RUNNING order. Filter: fence(_id, the claim read) (./plans.ts): its waiter's
 * finish is fenced by the same {_id, claim, status: RUNNING}, so whichever lands first wins and
 * the other matches nothing: never both · Update: $set status `to`, prio back to its priority,
 * history + its attempt (the last HISTORY_LIMIT; $set, not $push: FerretDB v1 ignores $slice);
 * CANCELLED: cancelled, stop = at; HELD: held {by, at, reason, from: READY} (released, it runs
 * again), and released removed · $unset claim, due, expires, heartbeat · Index used: _id ·
 * Cost: 1 update per RUNNING order (a fleet's worth at most).
 * The attempt: result `to`, by, stopped at `at`; but a stale one (staleAt) was not
 * stopped by the user, its waiter was gone: LOST at its last heartbeat, as a takeover
 * records it (lostAttempt), and no line of its own (one line per attempt, as show and
 * the lost-attempt count read history; who did it is the order's `cancelled` or `held`).
 * A live attempt held is not the order's failure: $inc uncounted, as finish gives back an
 * uncounted one (Finish.uncounted), so holds never use up --max-attempts (its number stays
 * used: the next claim is a new attempt); a LOST one counts, as at a takeover.
 * `lost`: the attempt a takeover replaced, when its own history write has not landed yet
 * (takeoverLost): written before this one, or it would never be (the taker's write is fenced).
 */
export function stopRunningUpdate(o: RunningRead, s: Steered, to: StopTo, lost?: Attempt): UpdateFilter<Order> {
  const stale = staleAt(o, s.at);
  const attempt: Attempt = stale
    ? lostAttempt(o, s.at)
    : { attempt: o.attempts, waiter: o.waiter ?? '', start: o.start ?? s.at, stop: s.at, result: to, by: s.by, ...(o.progress ? { progress: o.progress } : {}) };
  const history = [...(o.history ?? []), ...(lost ? [lost] : []), attempt].slice(-HISTORY_LIMIT);
  const unset = { claim: '', due: '', expires: '', heartbeat: '' } as const;
  if (to === 'CANCELLED') return { $set: { status: to, cancelled: s, stop: s.at, prio: o.priority ?? 0, history }, $unset: unset };
  return {
    $set: { status: to, held: { ...s, from: 'READY' }, prio: o.priority ?? 0, history },
    $unset: { ...unset, released: '' },
    ...(stale ? {} : { $inc: { uncounted: 1 } }),
  };
}

/**
 * The attempt a takeover replaced, when `now` (read again after a fenced cancel matched
 * nothing) lacks it: the claim that took over `before` (stale at the claim: its lease
 * ended by `now`'s start; the next attempt) writes its LOST line in a second, fenced
 * update, and a cancel landing between the two would drop it. Undefined when history has
 * it, or when the claim changed otherwise (a reset, then a fresh claim: not a loss).
 */
export function takeoverLost(before: RunningRead, now: RunningRead): Attempt | undefined {
  if (now.status !== 'RUNNING' || !now.claim || now.claim === before.claim || now.attempts !== before.attempts + 1) return undefined;
  if (!now.start || !before.expires || before.expires > now.start) return undefined;
  if ((now.history ?? []).some((h) => h.attempt === before.attempts)) return undefined;
  return lostAttempt(before, now.start);
}

/**
 * The orders of a selection one cancel changed (--with-dependants reads them back in pages).
 * Filter: the selection with status CANCELLED (its own status replaced) and this cancel's
 * stamp, cancelled.at and .by, and _id > after · Sort: ID_ORDER · Index used: _id for ids,
 * else {status:1,_id:1}: the CANCELLED range, earlier cancels' orders read and skipped ·
 * Cost: a manual command's, once per --with-dependants cancel.
 */
export function cancelledBy(selected: Filter<Order>, s: Steered, after?: ObjectId): Filter<Order> {
  const f: Filter<Order> = { ...selected, status: 'CANCELLED', 'cancelled.at': s.at, 'cancelled.by': s.by };
  if (!after) return f;
  const ids = (selected as { _id?: unknown })._id;
  // An ids selection keeps its $in; the page bound joins it.
  return { ...f, _id: ids && typeof ids === 'object' ? { ...ids, $gt: after } : { $gt: after } };
}

/**
 * --with-dependants: the WAITING orders that wait on these (cancelled) ones. Filter: $or of
 * {after in ids, wait: 1, no any} (add --after, not --after-any; index {after:1}, sparse, multikey) and {hold > the lowest
 * id} (load/add --after-all: a barrier above a cancelled order can never pass; index {hold:1},
 * sparse) · Cost: keys = those orders; callers send at most 10,000 ids each.
 */
export function waitingOnFilter(ids: readonly ObjectId[]): Filter<Order> {
  const lowest = [...ids].sort((a, b) => (a.toHexString() < b.toHexString() ? -1 : 1))[0];
  // An --after-any order is not held back by a cancelled one (the release frees it): not a dependant.
  const or: Filter<Order>[] = [{ after: { $in: [...ids] }, wait: 1, any: { $exists: false } }];
  if (lowest) or.push({ hold: { $gt: lowest } });
  return { status: 'WAITING', $or: or };
}

/**
 * --with-dependants: the HELD orders that wait on these (cancelled) ones once released:
 * held from WAITING (a hold removed `wait` and `hold`, kept `after` and `barrier`; one held
 * from READY was freed already). Filter: $or of {HELD, held.from WAITING, after in ids, no
 * any} (index {after:1} or {status:1,_id:1}) and {HELD, held.from WAITING, barrier > the
 * lowest id, _id > it too} (an order sorts above its barrier: index {status:1,_id:1}, the
 * HELD range above the lowest id; `barrier` has no index) · Cost: keys = the HELD orders
 * above the lowest id at most (holds are a user's, few); callers send at most 10,000 ids each.
 */
export function heldOnFilter(ids: readonly ObjectId[]): Filter<Order> {
  const lowest = [...ids].sort((a, b) => (a.toHexString() < b.toHexString() ? -1 : 1))[0];
  const held = { status: 'HELD', 'held.from': 'WAITING' } as const;
  const or: Filter<Order>[] = [{ ...held, after: { $in: [...ids] }, any: { $exists: false } }];
  if (lowest) or.push({ ...held, _id: { $gt: lowest }, barrier: { $gt: lowest } });
  return { $or: or };
}

/** One step of putting orders back (reset --status CANCELLED, release): an updateMany. */
export interface Step {
  filter: Filter<Order>;
  update: UpdateFilter<Order>;
}

/**
 * Orders taken out of their pipeline (cancel, hold: `wait` and `hold` removed, `after` and
 * `barrier` kept) that wait again: of `orders`, per distinct barrier b (a distinct over
 * barriersIn(orders)), {barrier: b} · $set hold b (no pipeline update copies a field); then
 * {after exists} · $set status WAITING, wait 1; then {hold exists} · $set status WAITING;
 * each with `done` (what else the step sets and unsets). What is left is the caller's: READY.
 */
export function barriersIn(orders: Filter<Order>): Filter<Order> {
  return { ...orders, barrier: { $exists: true } };
}
export function barrierBack(orders: Filter<Order>, barrier: ObjectId): Step {
  return { filter: { ...orders, barrier }, update: { $set: { hold: barrier } } };
}
export function waitAgainSteps(orders: Filter<Order>, done: { $set?: Partial<Order>; $unset: Record<string, ''> }): Step[] {
  return [
    { filter: { ...orders, after: { $exists: true } }, update: { $set: { status: 'WAITING', wait: 1, ...done.$set }, $unset: done.$unset } },
    { filter: { ...orders, hold: { $exists: true } }, update: { $set: { status: 'WAITING', ...done.$set }, $unset: done.$unset } },
  ];
}

/**
 * reset --status CANCELLED: cancelled orders back, in steps (each Filter: status CANCELLED
 * and the step's part; Index used: {status:1,_id:1}; Cost: keys = the CANCELLED orders, per
 * step: a manual command's). A cancel removed `wait` and `hold`, kept `after` and `barrier`:
 * an order with them waits again (barrierBack of cancelledOrders(within), waitAgainSteps; the release check after a reset
 * frees the ones whose orders are DONE), or it would run before what it waits for. The rest:
 * $set status READY, due now. Each $unset cancelled: the order is no longer cancelled (show
 * prints the field as is); the attempt a cancel stopped stays in history, with who. `within`:
 * reset <ids…> | --where | --failed-with, joined to every step's filter and to the barriers'
 * (Index used: _id for ids).
 */
export const CANCELLED_ORDERS: Filter<Order> = Object.freeze({ status: 'CANCELLED' });
export function cancelledOrders(within: Filter<Order> = {}): Filter<Order> {
  return { ...within, ...CANCELLED_ORDERS };
}
export function uncancelSteps(now: Date, within: Filter<Order> = {}): Step[] {
  const orders = cancelledOrders(within);
  const unset = { cancelled: '' } as const;
  return [...waitAgainSteps(orders, { $unset: unset }), { filter: orders, update: { $set: { status: 'READY', due: now }, $unset: unset } }];
}

/** What a heartbeat that matched nothing reads to say why: the order's status and who cancelled or held it. Index used: _id · Cost: 1 findOne, only when the order is no longer ours. */
export const LEASE_READ = { _id: 0, status: 1, cancelled: 1, held: 1 } as const;
