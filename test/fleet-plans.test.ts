// The plans of the fleet's steering (src/kitchen/fleet-plans.ts), without a server: the
// control document, the pause copied onto waiters, the stop request on live waiters.
import { describe, expect, test } from 'vitest';
import {
  CONTROL,
  PAUSED_WAITERS,
  RESUME_LIST,
  RESUME_WAITERS,
  ownFilter,
  pauseListFilter,
  pauseListUpdate,
  pauseWaitersFilter,
  pauseWaitersUpdate,
  resumeListFilter,
  stopFilter,
  stopUpdate,
} from '../src/kitchen/fleet-plans.js';
import { saveWaiterUpdate } from '../src/kitchen/plans.js';
import type { WaiterDoc } from '../src/fleet.js';

const now = new Date('2024-05-01T12:00:00.000Z');
const p = { by: 'alice@laptop', at: now, reason: 'deploy' };

describe('the list', () => {
  test('its control document is one per list, by _id', () => {
    expect(CONTROL).toStrictEqual({ _id: 'list' });
  });
  test('pause: only a list not paused (the upsert of a paused one is a duplicate key: "already")', () => {
    expect(pauseListFilter()).toStrictEqual({ _id: 'list', paused: { $exists: false } });
    expect(pauseListUpdate(p)).toStrictEqual({ $set: { paused: p } });
  });
  test('resume: only a paused list, the pause removed', () => {
    expect(resumeListFilter()).toStrictEqual({ _id: 'list', paused: { $exists: true } });
    expect(RESUME_LIST).toStrictEqual({ $unset: { paused: '' } });
  });
});

describe('the waiters', () => {
  test('the pause goes on every waiter not ended (one range of {ended, expires}) that has none', () => {
    expect(pauseWaitersFilter()).toStrictEqual({ ended: null, paused: { $exists: false } });
    expect(pauseWaitersUpdate(p)).toStrictEqual({ $set: { paused: p } });
  });
  test('resume takes it off every waiter that has it', () => {
    expect(PAUSED_WAITERS).toStrictEqual({ paused: { $exists: true } });
    expect(RESUME_WAITERS).toStrictEqual({ $unset: { paused: '' } });
    expect(ownFilter('w-1')).toStrictEqual({ _id: 'w-1' });
  });
  test('stop: live waiters (not ended, within their lease) of one name, one host, or all', () => {
    const live = { ended: null, expires: { $gt: now } };
    expect(stopFilter({ name: 'gpu-1' }, now)).toStrictEqual({ ...live, name: 'gpu-1' });
    expect(stopFilter({ host: 'box' }, now)).toStrictEqual({ ...live, host: 'box' });
    expect(stopFilter({ all: true }, now)).toStrictEqual(live);
    const s = { by: 'alice@laptop', at: now, now: true };
    expect(stopUpdate(s)).toStrictEqual({ $set: { stop: s } });
  });
  test("the registry's own write never touches what others set on it (paused, stop)", () => {
    const doc = {
      _id: 'w',
      name: 'w',
      host: 'h',
      pid: 1,
      command: [],
      concurrency: 1,
      lease: 1,
      heartbeat: 1,
      started: now,
      seen: now,
      expires: now,
      running: [],
      delivered: 0,
      failed: 0,
    } as WaiterDoc;
    const u = saveWaiterUpdate(doc) as { $set: object; $unset: object };
    expect(Object.keys(u.$set)).not.toContain('paused');
    expect(Object.keys(u.$set)).not.toContain('stop');
    expect(Object.keys(u.$unset)).not.toContain('paused');
    expect(Object.keys(u.$unset)).not.toContain('stop');
  });
});
