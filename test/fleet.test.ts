// The fleet view's pure parts: a waiter's state from its document, the median, the
// ETA, spans; the registry's writes (timer, not orders); the loop's end reasons.
import { describe, expect, test } from 'vitest';
import { cutArguments, median, span, waiterState, type WaiterDoc } from '../src/fleet.js';
import { deliver, type DeliverDeps, type DeliverOptions } from '../src/deliver/loop.js';
import { Registry } from '../src/deliver/registry.js';
import { Shutdown } from '../src/deliver/shutdown.js';
import { until } from './support/cli.js';
import yargs from 'yargs';
import { builder as statusBuilder, DEFAULT_WATCH_MS, oneLine, options as statusOptions, render } from '../src/commands/status.js';
import type { StatusReport } from '../src/app/status.js';
import { FakeKitchen } from './support/fake-kitchen.js';
import { loopOptions as options, sink } from './support/loop.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s));

describe('waiterState', () => {
  const w = { seen: at(0), lease: 2000, running: [] as string[] };
  test('IDLE when alive with no orders, PROCESSING with some', () => {
    expect(waiterState(w, at(1))).toBe('IDLE');
    expect(waiterState({ ...w, running: ['a'] }, at(1))).toBe('PROCESSING');
  });
  test('STALE once not seen for longer than its lease, whatever it was running', () => {
    expect(waiterState({ ...w, running: ['a'] }, at(2))).toBe('PROCESSING'); // exactly the lease: still alive
    expect(waiterState({ ...w, running: ['a'] }, new Date(+at(2) + 1))).toBe('STALE');
    expect(waiterState(w, at(60))).toBe('STALE');
  });
  test('EXITED once ended, even long after', () => {
    expect(waiterState({ ...w, ended: at(0) }, at(3600))).toBe('EXITED');
  });
});

test('median and spans', () => {
  expect(median([])).toBeNull();
  expect(median([5, 1, 3])).toBe(3);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect([850, 4200, 42_000, 185_000, 7_620_000, 3 * 86_400_000 + 4 * 3_600_000].map(span)).toEqual(['850ms', '4.2s', '42s', '3m05s', '2h07m', '3d04h']);
});

test('cutArguments keeps about 200 characters in all', () => {
  expect(cutArguments(['a', 'b'])).toEqual(['a', 'b']);
  const cut = cutArguments(['x'.repeat(150), 'y'.repeat(100), 'z']);
  expect(cut).toEqual(['x'.repeat(150), `${'y'.repeat(50)}…`, '…']);
});

describe('status --watch [interval]', () => {
  const parse = (args: string[]) => statusOptions(statusBuilder(yargs()).parseSync(args));
  test('a bare --watch refreshes every 2 s; an interval is a duration; none means no watching', () => {
    expect(DEFAULT_WATCH_MS).toBe(2000);
    expect(parse(['--watch']).watchMs).toBe(2000);
    expect(parse(['--watch', '500ms']).watchMs).toBe(500);
    expect(parse(['--watch', '1m']).watchMs).toBe(60_000);
    expect(parse([]).watchMs).toBeUndefined();
  });
});

describe('status rendering', () => {
  const r: StatusReport = {
    READY: 120,
    RUNNING: 4,
    DONE: 70,
    ERROR: 2,
    WAITING: 0,
    CANCELLED: 0,
    HELD: 0,
    waitingOnFailed: 0,
    heldOnFailed: 0,
    total: 196,
    stale: 1,
    notYetDue: 0,
    nextDue: null,
    oldestReadySeconds: 90,
    pace1m: 12,
    pace10m: 7.2,
    medianRunSeconds: 4.25,
    waiters: 4,
    slots: 4,
    backlog: 121,
    backlogPerWaiter: 30.25,
    etaSeconds: 600,
    eta: '2026-01-01T12:10:00.000Z',
    etaReason: null,
    etaPace: 12,
    asOf: '2026-01-01T12:00:00.000Z',
  };
  test('counts, then pace, median, waiters and ETA', () => {
    expect(render(r)).toEqual([
      'READY    120',
      'RUNNING    4  (1 stale)',
      'DONE      70',
      'ERROR      2',
      'total    196',
      '',
      'pace     12/min over the last minute, 7.2/min over 10 minutes',
      'median   4.3s per order (the last 300 finished)',
      'waiters  4 live',
      'ETA      10m00s (2026-01-01T12:10:00Z) at 12/min',
    ]);
  });
  test('READY orders not yet due are counted with the soonest due time', () => {
    expect(render({ ...r, notYetDue: 3, nextDue: '2026-01-01T13:00:00.000Z' })[0]).toBe('READY    120  (3 not yet due, the next at 2026-01-01T13:00:00.000Z)');
    expect(oneLine({ ...r, notYetDue: 3, nextDue: '2026-01-01T13:00:00.000Z' }, at(0))).toContain(' stale 1 notYetDue 3 nextDue 2026-01-01T13:00:00.000Z |');
    // Left out of the ETA, and it says so.
    expect(render({ ...r, notYetDue: 3, nextDue: '2026-01-01T13:00:00.000Z' }).at(-1)).toBe('ETA      10m00s (2026-01-01T12:10:00Z) at 12/min; 3 not yet due not counted');
  });
  test('WAITING orders (pipelines) are left out of the ETA, and it says so', () => {
    expect(render({ ...r, WAITING: 7, waitingOnFailed: 2 }).at(-1)).toBe('ETA      10m00s (2026-01-01T12:10:00Z) at 12/min; 7 WAITING not counted');
    expect(render({ ...r, WAITING: 7, notYetDue: 3, nextDue: '2026-01-01T13:00:00.000Z' }).at(-1)).toBe(
      'ETA      10m00s (2026-01-01T12:10:00Z) at 12/min; 3 not yet due, 7 WAITING not counted',
    );
    expect(oneLine({ ...r, WAITING: 7 }, at(0))).toMatch(/ETA 10m00s \(2026-01-01T12:10:00Z\) at 12\/min; 7 WAITING not counted$/);
  });
  test('without a pace there is no ETA, and it says why', () => {
    const none = { ...r, pace1m: 0, pace10m: 0, etaSeconds: null, eta: null, etaPace: null, etaReason: 'no finished orders in the last 10 minutes' };
    expect(render(none).at(-1)).toBe('ETA      no finished orders in the last 10 minutes');
    expect(oneLine(none, at(0))).toBe(
      '2026-01-01T12:00:00.000Z READY 120 RUNNING 4 DONE 70 ERROR 2 total 196 stale 1 | pace 0/min (1m) 0/min (10m) | median 4.3s | waiters 4 | ETA no finished orders in the last 10 minutes',
    );
  });
});

// ---- the registry and the loop -------------------------------------------------

/** A list of `n` orders whose commands end when released; every kitchen call logged in order. */
function fakeWorld(n: number) {
  const list = new FakeKitchen(Array.from({ length: n }, (_, i) => `arg${n - 1 - i}`));
  const { calls, saved } = list;
  const releases: (() => void)[] = [];
  const kitchen = list.kitchen();
  const start: DeliverDeps['start'] = () => ({
    outcome: new Promise((resolve) => releases.push(() => resolve({ exitCode: 0, output: '' }))),
    terminate: () => undefined,
  });
  return { calls, saved, releases, kitchen, start };
}

function depsOf(w: ReturnType<typeof fakeWorld>, registry: Registry, shutdown = new Shutdown()): DeliverDeps {
  return { kitchen: w.kitchen, start: w.start, stdout: sink(), stderr: sink(), log: () => undefined, shutdown, registry };
}

const info = (heartbeatMs: number) => ({ name: 'w', command: ['job'], concurrency: 1, leaseMs: 60_000, heartbeatMs });

test('the registry is written at start and at exit, never per order (its timer is its only other writer)', async () => {
  const w = fakeWorld(20);
  w.releases.push = function (this: (() => void)[], f: () => void) {
    f(); // every command ends at once
    return this.length;
  };
  const registry = new Registry(w.kitchen, info(60_000), () => undefined, 'box', 42);
  const r = await deliver(options(), depsOf(w, registry));
  expect(r.delivered).toBe(20);
  expect(w.calls.filter((c) => c.startsWith('registry'))).toEqual(['registry', 'registry-end']);
  expect(w.calls.at(-1)).toBe('registry-end');
  const last = w.saved.at(-1)!;
  expect(last).toMatchObject({ _id: registry.id, name: 'w', host: 'box', pid: 42, delivered: 20, failed: 0, running: [], reason: 'empty list' });
  expect(last.ended).toBeInstanceOf(Date);
});

test('idle<->busy changes are written within a second, without waiting for the heartbeat; a steady stream of orders writes nothing more', async () => {
  const saved: WaiterDoc[] = [];
  const kitchen = { saveWaiter: async (d: WaiterDoc) => void saved.push(d) };
  const registry = new Registry(kitchen, { ...info(60_000), concurrency: 2 }, () => undefined);
  const view = { running: [] as { id: string; arguments: string[] }[], delivered: 0, failed: 0 };
  void registry.start(() => view);
  await until(() => saved.length === 1, 2000, 'the first write');
  expect(saved[0]!.running).toEqual([]);
  const since = (n: number) => saved.slice(n);

  // The first claim: PROCESSING with its order as NOW, long before a heartbeat.
  let t = Date.now();
  view.running = [{ id: 'a', arguments: ['img-1'] }];
  const busy = await until(() => since(1).find((d) => d.running.length === 1), 2000, 'the busy write');
  expect(Date.now() - t).toBeLessThan(1000);
  expect(busy.current).toEqual({ order: 'a', arguments: ['img-1'] });
  // A second slot's claim: RUNNING 2.
  view.running = [...view.running, { id: 'b', arguments: ['img-2'] }];
  await until(() => since(2).find((d) => d.running.length === 2), 2000, 'the write of two running');

  // Steady state: orders end and the slots claim the next; for an instant none runs.
  const before = saved.length;
  const stream = setInterval(() => {
    view.delivered++;
    view.running = view.running.length ? [] : [{ id: `o${view.delivered}`, arguments: [] }];
  }, 5);
  await new Promise((r) => setTimeout(r, 1500));
  clearInterval(stream);
  view.running = [
    { id: 'z', arguments: [] },
    { id: 'y', arguments: [] },
  ];
  expect(saved.length - before).toBe(0);

  // The list runs dry: IDLE within a second.
  t = Date.now();
  view.running = [];
  const idle = await until(() => since(before).find((d) => d.running.length === 0), 2000, 'the idle write');
  expect(Date.now() - t).toBeLessThan(1000);
  expect(idle.current).toBeUndefined();
  await registry.end('empty list');
});

test('the heartbeat timer writes what runs now, busy or idle', async () => {
  const w = fakeWorld(1);
  const registry = new Registry(w.kitchen, info(30), () => undefined);
  const done = deliver(options(), depsOf(w, registry));
  const busy = await until(() => w.saved.find((d) => d.running.length === 1), 5000, 'a beat with the running order');
  expect(busy.current?.arguments).toEqual(['arg0']);
  expect(+busy.expires - +busy.seen).toBe(60_000);
  w.releases[0]!();
  await done;
  expect(w.saved.at(-1)).toMatchObject({ running: [], delivered: 1, reason: 'empty list' });
  expect(w.saved.at(-1)!.current).toBeUndefined();
});

test('an idle --wait waiter keeps beating past its lease: running [], not ended, seen after its last order', async () => {
  const w = fakeWorld(1);
  const lease = 300;
  const registry = new Registry(w.kitchen, { ...info(30), leaseMs: lease }, () => undefined);
  const shutdown = new Shutdown();
  const done = deliver(options({ wait: true, pollMs: 50 }), depsOf(w, registry, shutdown));
  await until(() => w.releases.length === 1, 5000, 'the order to run');
  w.releases[0]!();
  await until(() => w.saved.some((d) => d.delivered === 1), 5000, 'a beat after the order');
  const finished = Date.now();
  // More than a lease later, with nothing to do, it still writes itself alive.
  const idle = await until(() => w.saved.find((d) => +d.seen > finished + lease), 5000, 'an idle beat past one lease');
  expect(idle).toMatchObject({ running: [], delivered: 1 });
  expect(idle.ended).toBeUndefined();
  expect(idle.current).toBeUndefined();
  expect(+idle.expires - +idle.seen).toBe(lease);
  expect(waiterState(idle, idle.seen)).toBe('IDLE');
  shutdown.receive('SIGTERM');
  await done;
  expect(w.saved.at(-1)).toMatchObject({ running: [], reason: 'signal SIGTERM' });
});

test('the exit write says why: --max, a signal, a kitchen error', async () => {
  const ended = async (n: number, o: Partial<DeliverOptions>, act?: (w: ReturnType<typeof fakeWorld>, s: Shutdown) => void) => {
    const w = fakeWorld(n);
    w.releases.push = function (this: (() => void)[], f: () => void) {
      f();
      return this.length;
    };
    const shutdown = new Shutdown();
    act?.(w, shutdown);
    const registry = new Registry(w.kitchen, info(60_000), () => undefined);
    await deliver(options(o), depsOf(w, registry, shutdown)).catch(() => undefined);
    return w.saved.at(-1)!.reason;
  };
  expect(await ended(5, { max: 2 })).toBe('--max 2 reached');
  expect(await ended(5, {}, (_w, s) => s.receive('SIGTERM'))).toBe('signal SIGTERM');
  const { MongoServerError } = await import('mongodb');
  expect(
    await ended(5, {}, (w) => {
      w.kitchen.claim = async () => {
        throw new MongoServerError({ message: 'not authorized', code: 13 });
      };
    }),
  ).toBe('kitchen error: not authorized');
});

test('a registry write that fails is logged once and made good by the next beat; the waiter goes on', async () => {
  const w = fakeWorld(1);
  const logs: string[] = [];
  let failing = true;
  let failed = 0;
  const save = w.kitchen.saveWaiter;
  w.kitchen.saveWaiter = async (d) => {
    // The first write gets through: before it (and its pause read) no claim is made (test/steer.test.ts).
    if (failing && w.saved.length > 0) {
      failed++;
      throw new Error('kitchen away');
    }
    return save(d);
  };
  const registry = new Registry(w.kitchen, info(20), (l) => logs.push(l));
  const done = deliver(options(), depsOf(w, registry));
  await until(() => w.releases.length === 1, 5000, 'the order to run');
  await until(() => failed >= 3, 5000, 'several failed beats');
  failing = false;
  await until(() => w.saved.length > 1, 5000, 'a beat that gets through');
  w.releases[0]!();
  expect((await done).delivered).toBe(1);
  expect(logs.filter((l) => l.includes('could not write the waiter registry'))).toHaveLength(1);
  expect(logs).toContain('waiter: the waiter registry is written again');
});
