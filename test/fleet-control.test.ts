// The fleet's steering queries (src/kitchen/control.ts) on the real server: the registry
// write returns the document after with what others set on it, in one round trip; the
// list's pause is atomic (a second pause says so); a pause and a resume racing leave the
// copies as the control document says; a starting waiter joins a pause it read; stop
// writes only on live waiters of its target. Counted as the driver's commands.
import { MongoClient, type Collection, type Document } from 'mongodb';
import { afterAll, expect, inject, test } from 'vitest';
import { stopWaiters, type StopTarget } from '../src/app/stop.js';
import { UsageError } from '../src/errors.js';
import { ControlQueries } from '../src/kitchen/control.js';
import { FleetQueries } from '../src/kitchen/fleet.js';
import type { ControlDoc, WaiterDoc } from '../src/fleet.js';
import type { Order } from '../src/order.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const client = new MongoClient(inject('mongodbUri'), { monitorCommands: true });
const sent: Document[] = [];
client.on('commandStarted', (e) => {
  if (!['hello', 'isMaster', 'ping', 'endSessions'].includes(e.commandName)) sent.push({ name: e.commandName });
});
afterAll(() => client.close());

const rooms = () => {
  const db = client.db(k.name);
  const waiters = db.collection<WaiterDoc>('orders.waiters');
  return { fleet: new FleetQueries(db.collection<Order>('orders'), waiters), control: new ControlQueries(db.collection<ControlDoc>('orders.control'), waiters) };
};

const doc = (id: string, over: Partial<WaiterDoc> = {}): WaiterDoc => {
  const now = new Date();
  return {
    _id: id,
    name: id,
    host: 'h',
    pid: 1,
    command: ['x'],
    concurrency: 1,
    lease: 60_000,
    heartbeat: 10_000,
    started: now,
    seen: now,
    expires: new Date(+now + 60_000),
    running: [],
    delivered: 0,
    failed: 0,
    ...over,
  };
};

test('the registry write is one findAndModify that upserts, keeps what others set and returns it', async () => {
  const { fleet, control } = rooms();
  sent.length = 0;
  const first = await fleet.saveWaiter(doc('a'));
  expect(sent.map((c) => c.name)).toEqual(['findAndModify']);
  expect(first.created).toBe(true);
  expect(first.doc).toMatchObject({ _id: 'a', name: 'a', delivered: 0 });
  expect(first.doc!.paused).toBeUndefined();
  await control.pauseList({ by: 'alice@laptop', at: new Date(1000), reason: 'deploy' });
  expect(await control.askToStop({ name: 'a' }, { by: 'bob@box', at: new Date(2000), now: true })).toBe(1);
  sent.length = 0;
  const after = await fleet.saveWaiter(doc('a', { delivered: 5 }));
  expect(sent.map((c) => c.name)).toEqual(['findAndModify']);
  expect(after.created).toBe(false);
  expect(after.doc).toMatchObject({ delivered: 5, paused: { by: 'alice@laptop', at: new Date(1000), reason: 'deploy' }, stop: { by: 'bob@box', now: true } });
});

test('pause is atomic: the second says already, with the first one; resume lifts it from the list and every waiter, once', async () => {
  const { fleet, control } = rooms();
  await fleet.saveWaiter(doc('a'));
  await fleet.saveWaiter(doc('gone', { ended: new Date(), reason: 'empty list' }));
  expect(await control.paused()).toBeNull();
  const p = { by: 'alice@laptop', at: new Date(1000) };
  expect(await control.pauseList(p)).toEqual({ paused: p, already: false });
  expect(await control.pauseList({ by: 'bob@box', at: new Date(2000) })).toEqual({ paused: p, already: true });
  expect(await control.paused()).toEqual(p);
  const w = k.db.collection<WaiterDoc>('orders.waiters');
  expect((await w.findOne({ _id: 'a' }))!.paused).toEqual(p);
  // An ended waiter is not paused: it will never claim again.
  expect((await w.findOne({ _id: 'gone' }))!.paused).toBeUndefined();
  expect(await control.resumeList()).toEqual(p);
  expect(await control.paused()).toBeNull();
  expect((await w.findOne({ _id: 'a' }))!.paused).toBeUndefined();
  expect(await control.resumeList()).toBeNull();
});

test('a starting waiter joins the pause it reads (its own copy), and nothing when the list is not paused', async () => {
  const { fleet, control } = rooms();
  await fleet.saveWaiter(doc('a'));
  sent.length = 0;
  expect(await control.joinPause('a')).toBeNull();
  expect(sent.map((c) => c.name)).toEqual(['find']);
  await control.pauseList({ by: 'alice@laptop', at: new Date(1000) });
  await fleet.saveWaiter(doc('late'));
  expect(await control.joinPause('late')).toMatchObject({ by: 'alice@laptop' });
  expect((await fleet.saveWaiter(doc('late'))).doc!.paused).toMatchObject({ by: 'alice@laptop' });
});

test('stop asks only live waiters of its target; none: nothing written', async () => {
  const { fleet, control } = rooms();
  const now = new Date();
  await fleet.saveWaiter(doc('a', { host: 'h1' }));
  await fleet.saveWaiter(doc('b', { host: 'h2' }));
  await fleet.saveWaiter(doc('stale', { host: 'h1', seen: new Date(+now - 120_000), expires: new Date(+now - 60_000) }));
  await fleet.saveWaiter(doc('ended', { host: 'h1', ended: now }));
  const s = { by: 'alice@laptop', at: now, now: false };
  expect(await control.askToStop({ name: 'stale' }, s)).toBe(0);
  expect(await control.askToStop({ name: 'nobody' }, s)).toBe(0);
  expect(await control.askToStop({ host: 'h1' }, s)).toBe(1);
  const w = k.db.collection<WaiterDoc>('orders.waiters');
  expect((await w.find({ stop: { $exists: true } }).toArray()).map((d) => d._id)).toEqual(['a']);
  expect(await control.askToStop({ all: true }, s)).toBe(2);
});

/** The registry collection, with `first` run before the first updateMany sent through it: another command slipped in between. */
function racedBy(first: () => Promise<unknown>): Collection<WaiterDoc> {
  const w = client.db(k.name).collection<WaiterDoc>('orders.waiters');
  let raced = false;
  return new Proxy(w, {
    get(t, key) {
      if (key !== 'updateMany') return Reflect.get(t, key, t) as unknown;
      return async (...args: Parameters<Collection<WaiterDoc>['updateMany']>) => {
        if (!raced) await first();
        raced = true;
        return t.updateMany(...args);
      };
    },
  });
}

const controlOf = (waiters: Collection<WaiterDoc>) => new ControlQueries(client.db(k.name).collection<ControlDoc>('orders.control'), waiters);

test('pause and resume racing: the copies end as the control document says, whichever comes last', async () => {
  const { fleet, control } = rooms();
  const w = k.db.collection<WaiterDoc>('orders.waiters');
  await fleet.saveWaiter(doc('a'));
  const p = { by: 'alice@laptop', at: new Date(1000) };
  // Pause writes the control document; a whole resume runs (control, then copies); then pause's copy.
  expect(await controlOf(racedBy(() => control.resumeList())).pauseList(p)).toEqual({ paused: p, already: false });
  expect(await control.paused()).toBeNull();
  expect((await w.findOne({ _id: 'a' }))!.paused).toBeUndefined();
  // The reverse: resume lifts the control document; a whole pause runs; then resume's removal of the copies.
  await control.pauseList(p);
  const q = { by: 'bob@box', at: new Date(2000) };
  expect(await controlOf(racedBy(() => control.pauseList(q))).resumeList()).toEqual(p);
  expect(await control.paused()).toEqual(q);
  expect((await w.findOne({ _id: 'a' }))!.paused).toEqual(q);
});

test('stop of a waiter STALE or ended: says what it found, a UsageError (exit 2, 400), nothing written', async () => {
  const { fleet, control } = rooms();
  const now = new Date();
  const seen = new Date(+now - 120_000);
  const ended = new Date(+now - 30_000);
  await fleet.saveWaiter(doc('s1', { name: 'stale', host: 'h1', seen, expires: new Date(+seen + 60_000) }));
  await fleet.saveWaiter(doc('e0', { name: 'ended', host: 'h2', started: new Date(+now - 90_000), ended: new Date(+now - 80_000), reason: 'signal SIGTERM' }));
  await fleet.saveWaiter(doc('e1', { name: 'ended', host: 'h2', ended, reason: 'empty list' }));
  const stop = (target: StopTarget) => stopWaiters({ fleet, control }, { target, now: false, by: 'alice@laptop' }, now);
  await expect(stop({ name: 'stale' })).rejects.toThrow(new UsageError(`waiter 'stale' is STALE (not seen since ${seen.toISOString()}): nothing to stop`));
  await expect(stop({ name: 'ended' })).rejects.toThrow(new UsageError(`waiter 'ended' exited at ${ended.toISOString()} (empty list): nothing to stop`));
  await expect(stop({ name: 'nobody' })).rejects.toThrow(new UsageError("no live waiter named 'nobody' (waiter waiters lists them)"));
  await expect(stop({ host: 'h2' })).rejects.toThrow(new UsageError("no live waiter on host 'h2' (2 exited; waiter waiters --all lists them)"));
  await expect(stop({ host: 'h1' })).rejects.toThrow(new UsageError("no live waiter on host 'h1' (1 STALE; waiter waiters --all lists them)"));
  await expect(stop({ all: true })).rejects.toThrow(UsageError);
  expect(await k.db.collection<WaiterDoc>('orders.waiters').countDocuments({ stop: { $exists: true } })).toBe(0);
});
