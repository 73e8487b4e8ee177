// One way to stop an attempt (issue 30): the Stop (first reason wins, a deadline,
// each subscriber told once) and the one table of what each reason records.
import { ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { handleStopped, STOPPED } from '../src/deliver/failure.js';
import { Shutdown, signalOf } from '../src/deliver/shutdown.js';
import { Stop, type StopReason } from '../src/deliver/stop.js';
import type { Claimed } from '../src/order.js';

describe('Stop', () => {
  test('the first reason wins; later ones change nothing and tell no one', () => {
    const s = new Stop();
    const told: unknown[] = [];
    s.on((reason, deadline) => told.push([reason, deadline]));
    expect(s.stopped).toBe(false);
    expect(s.stop('lost')).toBe(true);
    expect(s.stop('shutdown', 5)).toBe(false);
    expect(s.stop('timeout')).toBe(false);
    expect([s.reason, s.deadlineMs, s.stopped]).toEqual(['lost', undefined, true]);
    expect(told).toEqual([['lost', undefined]]);
  });

  test('the deadline goes with the reason to every subscriber, each called once', () => {
    const s = new Stop();
    const a: unknown[] = [];
    const b: unknown[] = [];
    s.on((r, d) => a.push([r, d]));
    s.on((r, d) => b.push([r, d]));
    s.stop('preempt', 120_000);
    s.stop('preempt', 1);
    expect(a).toEqual([['preempt', 120_000]]);
    expect(b).toEqual([['preempt', 120_000]]);
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
  const recorded = (reason: StopReason, attempt = 1) => {
    const ran = handleStopped({ ...c, attempt }, reason, { by: 'SIGTERM', timeoutText: '30s' }, retry, outcome, '/w');
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
    expect([s.reason, s.by, s.phase, signalOf(s.reason)]).toEqual(['signal SIGTERM', 'SIGTERM', 'draining', 'SIGTERM']);
    expect(signalOf('a spot notice')).toBeUndefined();
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
