// The plans of the fleet's steering (issue 26: pause, resume, stop), as pure builders
// with a contract each, like src/kitchen/plans.ts (beside it, which is long enough):
// the list's control document (`<list>.control`) and the requests written onto the
// waiters' registry documents (`<list>.waiters`). The waiters read them with the
// registry write they make every heartbeat anyway (saveWaiterUpdate, findOneAndUpdate
// returning the document after): no round trip is added per order or per heartbeat.
// test/fleet-plans.test.ts checks the documents without a server.
import type { Filter, UpdateFilter } from 'mongodb';
import type { ControlDoc, Paused, StopAsked, WaiterDoc } from '../fleet.js';
import { NOT_ENDED, liveFilter } from './plans.js';

/** The control document's id: one per list. */
export const CONTROL_ID = 'list' as const;

/** The control document. Filter: {_id: 'list'} · Index used: _id · Cost: 1 key. */
export const CONTROL: Filter<ControlDoc> = { _id: CONTROL_ID };

/**
 * Pause the list. Filter: {_id: 'list', paused missing}, upsert · Update: $set paused · Index
 * used: _id · Fence: `paused` missing: a list already paused matches nothing, and the
 * upsert's insert of a second 'list' fails with a duplicate key (11000), which says
 * "already paused" atomically, whoever paused it · Cost: 1 update.
 */
export function pauseListFilter(): Filter<ControlDoc> {
  return { _id: CONTROL_ID, paused: { $exists: false } };
}
export function pauseListUpdate(p: Paused): UpdateFilter<ControlDoc> {
  return { $set: { paused: p } };
}

/**
 * Resume the list. Filter: {_id: 'list', paused exists} · Update: $unset paused · Returns: the
 * document before (null: it was not paused) · Index used: _id · Cost: 1 findOneAndUpdate.
 */
export function resumeListFilter(): Filter<ControlDoc> {
  return { _id: CONTROL_ID, paused: { $exists: true } };
}
export const RESUME_LIST: UpdateFilter<ControlDoc> = { $unset: { paused: '' } };

/**
 * The pause copied onto the waiters. Filter: not ended, `paused` missing · Update: $set paused
 * · Index used: {ended:1, expires:1}, one range · Cost: 1 updateMany, keys = waiters not
 * ended. Not only the live ones: one cut off from the kitchen (STALE) that comes back
 * learns it with its next write. Also what a pause of a list already paused repairs.
 */
export function pauseWaitersFilter(): Filter<WaiterDoc> {
  return { ...NOT_ENDED, paused: { $exists: false } };
}
export function pauseWaitersUpdate(p: Paused): UpdateFilter<WaiterDoc> {
  return { $set: { paused: p } };
}

/**
 * Resume on the waiters. Filter: `paused` exists (ended ones too: none shows a pause that is
 * over) · Update: $unset paused · Index used: none, the registry is small (one document
 * per deliver process) · Cost: 1 updateMany.
 */
export const PAUSED_WAITERS: Filter<WaiterDoc> = { paused: { $exists: true } };
export const RESUME_WAITERS: UpdateFilter<WaiterDoc> = { $unset: { paused: '' } };

/**
 * A starting waiter joins a pause it read on the control document (FleetQueries.joinPause):
 * Filter: {_id: its id} · Update: $set paused (then the control document is read again,
 * and the copy removed with RESUME_WAITERS if a resume came in between) · Index used: _id.
 */
export function ownFilter(id: string): Filter<WaiterDoc> {
  return { _id: id };
}

/** Which waiters `waiter stop` asks: one --name, the waiters of a host, or all of them. */
export type StopTarget = { name: string } | { host: string } | { all: true };

/**
 * Stop waiters. Filter: live (liveFilter: not ended, seen within their lease) and the target's
 * name or host · Update: $set stop {by, at, now, reason?} (a second stop overwrites it: a
 * later --now interrupts a drain) · Index used: {ended:1, expires:1} · Returns:
 * matchedCount (0: nothing written, nobody to stop) · Cost: 1 updateMany.
 */
export function stopFilter(target: StopTarget, now: Date): Filter<WaiterDoc> {
  const live = liveFilter(now);
  if ('name' in target) return { ...live, name: target.name };
  if ('host' in target) return { ...live, host: target.host };
  return live;
}
export function stopUpdate(s: StopAsked): UpdateFilter<WaiterDoc> {
  return { $set: { stop: s } };
}
