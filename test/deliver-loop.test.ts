// The deliver loop with its I/O injected (an in-memory list, commands that end at
// once), for what depends on the order of its steps: the record of one order overlaps
// the claim of the next, except a record that puts the order back READY. The same
// loop against a real server is covered by cli-deliver, recovery* and outage.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoNetworkError, ObjectId } from 'mongodb';
import { expect, test } from 'vitest';
import { deliver, preparer, templateOf, type DeliverDeps } from '../src/deliver/loop.js';
import { Shutdown } from '../src/deliver/shutdown.js';
import type { Claimed, Outcome } from '../src/order.js';
import type { RunRequest, Running } from '../src/run.js';
import { parseTemplate } from '../src/template.js';
import { until } from './support/cli.js';
import { FakeKitchen } from './support/fake-kitchen.js';
import { loopOptions as options, sink } from './support/loop.js';

/** A list in memory, a failed attempt's retry back first in it. */
const memoryList = (args: string[]) => new FakeKitchen(args, { requeue: true });

/** Commands that end at once, with the exit codes given per argument (default 0), in turn. */
function commands(codes: Record<string, number[]> = {}) {
  const ran: string[] = [];
  const start = (req: RunRequest): Running => {
    const arg = req.args[req.args.length - 1]!;
    ran.push(arg);
    const outcome: Outcome = { exitCode: codes[arg]?.shift() ?? 0, output: '' };
    return { outcome: Promise.resolve(outcome), terminate: () => undefined };
  };
  return { start, ran };
}

function deps(list: FakeKitchen, start: DeliverDeps['start']): DeliverDeps {
  return { kitchen: list.kitchen(), start, stdout: sink(), stderr: sink(), log: () => undefined, shutdown: new Shutdown() };
}

test('an order is recorded while the next is claimed, with at most two records in flight per slot', async () => {
  const list = memoryList(['a', 'b', 'c', 'd']);
  let open!: () => void;
  list.gate = new Promise((r) => (open = r));
  const { start, ran } = commands();
  const done = deliver(options(), deps(list, start));

  // 'a' is being recorded (held at the gate) when 'b' is claimed and run; then the
  // slot waits for 'a' before claiming a third.
  await until(() => list.pendingRecords === 2, 5000, 'two records in flight');
  expect(list.claims.map((c) => c.args)).toEqual(['a', 'b']);
  expect(list.claims[1]!.pendingRecords).toBe(1);
  expect(ran).toEqual(['a', 'b']);

  open();
  const r = await done;
  expect(r).toEqual({ delivered: 4, failed: 0, lost: 0, interrupted: 0 });
  expect(list.written.map((f) => f.args).sort()).toEqual(['a', 'b', 'c', 'd']);
  expect(list.pendingRecords).toBe(0);
});

test('a failed attempt that goes back READY is recorded before the next claim, so this waiter retries it', async () => {
  // The only order fails once; with an overlapped record the claim would find the
  // list empty (the order still RUNNING) and the waiter would stop without retrying.
  const list = memoryList(['only']);
  list.gate = new Promise((r) => setTimeout(r, 50)); // the kitchen answers the records late
  const { start, ran } = commands({ only: [1, 0] });
  const r = await deliver(options({ retry: { maxAttempts: 2, retryOn: [] } }), deps(list, start));

  expect(ran).toEqual(['only', 'only']);
  expect(list.written).toEqual([
    { args: 'only', status: 'READY' },
    { args: 'only', status: 'DONE' },
  ]);
  // The second claim came after the READY record had been written.
  expect(list.claims.map((c) => c.args)).toEqual(['only', 'only', '(none)']);
  expect(list.claims[1]!.pendingRecords).toBe(0);
  expect(r).toEqual({ delivered: 2, failed: 0, lost: 0, interrupted: 0 });
});

test('an order whose lease is past half (heartbeats slow) is recorded before the next claim, which could otherwise take it over from this waiter', async () => {
  // The claim takes stale RUNNING orders first: overlapping it with this order's
  // record, on a lease that runs out meanwhile, would take the order over (attempt 2,
  // counted LOST) and drop the result just obtained.
  const list = memoryList(['a', 'b']);
  list.claimedAgoMs = 40_000; // of a 60 s lease, no heartbeat answered since
  list.gate = new Promise((r) => setTimeout(r, 50));
  const { start, ran } = commands();
  const r = await deliver(options(), deps(list, start));

  expect(ran).toEqual(['a', 'b']);
  expect(list.claims.map((c) => [c.args, c.pendingRecords])).toEqual([
    ['a', 0],
    ['b', 0],
    ['(none)', 0],
  ]);
  expect(r).toEqual({ delivered: 2, failed: 0, lost: 0, interrupted: 0 });
});

test('a record that fails fails the run, and every order the waiter ran was given its record', async () => {
  const list = memoryList(['a', 'b', 'c']);
  list.failFinish = new Error('the kitchen refused the write');
  const { start, ran } = commands();
  const finishCalls: string[] = [];
  const d = deps(list, start);
  const finish = d.kitchen.finish;
  d.kitchen.finish = (c, f, retry) => {
    finishCalls.push(c.arguments[0]!);
    return finish(c, f, retry);
  };

  await expect(deliver(options(), d)).rejects.toThrow('the kitchen refused the write');
  // No order is run and then abandoned without an attempt to record it.
  expect(finishCalls).toEqual(ran);
  expect(ran.length).toBeLessThan(3);
});

test('a signal while the column names are being read puts the order back READY (INTERRUPTED), unrun, and caches nothing', async () => {
  const shutdown = new Shutdown();
  let reads = 0;
  const list = new FakeKitchen([{ args: ['cat'], columns: 'c1' }], {
    columns: async () => {
      if (++reads === 1) {
        shutdown.receive('SIGINT'); // Ctrl-C while the kitchen is away
        throw new MongoNetworkError('connection refused');
      }
      return ['animal'];
    },
  });
  const kitchen = list.kitchen();
  const { start, ran } = commands();
  const opts = options({ command: 'job', commandArgs: ['{animal}'] });
  const r = await deliver(opts, { kitchen, start, stdout: sink(), stderr: sink(), log: () => undefined, shutdown });
  expect(ran).toEqual([]);
  expect(list.finishes.map(({ f }) => f)).toMatchObject([{ status: 'READY', result: 'INTERRUPTED', error: 'interrupted by SIGINT' }]);
  expect(r).toEqual({ delivered: 0, failed: 0, lost: 0, interrupted: 1 });

  // Not cached: the same preparer reads the names again for the next order.
  const prepare = preparer(opts, templateOf(opts), { kitchen }, () => undefined, shutdown);
  const c: Claimed = { id: new ObjectId(), token: 't', attempt: 1, waiter: 'w', start: new Date(), arguments: ['dog'], history: [], columns: 'c1' };
  reads = 0;
  expect(await prepare(c)).toMatchObject({ interrupted: true });
  expect(await prepare(c)).toMatchObject({ file: 'job', args: ['dog'], env: { WAITER_ARG_ANIMAL: 'dog' } });
  expect(reads).toBe(2);
});

test('the lease is kept while the result files are stored (--collect), and an order lost meanwhile is not recorded', async () => {
  // An upload longer than the lease, with the heartbeats stopped at the command's exit,
  // let another waiter take the order over and run it a second time.
  const dir = await mkdtemp(join(tmpdir(), 'waiter-loop-'));
  try {
    for (const lose of [false, true]) {
      const list = memoryList(['a']);
      const d = deps(list, commands().start);
      let beats = 0;
      let collecting = false;
      d.kitchen.heartbeat = async () => (collecting && beats++, lose && beats >= 2 ? 'lost' : 'ours');
      d.collect = async () => {
        collecting = true;
        await until(() => beats >= 3 || (lose && beats >= 2), 5000, 'heartbeats while collecting');
        collecting = false;
        return undefined;
      };
      const r = await deliver(options({ heartbeatMs: 10, workdir: parseTemplate([dir]) }), d);
      expect(beats).toBeGreaterThanOrEqual(2);
      if (lose) {
        expect(r).toEqual({ delivered: 0, failed: 0, lost: 1, interrupted: 0 });
        expect(list.written).toEqual([]);
      } else {
        expect(r).toEqual({ delivered: 1, failed: 0, lost: 0, interrupted: 0 });
        expect(list.written).toEqual([{ args: 'a', status: 'DONE' }]);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a heartbeat answered 'lost' while the command runs stops it and records nothing (the lease's answer is the attempt's stop reason)", async () => {
  const list = memoryList(['a']);
  const d = deps(list, commands().start);
  const lines: string[] = [];
  d.log = (line) => lines.push(line);
  list.answer = () => 'lost';
  let terminated = 0;
  d.start = () => {
    let end!: (o: Outcome) => void;
    return { outcome: new Promise<Outcome>((r) => (end = r)), terminate: () => (terminated++, end({ signal: 'SIGTERM', output: '' })) };
  };
  const r = await deliver(options({ heartbeatMs: 10 }), d);
  expect(terminated).toBe(1);
  expect(list.written).toEqual([]);
  expect(r).toEqual({ delivered: 0, failed: 0, lost: 1, interrupted: 0 });
  expect(lines).toContainEqual(expect.stringMatching(/^waiter: lost order [0-9a-f]{24} \(reset or taken over\); stopping its command, recording nothing$/));
});

test('an order lost after its timeout (or the waiter’s kill) records nothing: no files stored, no failure counted, no write sent', async () => {
  // The first reason decides the kill; "not ours any more", even second, decides what is recorded.
  const dir = await mkdtemp(join(tmpdir(), 'waiter-loop-'));
  try {
    for (const first of ['timeout', 'shutdown'] as const) {
      const list = memoryList(['a']);
      const d = deps(list, commands().start);
      const lines: string[] = [];
      d.log = (line) => lines.push(line);
      let collected = 0;
      d.collect = async () => (collected++, undefined);
      let end!: (o: Outcome) => void;
      d.start = (req) => {
        if (first === 'timeout') req.onTimeout!();
        else d.shutdown.stop('test', 0);
        return { outcome: new Promise<Outcome>((r) => (end = r)), terminate: () => undefined };
      };
      // The heartbeat finds the order taken away while the stopped command is still exiting.
      d.kitchen.heartbeat = async () => (setTimeout(() => end({ signal: 'SIGTERM', output: '', ...(first === 'timeout' ? { timedOut: true } : {}) }), 5), 'lost');
      const r = await deliver(options({ heartbeatMs: 10, timeoutMs: 60_000, timeoutText: '1m', maxFailuresInARow: 1, workdir: parseTemplate([dir]) }), d);
      expect(collected).toBe(0);
      expect(r).toEqual({ delivered: 0, failed: 0, lost: 1, interrupted: 0 });
      expect(r.stopped).toBeUndefined();
      expect(list.calls.filter((c) => c === 'finish')).toEqual([]);
      expect(lines).toContainEqual(expect.stringMatching(/^waiter: lost order [0-9a-f]{24} \(reset or taken over\); /));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a second signal during the kill grace after a timeout records the timeout (it came first), not an interrupt', async () => {
  // Changed on purpose with the one Stop (issue 30): before, the waiter's kill recorded READY INTERRUPTED.
  for (const maxAttempts of [1, 2]) {
    const list = new FakeKitchen(['a']);
    const d = deps(list, commands().start);
    let end!: (o: Outcome) => void;
    let terminated = 0;
    d.start = (req) => {
      req.onTimeout!();
      d.shutdown.receive('SIGTERM');
      d.shutdown.receive('SIGTERM'); // again, while the timed-out command is still exiting
      setTimeout(() => end({ signal: 'SIGTERM', timedOut: true, output: '' }), 5);
      return { outcome: new Promise<Outcome>((r) => (end = r)), terminate: () => void terminated++ };
    };
    const r = await deliver(options({ timeoutMs: 60_000, timeoutText: '1m', retry: { maxAttempts, retryOn: [] } }), d);
    expect(terminated).toBeGreaterThanOrEqual(1);
    expect(list.finishes.map(({ f }) => f)).toMatchObject([{ status: maxAttempts === 1 ? 'ERROR' : 'READY', result: 'ERROR', error: 'timed out after 1m' }]);
    expect(r).toMatchObject({ delivered: 1, interrupted: 0 });
  }
});

test('a listener that throws is logged once and the waiter goes on: its orders still end DONE', async () => {
  // The 'started' line's listener (logLines) throws: emitted outside processOrder's try, it used to stop the waiter.
  const list = memoryList(['a', 'b']);
  const d = deps(list, commands().start);
  const lines: string[] = [];
  d.log = (line) => {
    if (line.startsWith('waiter: delivering ')) throw new Error('stderr is gone');
    lines.push(line);
  };
  const r = await deliver(options(), d);
  expect(list.written).toEqual([
    { args: 'a', status: 'DONE' },
    { args: 'b', status: 'DONE' },
  ]);
  expect(r).toEqual({ delivered: 2, failed: 0, lost: 0, interrupted: 0 });
  expect(lines.filter((l) => l.includes('stderr is gone'))).toEqual([expect.stringMatching(/^waiter: .*'started'.*: stderr is gone$/)]);
});

test('the fake kitchen is fenced like the real one: a claim answered not ours is refused its finish; a requeued order keeps its id and columns', async () => {
  const list = new FakeKitchen(['a', { args: ['b'], columns: 'c1' }], { requeue: true });
  const k = list.kitchen();
  const a = (await k.claim('w', 60_000))!;
  list.answer = () => 'lost';
  expect(await k.heartbeat(a, 60_000, new Date())).toBe('lost');
  list.answer = () => 'ours';
  const done = { status: 'DONE', result: 'DONE', stop: new Date(), output: '' } as const;
  expect(await k.finish(a, done, false)).toBe(false);
  expect(list.finishes).toEqual([]);

  const b = (await k.claim('w', 60_000))!;
  expect(await k.finish(b, { ...done, status: 'READY', result: 'ERROR' }, false)).toBe(true);
  const again = (await k.claim('w', 60_000))!;
  expect([again.id.toHexString(), again.columns, again.attempt]).toEqual([b.id.toHexString(), 'c1', 2]);
});

test('a claim answered after a spot notice runs nothing: its order goes back READY uncounted (preempt), the command never started', async () => {
  // The notice came while the claim was in flight: starting the command would only SIGTERM it at once.
  const list = memoryList(['a']);
  const { start, ran } = commands();
  const d = deps(list, start);
  const claim = d.kitchen.claim.bind(d.kitchen);
  d.kitchen.claim = async (...a: Parameters<typeof claim>) => {
    const c = await claim(...a);
    d.shutdown.preempt('spot interruption notice (aws) at X', 60_000);
    return c;
  };
  const r = await deliver(options(), d);
  expect(ran).toEqual([]);
  expect(list.finishes.map(({ f }) => f)).toMatchObject([{ status: 'READY', result: 'INTERRUPTED', error: 'interrupted: spot interruption notice (aws) at X' }]);
  expect(r).toEqual({ delivered: 0, failed: 0, lost: 0, interrupted: 1 });
});
