// Durations that a timer waits for (setTimeout, setInterval): Node fires one longer than
// 2^31-1 ms (~24.8 days) after 1 ms, so --timeout 30d would kill every order at once,
// --heartbeat 30d beat every millisecond. Each such option refuses more, at the door.
import { expect, test } from 'vitest';
import { graceOf, options as deliverOptions } from '../src/commands/deliver.js';
import { options as statusOptions } from '../src/commands/status.js';

const g = { kitchen: 'mongodb://127.0.0.1:1/', db: 'waiter', list: 'orders', name: 'box-1' };
const deliver = (argv: Record<string, unknown>) => deliverOptions(argv, ['echo'], g);

test("deliver: --timeout, --kill-after, --heartbeat, --poll, --output-every and --grace over a timer's limit are refused", () => {
  for (const [option, argv] of [
    ['timeout', { timeout: '30d' }],
    ['kill-after', { 'kill-after': '30d' }],
    ['heartbeat', { lease: '60d', heartbeat: '30d' }],
    ['poll', { wait: true, poll: '30d' }],
    ['output-every', { 'output-every': '30d' }],
  ] as const) {
    expect(() => deliver(argv), option).toThrow(new RegExp(`^--${option}: at most 24 days$`));
  }
  expect(() => graceOf({ grace: '30d' })).toThrow(/^--grace: at most 24 days$/);
  // Up to the limit they stand, as before.
  const o = deliver({ timeout: '24d', 'kill-after': '1s', lease: '60d', heartbeat: '24d', poll: '2h' });
  expect([o.timeoutMs, o.heartbeatMs, o.pollMs, o.leaseMs]).toEqual([24 * 86_400_000, 24 * 86_400_000, 7_200_000, 60 * 86_400_000]);
  expect(graceOf({ grace: '24d' })).toBe(24 * 86_400_000);
});

test("status --watch over a timer's limit is refused", () => {
  expect(() => statusOptions({ watch: '30d' })).toThrow(/^--watch: at most 24 days$/);
  expect(statusOptions({ watch: '1h' }).watchMs).toBe(3_600_000);
});
