// The query plans (src/kitchen/*plans.ts), without a server: each builder gives exactly
// the filter, update or sort its query sends. The contracts the I/O methods rely on
// (fences, what a finish or a reset writes), pinned field by field. toStrictEqual, not
// toEqual: toEqual passes a stray `{x: undefined}`, which the driver sends as null (and
// null matches a missing field). A sort's or an index's key order is its meaning:
// toStrictEqual ignores it, so Object.keys pins it.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import {
  EVERY,
  CLAIM_SORT,
  DUE_SORT,
  ID_ORDER,
  NOT_ENDED,
  RECENT_SORT,
  STATUS_INDEX,
  TAIL_LATEST_FIRST,
  byIdFilter,
  byIdsFilter,
  finishedFilter,
  inState,
  liveFilter,
  longAgo,
  claimFilter,
  claimUpdate,
  claimedByFilter,
  cleanFilter,
  cleanOutputsFilter,
  cleanRange,
  dropCheckpointUpdate,
  dropFinishedCheckpointFilter,
  columnsFilter,
  countsFilters,
  oldestReadyFilter,
  readySince,
  fence,
  finishUpdate,
  finishedAttemptFilter,
  heartbeatUpdate,
  historyUpdate,
  idsInFilter,
  lostAttempt,
  othersRunningFilter,
  leftAloneFilter,
  resetFilter,
  resetUpdate,
  saveColumnsUpdate,
  saveWaiterUpdate,
} from '../src/kitchen/plans.js';
import {
  ACTIVE,
  HOLD_ORDER,
  MIN_ID,
  NEWEST_FIRST,
  ON_IDS,
  HELD_FROM_WAITING,
  UNFINISHED,
  UNFINISHED_ANY,
  FAILED,
  barrierAfter,
  dependantsFilter,
  freeFilter,
  heldBetween,
  heldBy,
  heldOfFilter,
  unfinishedBelow,
  waitingKeyFilter,
  releaseAt,
  releaseLaterFilter,
  releaseNowFilter,
  releaseNowUpdate,
} from '../src/kitchen/pipeline-plans.js';
import {
  LEASE_READ,
  RUNNING_READ,
  CANCELLED_ORDERS,
  IDLE,
  barrierBack,
  barriersIn,
  stopRunningUpdate,
  cancelledBy,
  uncancelSteps,
  cancelUpdate,
  inStates,
  literalRegex,
  selectionFilter,
  selects,
  takeoverLost,
  heldOnFilter,
  waitingOnFilter,
} from '../src/kitchen/steer-plans.js';
import { HELD_FROM, heldFromWaiting, holdUpdate, releaseSteps } from '../src/kitchen/hold-plans.js';
import { HISTORY_LIMIT, PRIO_RUNNING, type Attempt, type Claimed, type Finish, type Order, type Usage } from '../src/order.js';
import type { WaiterDoc } from '../src/fleet.js';

const now = new Date('2024-05-01T12:00:00.000Z');
const at = (ms: number) => new Date(+now + ms);
const id = new ObjectId('6650f0000000000000000001');

function claimed(over: Partial<Claimed> = {}): Claimed {
  return { id, token: 'tok', attempt: 2, waiter: 'w1', start: at(-5_000), arguments: ['a'], history: [], ...over };
}
function finish(over: Partial<Finish> = {}): Finish {
  return { status: 'DONE', stop: now, output: 'out', result: 'DONE', exitCode: 0, ...over };
}

describe('claim', () => {
  test('takes what is due at `now`, on the claim index, first key first', () => {
    expect(claimFilter(now)).toStrictEqual({ due: { $lte: now }, status: { $in: ['READY', 'RUNNING'] }, expires: { $not: { $gt: now } } });
    expect(CLAIM_SORT).toStrictEqual({ prio: -1, due: 1, _id: 1 });
    expect(Object.keys(CLAIM_SORT)).toStrictEqual(['prio', 'due', '_id']);
  });

  test('sets the token, the lease (expires = due = now + lease) and prio RUNNING, counts the attempt, clears the last result, its usage, its progress and the checkpoint it resumed from', () => {
    const u = claimUpdate('w1', 'tok', now, 60_000);
    expect(u).toStrictEqual({
      $set: { status: 'RUNNING', waiter: 'w1', start: now, heartbeat: now, expires: at(60_000), due: at(60_000), claim: 'tok', prio: PRIO_RUNNING },
      $inc: { attempts: 1 },
      $unset: { stop: '', exitCode: '', signal: '', error: '', output: '', usage: '', progress: '', resumed: '' },
    });
  });

  test('a retried claim looks for its own token, RUNNING', () => {
    expect(claimedByFilter('tok')).toStrictEqual({ claim: 'tok', status: 'RUNNING' });
  });

  test('a takeover records the lost attempt at its last heartbeat, fenced by the new claim, history capped', () => {
    const before = { _id: id, status: 'RUNNING', arguments: [], attempts: 3, waiter: 'w0', start: at(-90_000), heartbeat: at(-70_000) } as Order;
    expect(lostAttempt(before, now)).toStrictEqual({
      attempt: 3,
      waiter: 'w0',
      start: at(-90_000),
      stop: at(-70_000),
      error: `lost: no heartbeat from w0 since ${at(-70_000).toISOString()}`,
      result: 'LOST',
    });
    const gone = { _id: id, status: 'RUNNING', arguments: [], attempts: 1 } as Order;
    expect(lostAttempt(gone, now)).toStrictEqual({
      attempt: 1,
      waiter: '',
      start: now,
      stop: now,
      error: `lost: no heartbeat from its waiter since ${now.toISOString()}`,
      result: 'LOST',
    });
    const long: Attempt[] = Array.from({ length: HISTORY_LIMIT + 3 }, (_, i) => ({ attempt: i + 1, waiter: 'w', start: now, stop: now, result: 'LOST' }));
    const u = historyUpdate(long) as { $set: { history: Attempt[] } };
    expect(u.$set.history).toHaveLength(HISTORY_LIMIT);
    expect(u.$set.history[0]!.attempt).toBe(4);
    expect(fence(id, 'new')).toStrictEqual({ _id: id, claim: 'new', status: 'RUNNING' });
  });
});

test('heartbeat pushes the lease (expires and due) from now; its fence is the claim', () => {
  expect(heartbeatUpdate(now, 30_000)).toStrictEqual({ $set: { heartbeat: now, expires: at(30_000), due: at(30_000) } });
  expect(fence(id, 'tok')).toStrictEqual({ _id: id, claim: 'tok', status: 'RUNNING' });
});

describe('finish', () => {
  test('DONE: the result, the attempt in history with its usage and last progress (on the order too), prio back to 0, lease and due removed, claim kept', () => {
    const old: Attempt = { attempt: 1, waiter: 'w0', start: at(-9_000), stop: at(-8_000), result: 'LOST' };
    const usage: Usage = { wallMs: 4900, cpuMs: 2030, peakRssBytes: 364_728_320, measured: 'proc-sample+wait' };
    const progress = { percent: 100, text: 'done' };
    expect(finishUpdate(claimed({ history: [old] }), finish({ usage, progress }))).toStrictEqual({
      $set: {
        status: 'DONE',
        prio: 0,
        stop: now,
        output: 'out',
        exitCode: 0,
        usage,
        progress,
        history: [old, { attempt: 2, waiter: 'w1', start: at(-5_000), stop: now, result: 'DONE', exitCode: 0, usage, progress }],
      },
      $unset: { heartbeat: '', expires: '', signal: '', error: '', due: '' },
      // What it used adds to the order's spent, in the same write (src/kitchen/cost.ts).
      $inc: { 'spent.cpuMs': 2030, 'spent.wallMs': 4900, 'spent.attempts': 1 },
    });
  });

  test('READY retry with a due: due set, claim removed, the priority back, exitCode/signal/error as given', () => {
    const f = finish({ status: 'READY', result: 'ERROR', exitCode: undefined, signal: 'SIGKILL', error: 'killed by SIGKILL', due: at(10_000), workdir: '/w' });
    expect(finishUpdate(claimed({ priority: 7 }), f)).toStrictEqual({
      $set: {
        status: 'READY',
        prio: 7,
        stop: now,
        output: 'out',
        signal: 'SIGKILL',
        error: 'killed by SIGKILL',
        workdir: '/w',
        due: at(10_000),
        history: [{ attempt: 2, waiter: 'w1', start: at(-5_000), stop: now, result: 'ERROR', signal: 'SIGKILL', error: 'killed by SIGKILL' }],
      },
      // An attempt without usage (its command never started) leaves none of an earlier one on the order.
      $unset: { heartbeat: '', expires: '', exitCode: '', usage: '', progress: '', claim: '' },
    });
  });

  test('READY without a due is due at its stop', () => {
    const u = finishUpdate(claimed(), finish({ status: 'READY', result: 'INTERRUPTED' })) as { $set: Partial<Order>; $unset: Record<string, ''> };
    expect(u.$set.due).toStrictEqual(now);
    expect(u.$unset).toHaveProperty('claim');
    expect(u.$unset).not.toHaveProperty('due');
  });

  test('deliver --checkpoint: the checkpoint it resumed from in its history entry; DONE with dropCheckpoint unsets the checkpoint', () => {
    const u = finishUpdate(claimed(), finish({ status: 'DONE', result: 'DONE', resumed: 1, dropCheckpoint: true }));
    expect((u.$set as Partial<Order>).history).toEqual([{ attempt: 2, waiter: 'w1', start: at(-5_000), stop: now, result: 'DONE', exitCode: 0, resumed: 1 }]);
    expect(u.$unset).toHaveProperty('checkpoint', '');
    expect(finishUpdate(claimed(), finish({ status: 'READY', result: 'INTERRUPTED' })).$unset).not.toHaveProperty('checkpoint');
  });

  test('uncounted gives the attempt back ($inc uncounted: its number stays used, attempts never goes down); counted ones have no $inc', () => {
    expect(finishUpdate(claimed(), finish({ status: 'ERROR', result: 'ERROR', uncounted: true }))).toStrictEqual({
      $set: {
        status: 'ERROR',
        prio: 0,
        stop: now,
        output: 'out',
        exitCode: 0,
        history: [{ attempt: 2, waiter: 'w1', start: at(-5_000), stop: now, result: 'ERROR', exitCode: 0 }],
      },
      $unset: { heartbeat: '', expires: '', signal: '', error: '', usage: '', progress: '', due: '' },
      $inc: { uncounted: 1 },
    });
    expect(finishUpdate(claimed(), finish())).not.toHaveProperty('$inc');
    // An uncounted attempt that ran was still paid: its CPU adds to spent; one without a CPU figure (no /proc) adds nothing.
    const usage: Usage = { wallMs: 800, cpuMs: 500, measured: 'proc-sample' };
    expect(finishUpdate(claimed(), finish({ status: 'ERROR', result: 'ERROR', uncounted: true, usage }))).toMatchObject({
      $inc: { uncounted: 1, 'spent.cpuMs': 500, 'spent.wallMs': 800, 'spent.attempts': 1 },
    });
    expect(finishUpdate(claimed(), finish({ usage: { wallMs: 800, measured: 'wall' } }))).not.toHaveProperty('$inc');
  });

  test('history keeps the last HISTORY_LIMIT attempts', () => {
    const history: Attempt[] = Array.from({ length: HISTORY_LIMIT }, (_, i) => ({ attempt: i, waiter: 'w', start: now, stop: now, result: 'ERROR' }));
    const u = finishUpdate(claimed({ history }), finish()) as { $set: { history: Attempt[] } };
    expect(u.$set.history).toHaveLength(HISTORY_LIMIT);
    expect(u.$set.history.at(-1)!.attempt).toBe(2);
    expect(u.$set.history[0]!.attempt).toBe(1);
  });

  test('refuses a status RUNNING cannot go to', () => {
    expect(() => finishUpdate(claimed(), finish({ status: 'WAITING' }))).toThrow('finish: RUNNING -> WAITING is not a transition');
  });

  test('a retried finish looks for its own attempt and stop in history', () => {
    expect(finishedAttemptFilter(claimed(), finish())).toStrictEqual({ _id: id, 'history.attempt': 2, 'history.stop': now });
  });
});

describe('reset', () => {
  test('ERROR and stale RUNNING, plus READY orders without due; nothing asked: no query', () => {
    expect(resetFilter({ statuses: ['ERROR', 'RUNNING'], force: false }, now)).toStrictEqual({
      $or: [{ status: 'ERROR' }, { status: 'RUNNING', expires: { $lt: now } }, { status: 'READY', due: { $exists: false } }],
    });
    expect(resetFilter({ statuses: [], force: false }, now)).toBeNull();
    expect(resetFilter({ statuses: ['READY'], force: true }, now)).toBeNull();
  });

  test('--force takes every RUNNING order; --started-before adds those started before it', () => {
    expect(resetFilter({ statuses: ['RUNNING'], force: true, startedBefore: at(-1) }, now)).toStrictEqual({
      $or: [{ status: 'RUNNING' }, { status: 'READY', due: { $exists: false } }],
    });
    expect(resetFilter({ statuses: ['RUNNING'], force: false, startedBefore: at(-1_000) }, now)).toStrictEqual({
      $or: [
        { status: 'RUNNING', expires: { $lt: now } },
        { status: 'RUNNING', start: { $lt: at(-1_000) } },
        { status: 'READY', due: { $exists: false } },
      ],
    });
  });

  test('left alone: the RUNNING orders the reset does not take ($nor of its RUNNING branches), within the selection; none with force or without RUNNING', () => {
    const within = { error: { $regex: 'x' } };
    expect(leftAloneFilter({ statuses: ['ERROR', 'RUNNING'], force: false }, now)).toStrictEqual({ status: 'RUNNING', $nor: [{ expires: { $lt: now } }] });
    expect(leftAloneFilter({ statuses: ['RUNNING'], force: false, startedBefore: at(-1_000), within }, now)).toStrictEqual({
      error: { $regex: 'x' },
      status: 'RUNNING',
      $nor: [{ expires: { $lt: now } }, { start: { $lt: at(-1_000) } }],
    });
    expect(leftAloneFilter({ statuses: ['RUNNING'], force: true }, now)).toBeNull();
    expect(leftAloneFilter({ statuses: ['ERROR', 'CANCELLED'], force: false }, now)).toBeNull();
  });

  test('READY, due now, the claim and the lease removed (prio left)', () => {
    expect(resetUpdate(now)).toStrictEqual({ $set: { status: 'READY', due: now }, $unset: { claim: '', heartbeat: '', expires: '' } });
  });
});

test('counts: stale RUNNING, the range past now, the next due READY order', () => {
  expect(countsFilters(now)).toStrictEqual({
    stale: { status: 'RUNNING', expires: { $lt: now } },
    dueLater: { due: { $gt: now } },
    nextDue: { due: { $gt: now }, status: 'READY' },
  });
});

test('the READY order waiting longest: due by now; it waits since its due, never since before it was written (a migrated 1970 due, an --at in the past)', () => {
  expect(oldestReadyFilter(now)).toStrictEqual({ due: { $lte: now }, status: 'READY' });
  const id = ObjectId.createFromTime(+now / 1000 - 600);
  const written = new Date(+now - 600_000);
  expect(readySince({ _id: id, due: new Date(+now - 60_000) })).toStrictEqual(new Date(+now - 60_000));
  expect(readySince({ _id: id, due: longAgo() })).toStrictEqual(written);
  expect(readySince({ _id: id, due: new Date(+written - 1) })).toStrictEqual(written);
  expect(readySince({ _id: id })).toStrictEqual(written);
});

test('idsIn: a range of {status, _id} after a cursor', () => {
  expect(idsInFilter('DONE', undefined)).toStrictEqual({ status: 'DONE' });
  expect(idsInFilter('DONE', id)).toStrictEqual({ status: 'DONE', _id: { $gt: id } });
});

test('tail: RUNNING orders of others, one range of the claim index, the held ones left out', () => {
  // `due` bounded: an order without one (finished or CANCELLED, left at PRIO_RUNNING) sorts first in the claim index and would be read on every look.
  expect(othersRunningFilter([])).toStrictEqual({ prio: PRIO_RUNNING, due: { $gte: new Date(0) }, status: 'RUNNING' });
  expect(othersRunningFilter([id])).toStrictEqual({ prio: PRIO_RUNNING, due: { $gte: new Date(0) }, status: 'RUNNING', _id: { $nin: [id] } });
  expect(TAIL_LATEST_FIRST).toStrictEqual({ prio: 1, due: -1, _id: -1 });
});

describe('clean', () => {
  test('a state or everything, in _id ranges', () => {
    expect(cleanFilter()).toStrictEqual({});
    expect(cleanFilter('ERROR')).toStrictEqual({ status: 'ERROR' });
    expect(cleanRange({ status: 'ERROR' }, id)).toStrictEqual({ status: 'ERROR', _id: { $lte: id } });
    expect(cleanRange({ status: 'ERROR' })).toStrictEqual({ status: 'ERROR' });
  });

  test('--outputs: finished before a time (a state or DONE|ERROR), or one state', () => {
    expect(cleanOutputsFilter({ before: now })).toStrictEqual({ status: { $in: ['DONE', 'ERROR'] }, stop: { $lt: now } });
    expect(cleanOutputsFilter({ status: 'ERROR', before: now })).toStrictEqual({ status: 'ERROR', stop: { $lt: now } });
    expect(cleanOutputsFilter({ status: 'DONE' })).toStrictEqual({ status: 'DONE' });
  });

  test("--outputs' checkpoints: of these orders, only finished ones that name one; the field unset", () => {
    expect(dropFinishedCheckpointFilter([id])).toStrictEqual({ _id: { $in: [id] }, status: { $in: ['DONE', 'ERROR', 'CANCELLED'] }, checkpoint: { $exists: true } });
    expect(dropCheckpointUpdate()).toStrictEqual({ $unset: { checkpoint: '' } });
  });
});

describe('pipeline release', () => {
  test('now: fenced by WAITING, only orders without a later --at; READY due now, what it waited on removed', () => {
    expect(releaseNowFilter({ hold: id }, now)).toStrictEqual({ hold: id, status: 'WAITING', $or: [{ at: { $exists: false } }, { at: { $lte: now } }] });
    expect(releaseNowUpdate(now)).toStrictEqual({ $set: { status: 'READY', due: now }, $unset: { hold: '', wait: '', at: '' } });
  });

  test('later: the orders whose --at is ahead, each due at its --at (fenced by the at read: an edit --at meanwhile makes the write miss)', () => {
    expect(releaseLaterFilter({ _id: { $in: [id] }, wait: 1 }, now)).toStrictEqual({ _id: { $in: [id] }, wait: 1, status: 'WAITING', at: { $gt: now } });
    expect(releaseAt(id, at(5_000))).toStrictEqual({
      filter: { _id: id, status: 'WAITING', at: at(5_000) },
      update: { $set: { status: 'READY', due: at(5_000) }, $unset: { hold: '', wait: '', at: '' } },
    });
  });
});

test('a waiter registry document is written whole: $set all but _id, $unset what it lacks and settled', () => {
  const doc = { _id: 'i1', name: 'w1', seen: now, current: { order: 'x', arguments: ['a'] } } as unknown as WaiterDoc;
  expect(saveWaiterUpdate(doc)).toStrictEqual({ $set: { name: 'w1', seen: now, current: { order: 'x', arguments: ['a'] } }, $unset: { recording: '', settled: '' } });
});

test('every sort and index constant: its keys, in order (a sort means its key order)', () => {
  const sorts: [Record<string, 1 | -1>, Record<string, 1 | -1>, string[]][] = [
    [CLAIM_SORT, { prio: -1, due: 1, _id: 1 }, ['prio', 'due', '_id']],
    [DUE_SORT, { due: 1, _id: 1 }, ['due', '_id']],
    [STATUS_INDEX, { status: 1, _id: 1 }, ['status', '_id']],
    [ID_ORDER, { _id: 1 }, ['_id']],
    [TAIL_LATEST_FIRST, { prio: 1, due: -1, _id: -1 }, ['prio', 'due', '_id']],
    [RECENT_SORT, { stop: -1 }, ['stop']],
    [HOLD_ORDER, { hold: 1 }, ['hold']],
    [NEWEST_FIRST, { _id: -1 }, ['_id']],
  ];
  for (const [sort, literal, keys] of sorts) {
    expect(sort).toStrictEqual(literal);
    expect(Object.keys(sort)).toStrictEqual(keys);
  }
});

test('the constant filters and states', () => {
  expect(ACTIVE).toStrictEqual({ status: { $in: ['READY', 'RUNNING'] } });
  expect(ON_IDS).toStrictEqual({ wait: 1 });
  expect(HELD_FROM_WAITING).toStrictEqual({ status: 'HELD', 'held.from': 'WAITING' });
  expect(NOT_ENDED).toStrictEqual({ ended: null });
  expect(UNFINISHED).toStrictEqual(['ERROR', 'CANCELLED', 'READY', 'RUNNING', 'WAITING', 'HELD']);
  expect(FAILED).toStrictEqual(['ERROR', 'CANCELLED']);
  expect(UNFINISHED_ANY).toStrictEqual(['READY', 'RUNNING', 'WAITING', 'HELD']);
  expect(MIN_ID.toHexString()).toBe('000000000000000000000000');
});

test('one state; finished orders since a time; live waiters', () => {
  expect(inState('WAITING')).toStrictEqual({ status: 'WAITING' });
  expect(finishedFilter()).toStrictEqual({ status: { $in: ['DONE', 'ERROR'] } });
  expect(finishedFilter(now)).toStrictEqual({ status: { $in: ['DONE', 'ERROR'] }, stop: { $gte: now } });
  expect(liveFilter(now)).toStrictEqual({ ended: null, expires: { $gt: now } });
});

describe('pipeline checks', () => {
  const other = new ObjectId('6650f0000000000000000002');
  const ids = [id, other];

  test('orders by ids (a copy of the array: the caller may reuse its own), those held, those still on ids', () => {
    expect(byIdsFilter(ids)).toStrictEqual({ _id: { $in: [id, other] } });
    expect((byIdsFilter(ids)._id as { $in: ObjectId[] }).$in).not.toBe(ids);
    expect(heldOfFilter(ids)).toStrictEqual({ _id: { $in: [id, other] }, hold: { $exists: true } });
    expect(freeFilter(ids)).toStrictEqual({ _id: { $in: [id, other] }, wait: 1 });
  });

  test('a key still WAITING; the dependants of an order', () => {
    expect(waitingKeyFilter('k1')).toStrictEqual({ key: 'k1', status: 'WAITING' });
    expect(dependantsFilter(id)).toStrictEqual({ after: id, wait: 1 });
  });

  test('barriers: unfinished orders below one, the next one held, the orders it holds, one held between two', () => {
    expect(unfinishedBelow(other)).toStrictEqual({ status: { $in: ['ERROR', 'CANCELLED', 'READY', 'RUNNING', 'WAITING', 'HELD'] }, _id: { $lt: other } });
    expect(unfinishedBelow(other, UNFINISHED_ANY)).toStrictEqual({ status: { $in: ['READY', 'RUNNING', 'WAITING', 'HELD'] }, _id: { $lt: other } });
    expect(barrierAfter()).toStrictEqual({ hold: { $gte: MIN_ID } });
    expect(barrierAfter(id)).toStrictEqual({ hold: { $gt: id } });
    expect(heldBy(id)).toStrictEqual({ hold: id });
    expect(heldBetween(id, other)).toStrictEqual({ status: 'WAITING', _id: { $gt: id, $lt: other }, hold: id });
  });
});

test('the shared constants are frozen: a caller that changes one would change every later query', () => {
  const shared: object[] = [ACTIVE, ACTIVE.status as object, (ACTIVE.status as { $in: object }).$in, ON_IDS, HELD_FROM_WAITING, NOT_ENDED, UNFINISHED, UNFINISHED_ANY, FAILED];
  shared.push(EVERY, MIN_ID, CLAIM_SORT, DUE_SORT, STATUS_INDEX, ID_ORDER, TAIL_LATEST_FIRST, RECENT_SORT, HOLD_ORDER, NEWEST_FIRST);
  for (const [i, c] of shared.entries()) expect(Object.isFrozen(c), `constant ${i}: ${JSON.stringify(c)}`).toBe(true);
  // A Date cannot be frozen (setTime writes its internal slot): the long-ago time is made afresh per call.
  expect(longAgo()).toStrictEqual(new Date(0));
  expect(longAgo()).not.toBe(longAgo());
});

test('every document; one order by id; a header saved once under the hash of its names', () => {
  expect(EVERY).toStrictEqual({});
  expect(byIdFilter(id)).toStrictEqual({ _id: id });
  expect(columnsFilter('abc123')).toStrictEqual({ _id: 'abc123' });
  expect(saveColumnsUpdate(['a', 'b'])).toStrictEqual({ $setOnInsert: { names: ['a', 'b'] } });
});

// Steering (issue 26, src/kitchen/steer-plans.ts): what a selection selects, and what a cancel writes.
describe('steering plans', () => {
  const id2 = new ObjectId('6650f0000000000000000002');
  const cols = new Map([
    ['h1', ['city', 'n']],
    ['h2', ['n', 'city']],
  ]);

  test('a selection is the AND of its parts; nothing selected is refused by the callers, never "everything"', () => {
    expect(selects({})).toBe(false);
    expect(selects({ ids: [] })).toBe(false);
    expect(selects({ failedWith: 'x' })).toBe(true);
    expect(selectionFilter({ ids: [id, id2], status: 'READY' }, cols)).toStrictEqual({ _id: { $in: [id, id2] }, status: 'READY' });
    expect(selectionFilter({ where: [{ column: 2, value: 'x' }] }, cols)).toStrictEqual({ 'arguments.1': 'x' });
  });

  test('--where name=value: each header naming the column, at its own place; two names: $and of their $or', () => {
    expect(selectionFilter({ where: [{ column: 'city', value: 'rome' }] }, cols)).toStrictEqual({
      $or: [
        { columns: 'h1', 'arguments.0': 'rome' },
        { columns: 'h2', 'arguments.1': 'rome' },
      ],
    });
    expect(
      selectionFilter(
        {
          where: [
            { column: 'city', value: 'rome' },
            { column: 'n', value: '3' },
          ],
        },
        new Map([['h1', ['city', 'n']]]),
      ),
    ).toStrictEqual({ $and: [{ $or: [{ columns: 'h1', 'arguments.0': 'rome' }] }, { $or: [{ columns: 'h1', 'arguments.1': '3' }] }] });
    expect(() => selectionFilter({ where: [{ column: 'town', value: 'x' }] }, cols)).toThrow(/--where town: no column of this list is named so \(its columns: city, n;/);
  });

  test('--failed-with is literal: every regex character escaped', () => {
    expect(literalRegex('boom (a.b) [x]* $1 ^y+?{2}|\\')).toBe('boom \\(a\\.b\\) \\[x\\]\\* \\$1 \\^y\\+\\?\\{2\\}\\|\\\\');
    expect(selectionFilter({ failedWith: 'a.b' }, cols)).toStrictEqual({ error: { $regex: 'a\\.b' } });
    expect(new RegExp(literalRegex('a.b (c)')).test('x a.b (c) y')).toBe(true);
    expect(new RegExp(literalRegex('a.b')).test('aXb')).toBe(false);
  });

  test('inStates: the status goes into the filter (index {status:1,_id:1}); a selection of another state selects nothing', () => {
    expect(inStates({ _id: id }, ['READY', 'WAITING'])).toStrictEqual({ _id: id, status: { $in: ['READY', 'WAITING'] } });
    expect(inStates({ _id: id }, ['RUNNING'])).toStrictEqual({ _id: id, status: 'RUNNING' });
    expect(inStates({ status: 'READY' }, ['READY', 'WAITING'])).toStrictEqual({ status: 'READY' });
    expect(inStates({ status: 'RUNNING' }, ['READY', 'WAITING'])).toBeNull();
  });

  test('cancel of orders not running (HELD too): CANCELLED with who, no due (never claimed), no wait/hold (no release reads it), no longer held, in one update', () => {
    const s = { by: 'alice@box', at: now, reason: 'wrong' };
    expect(IDLE.CANCELLED).toStrictEqual(['READY', 'WAITING', 'HELD']);
    expect(cancelUpdate(s)).toStrictEqual({
      $set: { status: 'CANCELLED', cancelled: { by: 'alice@box', at: now, reason: 'wrong' } },
      $unset: { due: '', wait: '', hold: '', held: '', claim: '', heartbeat: '', expires: '' },
    });
  });

  test('cancel of a RUNNING order: fenced by the claim read, its attempt CANCELLED in history (capped, with where it had got to), prio back to its priority', () => {
    const old: Attempt[] = Array.from({ length: HISTORY_LIMIT }, (_, i) => ({ attempt: i, waiter: 'w0', start: at(-1000), stop: at(-900), result: 'ERROR' }));
    const o = { _id: id, status: 'RUNNING' as const, claim: 'tok', attempts: 21, waiter: 'w1', start: at(-5000), history: old, priority: 7, progress: { percent: 30 } };
    const s = { by: 'api 10.0.0.7', at: now };
    const u = stopRunningUpdate(o, s, 'CANCELLED');
    const attempt: Attempt = { attempt: 21, waiter: 'w1', start: at(-5000), stop: now, result: 'CANCELLED', by: 'api 10.0.0.7', progress: { percent: 30 } };
    expect(u).toStrictEqual({
      $set: { status: 'CANCELLED', cancelled: s, stop: now, prio: 7, history: [...old.slice(1), attempt] },
      $unset: { claim: '', due: '', expires: '', heartbeat: '' },
    });
    // The same fence as the waiter's own finish: whichever lands first, the other matches nothing.
    expect(fence(id, 'tok')).toStrictEqual({ _id: id, claim: 'tok', status: 'RUNNING' });
    expect(RUNNING_READ).toStrictEqual({
      _id: 1,
      status: 1,
      claim: 1,
      attempts: 1,
      waiter: 1,
      start: 1,
      heartbeat: 1,
      expires: 1,
      history: 1,
      priority: 1,
      progress: 1,
      resumed: 1,
    });
  });

  test('cancel of a stale RUNNING order (lease ended before the cancel): its attempt LOST at its last heartbeat, no CANCELLED line', () => {
    const o = { _id: id, status: 'RUNNING' as const, claim: 'tok', attempts: 2, waiter: 'w1', start: at(-9000), heartbeat: at(-8000), expires: at(-1), history: [] };
    const s = { by: 'alice@box', at: now };
    const lost: Attempt = { attempt: 2, waiter: 'w1', start: at(-9000), stop: at(-8000), result: 'LOST', error: `lost: no heartbeat from w1 since ${at(-8000).toISOString()}` };
    expect(stopRunningUpdate(o, s, 'CANCELLED')).toStrictEqual({
      $set: { status: 'CANCELLED', cancelled: s, stop: now, prio: 0, history: [lost] },
      $unset: { claim: '', due: '', expires: '', heartbeat: '' },
    });
    // Stale means ended strictly before the cancel.
    expect((stopRunningUpdate({ ...o, expires: now }, s, 'CANCELLED').$set as { history: Attempt[] }).history[0]!.result).toBe('CANCELLED');
  });

  test('takeoverLost: the LOST line a takeover has not written yet; none when history has it or the claim changed by a reset', () => {
    const before = { _id: id, status: 'RUNNING' as const, claim: 'a', attempts: 1, waiter: 'w1', start: at(-9000), heartbeat: at(-8000), expires: at(-5000), history: [] };
    const taker = { ...before, claim: 'b', attempts: 2, waiter: 'w2', start: at(-100), heartbeat: at(-100), expires: at(60_000) };
    expect(takeoverLost(before, taker)).toStrictEqual({
      attempt: 1,
      waiter: 'w1',
      start: at(-9000),
      stop: at(-8000),
      result: 'LOST',
      error: `lost: no heartbeat from w1 since ${at(-8000).toISOString()}`,
    });
    expect(takeoverLost(before, { ...taker, history: [takeoverLost(before, taker)!] })).toBeUndefined();
    // Its lease still live at the new claim: reset --force, then claimed afresh (no loss).
    expect(takeoverLost({ ...before, expires: at(1000) }, taker)).toBeUndefined();
    expect(takeoverLost(before, { ...taker, status: 'DONE' })).toBeUndefined();
  });

  test('cancelledBy: the selection read back as this cancel left it (its own status replaced, its stamp), a page after the last id', () => {
    const s = { by: 'alice@box', at: now };
    expect(cancelledBy({ status: 'READY' }, s)).toStrictEqual({ status: 'CANCELLED', 'cancelled.at': now, 'cancelled.by': 'alice@box' });
    expect(cancelledBy({ _id: { $in: [id, id2] } }, s, id)).toStrictEqual({
      _id: { $in: [id, id2], $gt: id },
      status: 'CANCELLED',
      'cancelled.at': now,
      'cancelled.by': 'alice@box',
    });
    expect(cancelledBy({ 'arguments.0': 'x' }, s, id)).toStrictEqual({
      'arguments.0': 'x',
      status: 'CANCELLED',
      'cancelled.at': now,
      'cancelled.by': 'alice@box',
      _id: { $gt: id },
    });
  });

  test('reset --status CANCELLED: what waited on others waits again (its barrier as hold), the rest READY, due now; no longer cancelled', () => {
    expect(barriersIn(CANCELLED_ORDERS)).toStrictEqual({ status: 'CANCELLED', barrier: { $exists: true } });
    expect(barrierBack(CANCELLED_ORDERS, id)).toStrictEqual({ filter: { status: 'CANCELLED', barrier: id }, update: { $set: { hold: id } } });
    expect(uncancelSteps(now)).toStrictEqual([
      { filter: { status: 'CANCELLED', after: { $exists: true } }, update: { $set: { status: 'WAITING', wait: 1 }, $unset: { cancelled: '' } } },
      { filter: { status: 'CANCELLED', hold: { $exists: true } }, update: { $set: { status: 'WAITING' }, $unset: { cancelled: '' } } },
      { filter: { status: 'CANCELLED' }, update: { $set: { status: 'READY', due: now }, $unset: { cancelled: '' } } },
    ]);
  });

  test('--with-dependants: WAITING on the ids (not --after-any), or behind a barrier above the lowest of them', () => {
    expect(waitingOnFilter([id2, id])).toStrictEqual({
      status: 'WAITING',
      $or: [{ after: { $in: [id2, id] }, wait: 1, any: { $exists: false } }, { hold: { $gt: id } }],
    });
  });

  test('--with-dependants: HELD from WAITING on the ids (not --after-any), or on a barrier above the lowest of them (sorting above it)', () => {
    const held = { status: 'HELD', 'held.from': 'WAITING' };
    expect(heldOnFilter([id2, id])).toStrictEqual({
      $or: [
        { ...held, after: { $in: [id2, id] }, any: { $exists: false } },
        { ...held, _id: { $gt: id }, barrier: { $gt: id } },
      ],
    });
  });

  test('a heartbeat that matched nothing reads only the status and who cancelled or held', () => {
    expect(LEASE_READ).toStrictEqual({ _id: 0, status: 1, cancelled: 1, held: 1 });
  });
});

describe('hold and release plans', () => {
  const s = { by: 'alice@box', at: now, reason: 'look first' };

  test('hold of orders not running: one update per state held from; READY renames due to at (its due once released), no wait/hold, no claim', () => {
    expect(HELD_FROM).toStrictEqual(['READY', 'WAITING']);
    expect(IDLE.HELD).toBe(HELD_FROM);
    expect(holdUpdate(s, 'READY')).toStrictEqual({
      $set: { status: 'HELD', held: { by: 'alice@box', at: now, reason: 'look first', from: 'READY' } },
      $rename: { due: 'at' },
      $unset: { claim: '', heartbeat: '', expires: '', wait: '', hold: '', released: '' },
    });
    expect(holdUpdate(s, 'WAITING')).toStrictEqual({
      $set: { status: 'HELD', held: { by: 'alice@box', at: now, reason: 'look first', from: 'WAITING' } },
      $unset: { claim: '', heartbeat: '', expires: '', wait: '', hold: '', released: '', due: '' },
    });
  });

  test('hold of a RUNNING order: fenced like a cancel, its attempt HELD and given back (uncounted +1, its number kept), released READY; a stale one LOST and counted', () => {
    const o = {
      _id: id,
      status: 'RUNNING' as const,
      claim: 'tok',
      attempts: 3,
      waiter: 'w1',
      start: at(-5000),
      heartbeat: at(-1000),
      expires: at(60_000),
      history: [],
      priority: 7,
    };
    expect(stopRunningUpdate(o, s, 'HELD')).toStrictEqual({
      $set: {
        status: 'HELD',
        held: { by: 'alice@box', at: now, reason: 'look first', from: 'READY' },
        prio: 7,
        history: [{ attempt: 3, waiter: 'w1', start: at(-5000), stop: now, result: 'HELD', by: 'alice@box' }],
      },
      $unset: { claim: '', due: '', expires: '', heartbeat: '', released: '' },
      $inc: { uncounted: 1 },
    });
    const stale = stopRunningUpdate({ ...o, expires: at(-1) }, s, 'HELD');
    expect(stale.$inc).toBeUndefined();
    expect((stale.$set as { history: Attempt[] }).history.map((h) => h.result)).toStrictEqual(['LOST']);
  });

  test('release: what was held from WAITING waits again (its barrier as hold, wait 1 on ids), the rest READY at its at when later, else now', () => {
    const held = { _id: { $in: [id] }, status: 'HELD' as const };
    expect(heldFromWaiting(held)).toStrictEqual({ _id: { $in: [id] }, status: 'HELD', 'held.from': 'WAITING' });
    expect(barrierBack(heldFromWaiting(held), id)).toStrictEqual({
      filter: { _id: { $in: [id] }, status: 'HELD', 'held.from': 'WAITING', barrier: id },
      update: { $set: { hold: id } },
    });
    const done = { $set: { released: s }, $unset: { held: '' } };
    expect(releaseSteps(held, s, now)).toStrictEqual({
      waiting: [
        { filter: { ...heldFromWaiting(held), after: { $exists: true } }, update: { $set: { status: 'WAITING', wait: 1, ...done.$set }, $unset: done.$unset } },
        { filter: { ...heldFromWaiting(held), hold: { $exists: true } }, update: { $set: { status: 'WAITING', ...done.$set }, $unset: done.$unset } },
      ],
      ready: [
        { filter: { ...held, at: { $gt: now } }, update: { $set: { status: 'READY', released: s }, $rename: { at: 'due' }, $unset: { held: '' } } },
        { filter: held, update: { $set: { status: 'READY', due: now, released: s }, $unset: { held: '', at: '' } } },
      ],
    });
  });
});
