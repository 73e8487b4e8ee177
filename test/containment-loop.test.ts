// Issue 15, item 1, with the loop's I/O injected: whatever goes wrong starting or
// preparing one order is that order's attempt, and the waiter goes on.
import { expect, test } from 'vitest';
import { deliver, type DeliverDeps } from '../src/deliver/loop.js';
import { Shutdown } from '../src/deliver/shutdown.js';
import type { RunRequest, Running } from '../src/run.js';
import { FakeKitchen, type FakeRow } from './support/fake-kitchen.js';
import { loopOptions as options, sink } from './support/loop.js';

/** Orders with these arguments (and columns), each claimed once; every finish kept. */
function list(rows: FakeRow[], columns?: () => Promise<string[] | null>) {
  const k = new FakeKitchen(rows, columns ? { columns } : {});
  return { kitchen: k.kitchen(), finishes: k.finishes };
}

const ok = (): Running => ({ outcome: Promise.resolve({ exitCode: 0, output: '' }), terminate: () => undefined });
const deps = (kitchen: DeliverDeps['kitchen'], start: (r: RunRequest) => Running): DeliverDeps => ({
  kitchen,
  start,
  stdout: sink(),
  stderr: sink(),
  log: () => undefined,
  shutdown: new Shutdown(),
});

test("a spawn that throws at once (E2BIG) is the order's failed attempt; the next order runs", async () => {
  const { kitchen, finishes } = list([{ args: ['poison'] }, { args: ['fine'] }]);
  const start = (r: RunRequest) => {
    if (r.args.includes('poison')) throw Object.assign(new Error('spawn E2BIG'), { code: 'E2BIG', errno: -7, syscall: 'spawn' });
    return ok();
  };
  const r = await deliver(options({ retry: { maxAttempts: 2, retryOn: [] } }), deps(kitchen, start));
  expect(finishes.map(({ args, f }) => [args[0], f.status, f.result, f.error])).toEqual([
    // By the usual rules: a second attempt is allowed, so back READY.
    ['poison', 'READY', 'ERROR', 'cannot run job: E2BIG (argument list too long)'],
    ['fine', 'DONE', 'DONE', undefined],
  ]);
  expect(r).toMatchObject({ delivered: 2, failed: 0 });
  expect(r.stopped).toBeUndefined();
});

test("an exception preparing the order (not the kitchen's) is its attempt, ERROR by the usual rules; the waiter goes on", async () => {
  let reads = 0;
  const { kitchen, finishes } = list([{ args: ['a'], columns: 'c1' }, { args: ['b'] }], async () => {
    if (reads++ === 0) throw new TypeError('something unexpected');
    return ['n'];
  });
  const r = await deliver(options(), deps(kitchen, ok));
  expect(finishes.map(({ args, f }) => [args[0], f.status, f.error])).toEqual([
    ['a', 'ERROR', 'could not start the order: something unexpected'],
    ['b', 'DONE', undefined],
  ]);
  expect(r).toMatchObject({ delivered: 2, failed: 1 });
});

test("EMFILE starting any program is the box's: the order back READY uncounted, the waiter stops (box)", async () => {
  const { kitchen, finishes } = list([{ args: ['a'] }, { args: ['b'] }]);
  const start = (): Running => ({ outcome: Promise.resolve({ spawnError: 'cannot run job: EMFILE', spawnCode: 'EMFILE', output: '' }), terminate: () => undefined });
  const r = await deliver(options({ command: '{1}' }), deps(kitchen, start));
  expect(finishes).toHaveLength(1);
  expect(finishes[0]!.f).toMatchObject({ status: 'READY', result: 'INTERRUPTED', uncounted: true });
  expect(r.stopped).toEqual({ kind: 'box', reason: 'box failure: cannot run job: EMFILE: stopping this box' });
});

test("ENOENT of a program an order's field chose is that order's failure, not the box's", async () => {
  const { kitchen, finishes } = list([{ args: ['./missing'] }, { args: ['./there'] }]);
  const start = (r: RunRequest): Running =>
    r.file === './missing' ? { outcome: Promise.resolve({ spawnError: 'command not found: ./missing', spawnCode: 'ENOENT', output: '' }), terminate: () => undefined } : ok();
  const r = await deliver(options({ command: '{1}' }), deps(kitchen, start));
  expect(finishes.map(({ f }) => f.status)).toEqual(['ERROR', 'DONE']);
  expect(r.stopped).toBeUndefined();
});
