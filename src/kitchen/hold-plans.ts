// The plans of hold and release (issue 26): orders set aside by a user (HELD) and put
// back where they were. Pure, like ./plans.ts (same contract form); checked in
// test/plans.test.ts without a server. A RUNNING order's hold is ./steer-plans.ts's
// stopRunningUpdate (the same fenced write as its cancel). Queries: ./steer.ts.
import type { Filter, UpdateFilter } from 'mongodb';
import type { Order, Steered } from '../order.js';
import { IDLE, waitAgainSteps, type Step } from './steer-plans.js';

/** The states an order not running is held from (held.from; a RUNNING one is held from READY). */
export type HeldFrom = NonNullable<Order['held']>['from'];
export const HELD_FROM = IDLE.HELD as readonly HeldFrom[];

/**
 * Hold of orders not running, ONE updateMany per state they are held from (held.from differs).
 * Filter: inStates(selection, [from]) (./steer-plans.ts): the status is the fence (a claim, a
 * release meanwhile takes the order out of it) · Update: $set status HELD, held {by, at,
 * reason, from} · $unset claim, heartbeat, expires, released (an earlier release), and, as a
 * cancel does, wait and hold (no release check reads a HELD order; `after` and `barrier`
 * stay: a release makes it wait again) · READY: $rename due -> at (no claim reaches it; `at`
 * is its due once released, so one not yet due keeps its time: $rename is the one plain
 * update that copies a field per document) · WAITING: $unset due (it has none), `at` kept ·
 * Index used: {status:1,_id:1} · Cost: keys = the selection's orders in that state.
 */
export function holdUpdate(s: Steered, from: HeldFrom): UpdateFilter<Order> {
  const $set = { status: 'HELD' as const, held: { ...s, from } };
  const $unset = { claim: '', heartbeat: '', expires: '', wait: '', hold: '', released: '' } as const;
  return from === 'READY' ? { $set, $rename: { due: 'at' }, $unset } : { $set, $unset: { ...$unset, due: '' } };
}

/**
 * Release, first: of the HELD orders `held`, those held from WAITING (Filter: held and
 * held.from WAITING), their barrier as their hold again (barrierBack, per distinct barrier):
 * it holds them again once they are WAITING · Index used: {status:1,_id:1} · Cost: a
 * manual command's.
 */
export function heldFromWaiting(held: Filter<Order>): Filter<Order> {
  return { ...held, 'held.from': 'WAITING' };
}

/**
 * Release, then, in steps (each Filter: `held` (the selection, status HELD: the fence, so a
 * cancel racing the release leaves one outcome) and the step's part · Index used:
 * {status:1,_id:1} · Cost: keys = the selection's HELD orders, per step). Each $set released
 * {by, at, reason} (kept for show) and $unset held. `waiting`: held from WAITING, WAITING
 * again on what they waited for (waitAgainSteps: {after} with wait 1, {hold}); the release
 * check after it frees those whose orders finished meanwhile. `ready`: the rest, READY: with
 * `at` > now, $rename at -> due (not taken before then); else $set due now, $unset at.
 */
export function releaseSteps(held: Filter<Order>, s: Steered, now: Date): { waiting: Step[]; ready: Step[] } {
  const done = { $set: { released: s }, $unset: { held: '' } } as const;
  return {
    waiting: waitAgainSteps(heldFromWaiting(held), done),
    ready: [
      { filter: { ...held, at: { $gt: now } }, update: { $set: { status: 'READY', released: s }, $rename: { at: 'due' }, $unset: { held: '' } } },
      { filter: held, update: { $set: { status: 'READY', due: now, released: s }, $unset: { held: '', at: '' } } },
    ],
  };
}
