// One way to stop an attempt (issue 30): the Stop (first reason wins, a deadline,
// each subscriber told once) and the one table of what each reason records.
import { Writable } from 'node:stream';
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { handleStopped, STOPPED } from '../src/deliver/failure.js';
import { Shutdown } from '../src/deliver/shutdown.js';
import { Stop, type StopReason } from '../src/deliver/stop.js';
import type { Claimed } from '../src/order.js';
import { start, timerMs, type Running } from '../src/run.js';
import { MAX_TIMER_MS } from '../src/values.js';

describe('Stop', () => {
  test('the first reason wins; later ones change the reason of nothing, and tell only a kill brought forward', () => {
    const s = new Stop();
    const told: unknown[] = [];
    s.on((reason, deadline) => told.push([reason, deadline]));
    expect(s.stopped).toBe(false);
    expect(s.stop('lost')).toBe(true);
    expect(s.stop('shutdown', 5)).toBe(false);
    expect(s.stop('timeout')).toBe(false);
    expect([s.reason, s.deadlineMs, s.stopped]).toEqual(['lost', 5, true]);
    expect(told).toEqual([
      ['lost', undefined],
      ['shutdown', 5],
    ]);
  });

  test('the deadline goes with the reason to every subscriber; a later, shorter one to each again', () => {
    const s = new Stop();
    const a: unknown[] = [];
    const b: unknown[] = [];
    s.on((r, d) => a.push([r, d]));
    s.on((r, d) => b.push([r, d]));
    s.stop('preempt', 120_000);
    s.stop('preempt', 1);
    s.stop('preempt', 2);
    const both = [
      ['preempt', 120_000],
      ['preempt', 1],
    ];
    expect(a).toEqual(both);
    expect(b).toEqual(both);
  });

  test('lost, cancel or hold given second decide what is recorded (recordAs), not the kill; the subscriber is told once more', () => {
    const s = new Stop();
    const told: unknown[] = [];
    s.on((reason, deadline) => told.push([reason, deadline]));
    s.stop('timeout');
    expect(s.recordAs).toBe('timeout');
    expect(s.stop('lost')).toBe(false);
    s.stop('lost');
    s.stop('cancel');
    expect([s.reason, s.gone, s.recordAs]).toEqual(['timeout', 'lost', 'lost']);
    expect(told).toEqual([
      ['timeout', undefined],
      ['lost', undefined],
    ]);
  });

  test('a subscriber after the stop is told at once; an unsubscribed one never', () => {
    const s = new Stop();
    const early: string[] = [];
    const off = s.on((r) => early.push(r));
    off();
    s.stop('memory');
    const late: string[] = [];
    s.on((r) => late.push(r));
    expect(early).toEqual([]);
    expect(late).toEqual(['memory']);
  });
});

describe('what each stop reason records (STOPPED)', () => {
  const c: Claimed = { id: new ObjectId(), token: 't', attempt: 1, waiter: 'w', start: new Date(), arguments: ['a'], history: [] };
  const retry = { maxAttempts: 2, retryOn: [] };
  const outcome = { signal: 'SIGTERM', output: 'tail', timedOut: true };
  const recorded = (reason: StopReason, attempt = 1, given?: number) => {
    const ran = handleStopped({ ...c, attempt, ...(given ? { uncounted: given } : {}) }, reason, { by: 'SIGTERM', timeoutText: '30s' }, retry, outcome, '/w');
    if (!ran.finish) return { records: false };
    const { status, result, error, uncounted, workdir, output, signal } = ran.finish;
    return { status, result, error, counted: !uncounted, failedRun: ran.failedRun === true, workdir, output, signal };
  };

  test('every reason has a row', () => {
    expect(Object.keys(STOPPED).sort()).toEqual(['cancel', 'hold', 'lost', 'memory', 'preempt', 'shutdown', 'timeout']);
  });

  test('lost, cancel, hold: nothing from this waiter (the order is not its own any more, or whoever stopped it wrote it)', () => {
    for (const r of ['lost', 'cancel', 'hold'] as const) expect(recorded(r)).toEqual({ records: false });
  });

  test('shutdown: READY INTERRUPTED, counted, with what stopped the waiter', () => {
    expect(recorded('shutdown')).toEqual({
      status: 'READY',
      result: 'INTERRUPTED',
      error: 'interrupted by SIGTERM',
      counted: true,
      failedRun: false,
      workdir: '/w',
      output: 'tail',
      signal: 'SIGTERM',
    });
  });

  test('timeout: a failed run by the retry rules, "timed out after 30s"', () => {
    expect(recorded('timeout', 1)).toMatchObject({ status: 'READY', result: 'ERROR', error: 'timed out after 30s', counted: true, failedRun: true });
    expect(recorded('timeout', 2)).toMatchObject({ status: 'ERROR', result: 'ERROR', error: 'timed out after 30s', counted: true, failedRun: true });
  });

  test('the retry rules count only attempts not given back: attempt 2 after one held or preempted is the first that counts, attempt 3 the second', () => {
    expect(recorded('timeout', 2, 1)).toMatchObject({ status: 'READY', counted: true });
    expect(recorded('timeout', 3, 1)).toMatchObject({ status: 'ERROR', counted: true });
  });

  test('preempt: READY INTERRUPTED, not counted (the box went away, not the order)', () => {
    expect(recorded('preempt')).toMatchObject({ status: 'READY', result: 'INTERRUPTED', counted: false, failedRun: false });
  });

  test('memory: ERROR "over --memory-max", counted, whatever attempts are left', () => {
    expect(recorded('memory', 1)).toMatchObject({ status: 'ERROR', result: 'ERROR', error: 'over --memory-max', counted: true, failedRun: true });
  });

  test('only the reasons that ran their course store result files first', () => {
    const collects = Object.entries(STOPPED).flatMap(([r, rule]) => (rule.records && rule.collects ? [r] : []));
    expect(collects.sort()).toEqual(['memory', 'timeout']);
  });
});

describe('Shutdown: a stop with a reason', () => {
  test('a signal is the reason "signal SIGTERM"; the exit status comes from it, other reasons name no signal', () => {
    const s = new Shutdown();
    s.receive('SIGTERM');
    expect([s.reason, s.by, s.phase, s.signal]).toEqual(['signal SIGTERM', 'SIGTERM', 'draining', 'SIGTERM']);
    const t = new Shutdown();
    t.stop('a spot notice');
    expect(t.signal).toBeUndefined();
  });

  test('only a signal received sets the exit signal: a stop whose text looks like one is just text', () => {
    const s = new Shutdown();
    s.stop('signal SIGTERM from the ops team');
    expect([s.reason, s.signal, s.by]).toEqual(['signal SIGTERM from the ops team', undefined, 'signal SIGTERM from the ops team']);
    const t = new Shutdown();
    t.receive('SIGINT');
    expect([t.reason, t.signal, t.by]).toEqual(['signal SIGINT', 'SIGINT', 'SIGINT']);
    // As first told: a signal after `waiter stop` kills, and the exit status stays the stop's.
    const u = new Shutdown();
    u.stop('waiter stop');
    u.receive('SIGTERM');
    expect([u.reason, u.signal, u.phase]).toEqual(['waiter stop', undefined, 'killing']);
  });

  test('a stop with a deadline kills running orders when it runs out; a second stop kills them at once', async () => {
    const s = new Shutdown();
    let killed = 0;
    s.onKill(() => killed++);
    s.stop('a spot notice', 20);
    expect([s.reason, s.by, s.phase]).toEqual(['a spot notice', 'a spot notice', 'draining']);
    await new Promise((r) => setTimeout(r, 60));
    expect([s.phase, killed]).toEqual(['killing', 1]);

    const t = new Shutdown(60_000);
    t.stop('waiter stop');
    t.stop('signal SIGINT');
    expect([t.reason, t.phase]).toEqual(['waiter stop', 'killing']);
    t.dispose();
  });
});

describe('deadlines: clamped, and a later shorter one brings the kill forward', () => {
  test('Stop: a later, shorter deadline is told (the pending SIGKILL comes sooner); a longer one is not; NaN, negative and huge are clamped', () => {
    const s = new Stop();
    const told: unknown[] = [];
    s.on((r, d) => told.push([r, d]));
    s.stop('timeout', 60_000);
    s.stop('preempt', 120_000);
    s.stop('preempt', 5);
    expect([s.reason, s.deadlineMs]).toEqual(['timeout', 5]);
    expect(told).toEqual([
      ['timeout', 60_000],
      ['preempt', 5],
    ]);
    const clamped = (ms: number) => {
      const t = new Stop();
      t.stop('preempt', ms);
      return t.deadlineMs;
    };
    expect([clamped(NaN), clamped(-1), clamped(Infinity), clamped(2 ** 40)]).toEqual([0, 0, MAX_TIMER_MS, MAX_TIMER_MS]);
  });

  test('Shutdown: a deadline longer than a timer can wait is clamped, not fired at once (Node fires those after 1 ms)', async () => {
    const s = new Shutdown();
    s.stop('a spot notice', 2 ** 31);
    await new Promise((r) => setTimeout(r, 30));
    expect(s.phase).toBe('draining');
    s.dispose();
    const t = new Shutdown();
    t.stop('a spot notice', NaN);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.phase).toBe('killing');
  });

  /** A command that ignores SIGTERM (so only SIGKILL ends it), once it runs. */
  async function stubborn(): Promise<Running> {
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    const sink = () => new Writable({ write: (_c, _e, done) => done() });
    const child = start({ file: 'trap "" TERM; echo ready; sleep 30', args: [], shell: true, killAfterMs: 60_000, stdout: sink(), stderr: sink(), onOutput: () => ready() });
    await started;
    return child;
  }

  test('terminate(0): SIGKILL at once', async () => {
    const child = await stubborn();
    const t = Date.now();
    child.terminate(0);
    expect(await child.outcome).toMatchObject({ signal: 'SIGKILL' });
    expect(Date.now() - t).toBeLessThan(10_000);
  }, 20_000);

  test('terminate(60000) then terminate(5): the SIGKILL comes well before 60 s', async () => {
    const child = await stubborn();
    const t = Date.now();
    child.terminate(60_000);
    child.terminate(5);
    expect(await child.outcome).toMatchObject({ signal: 'SIGKILL' });
    expect(Date.now() - t).toBeLessThan(10_000);
  }, 20_000);

  test('terminate with a huge deadline waits (clamped), a NaN one kills now', async () => {
    const child = await stubborn();
    let ended = false;
    void child.outcome.then(() => (ended = true));
    child.terminate(2 ** 31);
    // Killed at once, it would have ended by now (the group's last process is waited for up to 1 s).
    await new Promise((r) => setTimeout(r, 1500));
    expect(ended).toBe(false);
    child.terminate(NaN);
    expect(await child.outcome).toMatchObject({ signal: 'SIGKILL' });
  }, 20_000);

  test('timerMs: finite, 0..MAX_TIMER_MS', () => {
    expect([timerMs(NaN), timerMs(-5), timerMs(12), timerMs(Infinity), timerMs(2 ** 40)]).toEqual([0, 0, 12, MAX_TIMER_MS, MAX_TIMER_MS]);
  });
});
