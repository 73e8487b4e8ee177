// What a waiter does with what its registry write read back (src/deliver/steer.ts),
// without a server: the pause gate (woken by a resume, a shutdown, or the waiter
// stopping itself), and a stop told once (a later --now kills).
import { MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { deliver } from '../src/deliver/loop.js';
import { Registry, type Asked, type RegistryStore } from '../src/deliver/registry.js';
import { Shutdown } from '../src/deliver/shutdown.js';
import { Pause, steering, stopReason } from '../src/deliver/steer.js';
import type { RunRequest, Running } from '../src/run.js';
import { until } from './support/cli.js';
import { FakeKitchen } from './support/fake-kitchen.js';
import { loopOptions, sink } from './support/loop.js';

const p = { by: 'alice@laptop', at: new Date(0), reason: 'deploy' };

test('the pause gate: open when not paused; a paused slot wakes on resume, or on a stop', async () => {
  const pause = new Pause();
  const shutdown = new Shutdown();
  await pause.until(shutdown);
  pause.set(p);
  let woke = false;
  const waiting = pause.until(shutdown).then(() => (woke = true));
  await new Promise((r) => setTimeout(r, 20));
  expect(woke).toBe(false);
  pause.set(undefined);
  await waiting;
  pause.set(p);
  const again = pause.until(shutdown);
  shutdown.stop('stopped by bob@box');
  await again;
  expect(pause.paused).toBe(p);
});

test('steering: a pause and a resume said once each; a stop drains once, a later --now kills', () => {
  const logs: string[] = [];
  const calls: [string, number | undefined][] = [];
  const shutdown = { stopping: false, describe: () => '1 running order(s)', stop: (r: string, d?: number) => void calls.push([r, d]) };
  const pause = new Pause();
  const heard = steering(pause, shutdown, (l) => logs.push(l));
  heard({ paused: p });
  heard({ paused: p });
  expect(pause.paused).toBe(p);
  heard({});
  expect(pause.paused).toBeUndefined();
  expect(logs).toEqual([
    'waiter: the list is paused (by alice@laptop at 1970-01-01T00:00:00.000Z: deploy): no new orders until `waiter resume`; running orders finish',
    'waiter: the list is resumed: claiming again',
  ]);
  const stop = { by: 'bob@box', at: new Date(0), now: false };
  heard({ stop });
  shutdown.stopping = true;
  heard({ stop });
  expect(calls).toEqual([['stopped by bob@box', undefined]]);
  heard({ stop: { ...stop, now: true, reason: 'reboot' } });
  heard({ stop: { ...stop, now: true, reason: 'reboot' } });
  expect(calls).toEqual([
    ['stopped by bob@box', undefined],
    ['stopped by bob@box (reboot)', 0],
  ]);
  expect(stopReason({ by: 'api 10.0.0.1' })).toBe('stopped by api 10.0.0.1');
});

test('a paused slot wakes when the waiter stops itself (a record failing), not only on resume or a shutdown', async () => {
  // -x 1: the last order runs, the list is paused while it is recorded, its record
  // fails (a kitchen error): the slot waiting at the pause gate must let run() throw.
  const list = new FakeKitchen(['a', 'b']);
  let open!: () => void;
  list.gate = new Promise((r) => (open = r));
  list.failFinish = new MongoServerError({ message: 'not authorized', code: 13 });
  const pause = new Pause();
  const start = (): Running => {
    pause.set(p); // paused while the order runs: the next claim waits at the gate
    return { outcome: Promise.resolve({ exitCode: 0, output: '' }), terminate: () => undefined };
  };
  const done = deliver(loopOptions(), { kitchen: list.kitchen(), start, stdout: sink(), stderr: sink(), log: () => undefined, shutdown: new Shutdown(), pause });
  await until(() => list.pendingRecords === 1, 5000, 'the record in flight');
  open();
  const t = Date.now();
  await expect(Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('hung at the pause gate')), 3000))])).rejects.toThrow('not authorized');
  expect(Date.now() - t).toBeLessThan(3000);
  expect(list.claims.map((c) => c.args)).toEqual(['a']);
});

test('-x 2 --max 3: the slot paused on the last claim left wakes when the other reaches --max', async () => {
  const list = new FakeKitchen(['a', 'b', 'c']);
  const pause = new Pause();
  let finishB!: () => void;
  const start = (req: RunRequest): Running => {
    const arg = req.args.at(-1)!;
    if (arg === 'a') pause.set(p); // 'a' ends at once; its slot reserves the third claim and waits at the gate
    const ended = arg === 'b' ? new Promise<void>((r) => (finishB = r)) : Promise.resolve();
    return { outcome: ended.then(() => ({ exitCode: 0, output: '' })), terminate: () => undefined };
  };
  const done = deliver(loopOptions({ concurrency: 2, max: 3 }), {
    kitchen: list.kitchen(),
    start,
    stdout: sink(),
    stderr: sink(),
    log: () => undefined,
    shutdown: new Shutdown(),
    pause,
  });
  await until(() => list.finishes.length === 1 && finishB !== undefined, 5000, "'a' recorded, 'b' running");
  finishB();
  const r = await Promise.race([done, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung at the pause gate')), 3000))]);
  expect(r).toEqual({ delivered: 2, failed: 0, lost: 0, interrupted: 0 });
});

describe('the pause gate stays closed until a registry write and its pause read both got through', () => {
  const info = (heartbeatMs: number, heard: (a: Asked) => void) => ({ name: 'w', command: ['job'], concurrency: 1, leaseMs: 60_000, heartbeatMs, changeCheckMs: 60_000, heard });
  const quick = (): Running => ({ outcome: Promise.resolve({ exitCode: 0, output: '' }), terminate: () => undefined });
  const away = () => new MongoNetworkError('connection refused');

  test.each([
    ['the first write fails', { write: 1, read: 0 }],
    ['the first pause read fails', { write: 0, read: 1 }],
  ])('%s: no claim before the pause is known', async (_what, fails) => {
    const list = new FakeKitchen(['a']);
    const pause = new Pause();
    const shutdown = new Shutdown();
    const store: RegistryStore = {
      saveWaiter: async () => {
        if (fails.write-- > 0) throw away();
      },
      joinPause: async () => {
        if (fails.read-- > 0) throw away();
        return p;
      },
    };
    const registry = new Registry(
      store,
      info(
        60_000,
        steering(pause, shutdown, () => undefined),
      ),
      () => undefined,
    );
    const done = deliver(loopOptions(), { kitchen: list.kitchen(), start: quick, stdout: sink(), stderr: sink(), log: () => undefined, shutdown, registry, pause });
    await until(() => pause.paused !== undefined, 5000, 'the pause read');
    await new Promise((r) => setTimeout(r, 100));
    expect(list.claims).toEqual([]);
    pause.set(undefined);
    expect(await done).toMatchObject({ delivered: 1 });
  });

  test('a shutdown while the first write keeps failing: no claim, the waiter ends', async () => {
    const list = new FakeKitchen(['a']);
    const pause = new Pause();
    const shutdown = new Shutdown();
    const store: RegistryStore = {
      saveWaiter: async (d) => {
        if (!d.ended) throw away();
      },
      joinPause: async () => null,
    };
    const registry = new Registry(
      store,
      info(
        60_000,
        steering(pause, shutdown, () => undefined),
      ),
      () => undefined,
    );
    const done = deliver(loopOptions(), { kitchen: list.kitchen(), start: quick, stdout: sink(), stderr: sink(), log: () => undefined, shutdown, registry, pause });
    await new Promise((r) => setTimeout(r, 300));
    shutdown.stop('signal SIGTERM');
    expect(await done).toMatchObject({ delivered: 0 });
    expect(list.claims).toEqual([]);
  });

  test('after a whole clean re-created its document, a failed pause read is tried again: the next write does not resume the waiter', async () => {
    const heard: Asked[] = [];
    let writes = 0;
    let reads = 0;
    // As the kitchen does: a read that gets through copies the pause onto the document; a clean (write 3 creates it again) loses the copy.
    let copy = false;
    const store: RegistryStore = {
      saveWaiter: async () => {
        const created = ++writes === 1 || writes === 3;
        if (created) copy = false;
        return { created, ...(copy ? { paused: p } : {}) };
      },
      joinPause: async () => {
        if (++reads === 2) throw away(); // the read after the clean
        copy = true;
        return p;
      },
    };
    const registry = new Registry(
      store,
      info(20, (a) => heard.push(a)),
      () => undefined,
    );
    await registry.start(() => ({ running: [], delivered: 0, failed: 0 }));
    await until(() => writes >= 6, 5000, 'six writes');
    await registry.end('empty list');
    expect(heard.length).toBeGreaterThanOrEqual(4);
    expect(heard.filter((a) => !a.paused)).toEqual([]);
  });
});
