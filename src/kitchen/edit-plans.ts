// The plans of waiter edit (issue 26): a new priority or --at for orders not yet claimed.
// Pure, like ./plans.ts (same contract form); pinned in test/edit.test.ts without a
// server. Selections are ./steer-plans.ts's; the queries ./steer.ts.
import type { Filter, UpdateFilter } from 'mongodb';
import { EDITABLE, PRIO_RUNNING, type Order, type State, type Steered } from '../order.js';
import { inStates } from './steer-plans.js';

/** What an edit changes: either or both. */
export interface EditAsk {
  /** The user's priority, as load/add --priority (checked against MAX_PRIORITY by the caller). */
  priority?: number;
  /** Not to be taken before this (add --at; within the horizon, checked by the caller). */
  at?: Date;
}

/**
 * An edit's writes, in order. Filter: inStates(selection, a group of EDITABLE): the status
 * is the fence (a claim or a release meanwhile takes the order out of its group); every
 * write after the first skips what this edit wrote (edited.at = its stamp) · Update: $set
 * edited {by, at, reason?}; a priority: $set priority (or $unset it when 0: insert keeps it
 * only when not 0) and prio = priority, as insert writes it (a release never touches prio,
 * so a WAITING or HELD order must carry it already), but never where prio is PRIO_RUNNING: an
 * order reset while it ran is taken first, like crashed work, and gets its prio back from its
 * priority when that attempt ends (finishUpdate); an --at: READY $set due and at; the others
 * (WAITING, HELD) $set at (their due once released: releaseLater, releaseSteps) ·
 * Groups: by state, only a priority: EDITABLE at once; with --at the not-READY first, then
 * READY; with a priority each split by prio (PRIO_RUNNING or not) · What holds: an order
 * released between the not-READY write and the READY one was written by the first (its
 * at, turned into its due by the release) and skipped by the second: edited once, due =
 * the edited at. A release whose find read the old at before the first write misses the
 * order (releaseAt is fenced by the at it read) and the caller's release check after the
 * writes (src/app/edit.ts) releases it to the new one. A HELD order released by hand
 * between the writes is as a WAITING one released (its at, renamed to due). An order
 * claimed before its write is left alone (counted meanwhile), as is a READY one held
 * between the writes; one that enters a group meanwhile (reset from RUNNING) may be edited too · Index used: _id for ids, else {status:1,_id:1} (prio and
 * the stamp are read on the orders found) · Cost: 1-4 updateMany; modifiedCount is what was edited.
 */
export function editPlan(selected: Filter<Order>, ask: EditAsk, s: Steered): { filter: Filter<Order>; update: UpdateFilter<Order> }[] {
  const groups: { states: readonly State[]; ready: boolean }[] =
    ask.at === undefined
      ? [{ states: EDITABLE, ready: false }]
      : [
          { states: EDITABLE.filter((x) => x !== 'READY'), ready: false },
          { states: ['READY'], ready: true },
        ];
  // With a priority: the orders at PRIO_RUNNING apart (their prio is left); without one prio is not read.
  const boosts = ask.priority === undefined ? [undefined] : [false, true];
  const out: { filter: Filter<Order>; update: UpdateFilter<Order> }[] = [];
  for (const g of groups) {
    const f = inStates(selected, g.states);
    if (!f) continue;
    for (const boosted of boosts) {
      const filter: Filter<Order> = { ...f, ...(boosted === undefined ? {} : { prio: boosted ? PRIO_RUNNING : { $ne: PRIO_RUNNING } }) };
      out.push({ filter: out.length ? { ...filter, 'edited.at': { $ne: s.at } } : filter, update: editUpdate(ask, s, g.ready, boosted === true) });
    }
  }
  return out;
}

/** One write's update (editPlan): `ready` writes an --at as the due too; `boosted` (prio PRIO_RUNNING) leaves prio. */
export function editUpdate(ask: EditAsk, s: Steered, ready: boolean, boosted = false): UpdateFilter<Order> {
  const set: Record<string, unknown> = { edited: s };
  const unset: Record<string, ''> = {};
  if (ask.priority !== undefined) {
    if (ask.priority === 0) unset.priority = '';
    else set.priority = ask.priority;
    if (!boosted) set.prio = ask.priority;
  }
  if (ask.at !== undefined) {
    set.at = ask.at;
    if (ready) set.due = ask.at;
  }
  return Object.keys(unset).length ? { $set: set, $unset: unset } : { $set: set };
}
