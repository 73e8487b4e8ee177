import { describe, expect, test } from 'vitest';
import { canTransition, errorLine, isState, nextStatus, succeeded, type Outcome } from '../src/order.js';

const out = (o: Partial<Outcome>): Outcome => ({ output: '', ...o });

describe('order states', () => {
  test('transitions: claims, finishes, resets and takeovers only', () => {
    expect(canTransition('READY', 'RUNNING')).toBe(true);
    expect(canTransition('RUNNING', 'DONE')).toBe(true);
    expect(canTransition('RUNNING', 'ERROR')).toBe(true);
    expect(canTransition('ERROR', 'READY')).toBe(true);
    expect(canTransition('DONE', 'READY')).toBe(false);
    expect(canTransition('READY', 'DONE')).toBe(false);
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
});
