import { describe, expect, test } from 'vitest';
import { InputError } from '../src/errors.js';
import { canTransition, errorLine, isState, namedFields, nextStatus, orderId, retryDelayMs, succeeded, type Outcome } from '../src/order.js';

const out = (o: Partial<Outcome>): Outcome => ({ output: '', ...o });

describe('order states', () => {
  test('transitions: claims, finishes, resets and takeovers only', () => {
    // Every pair of the four states, allowed or refused: a claim, a finish, a retry or a
    // reset (RUNNING -> READY), a takeover of a stale order (RUNNING -> RUNNING), a reset
    // of an ERROR. Nothing leaves DONE; nothing else enters RUNNING or a finished state.
    const allowed = ['READY>RUNNING', 'RUNNING>DONE', 'RUNNING>ERROR', 'RUNNING>READY', 'RUNNING>RUNNING', 'ERROR>READY'];
    const four = ['READY', 'RUNNING', 'DONE', 'ERROR'] as const;
    for (const from of four) {
      for (const to of four) expect(canTransition(from, to), `${from} -> ${to}`).toBe(allowed.includes(`${from}>${to}`));
    }
    expect(isState('READY')).toBe(true);
    expect(isState('ready')).toBe(false);
  });

  test('error lines are one human line per kind of failure', () => {
    expect(errorLine(out({ exitCode: 0 }))).toBeUndefined();
    expect(errorLine(out({ exitCode: 3 }))).toBe('exit code 3');
    expect(errorLine(out({ signal: 'SIGKILL' }))).toBe('killed by SIGKILL');
    expect(errorLine(out({ spawnError: 'command not found: ./nope.sh' }))).toBe('command not found: ./nope.sh');
    expect(errorLine(out({ timedOut: true, signal: 'SIGTERM' }), '30s')).toBe('timed out after 30s');
    expect(succeeded(out({ exitCode: 0, timedOut: true }))).toBe(false);
  });

  test('retries: READY again until max attempts, only for the listed exit codes', () => {
    const policy = { maxAttempts: 3, retryOn: [] };
    expect(nextStatus(out({ exitCode: 0 }), 1, policy)).toBe('DONE');
    expect(nextStatus(out({ exitCode: 1 }), 1, policy)).toBe('READY');
    expect(nextStatus(out({ exitCode: 1 }), 3, policy)).toBe('ERROR');
    const only75 = { maxAttempts: 3, retryOn: [75] };
    expect(nextStatus(out({ exitCode: 75 }), 1, only75)).toBe('READY');
    expect(nextStatus(out({ exitCode: 1 }), 1, only75)).toBe('ERROR');
    expect(nextStatus(out({ signal: 'SIGKILL' }), 1, only75)).toBe('ERROR');
    expect(nextStatus(out({ exitCode: 1 }), 1, { maxAttempts: 1, retryOn: [] })).toBe('ERROR');
  });

  test('retry delays: none by default; exponential, capped, and jitter only ever adds', () => {
    const none = { maxAttempts: 3, retryOn: [] };
    expect(retryDelayMs(1, none)).toBe(0);
    const p = { maxAttempts: 9, retryOn: [], delayMs: 1000, backoff: 2, maxDelayMs: 5000 };
    const low = () => 0;
    const high = () => 0.999999;
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, p, low))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(retryDelayMs(1, p, high)).toBe(1100);
    expect(retryDelayMs(4, p, high)).toBe(5500);
    expect(retryDelayMs(3, { ...p, backoff: 1 }, low)).toBe(1000);
    // The defaults: backoff 2, capped at an hour.
    expect(retryDelayMs(2, { maxAttempts: 3, retryOn: [], delayMs: 1000 }, low)).toBe(2000);
    expect(retryDelayMs(30, { maxAttempts: 40, retryOn: [], delayMs: 1000 }, low)).toBe(3_600_000);
  });
});

describe('what users type and see of an order', () => {
  test('orderId: 24 hex digits in any case, else an InputError naming the text (cut to 40 characters)', () => {
    expect(orderId('6B077A19D104B62A1A29FAA4').toHexString()).toBe('6b077a19d104b62a1a29faa4');
    expect(() => orderId('nope')).toThrow(new InputError('"nope" is not an order id (24 hex digits)'));
    expect(() => orderId('6b077a19d104b62a1a29faa', 'order id for after')).toThrow(/^"6b077a19d104b62a1a29faa" is not an order id for after/);
    expect(() => orderId('x'.repeat(100))).toThrow(`"${'x'.repeat(40)}" is not`);
  });

  test('namedFields: names paired with arguments by position; names past the arguments left out, extra arguments unnamed', () => {
    expect(namedFields(['animal', 'file name'], ['cat', 'a b.jpg', 'extra'])).toEqual({ animal: 'cat', 'file name': 'a b.jpg' });
    expect(namedFields(['a', 'b', 'c'], ['1'])).toEqual({ a: '1' });
    expect(namedFields([], ['1'])).toEqual({});
  });
});
