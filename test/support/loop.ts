// What the in-process tests of the deliver loop (deliver-loop, containment-loop, fleet)
// hand it besides their fake kitchen: options of one slot, and a stream that drops output.
import { Writable } from 'node:stream';
import type { DeliverOptions } from '../../src/deliver/loop.js';

/** A stream that takes everything and keeps nothing. */
export const sink = () => new Writable({ write: (_c, _e, done) => done() });

/** deliver's options for `job`: one slot, no retries, a 60 s lease; `o` overrides. */
export function loopOptions(o: Partial<DeliverOptions> = {}): DeliverOptions {
  return {
    command: 'job',
    commandArgs: [],
    shell: false,
    concurrency: 1,
    wait: false,
    pollMs: 1000,
    waiter: 'w',
    leaseMs: 60_000,
    heartbeatMs: 20_000,
    killAfterMs: 1000,
    retry: { maxAttempts: 1, retryOn: [] },
    ...o,
  };
}
