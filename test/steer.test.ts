// What a waiter does with what its registry write read back (src/deliver/steer.ts),
// without a server: the pause gate, and a stop told once (a later --now kills).
import { expect, test } from 'vitest';
import { Shutdown } from '../src/deliver/shutdown.js';
import { Pause, steering, stopReason } from '../src/deliver/steer.js';

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
