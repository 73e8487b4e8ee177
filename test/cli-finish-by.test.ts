// `waiter status --finish-by` on the real server (issue 28 point 6): a list with a known
// pace written to the kitchen (2 waiters of 2 slots, orders of exactly 30 s: 8 a minute),
// then the sizing as --json and as text (the cases it cannot answer: test/sizing.test.ts).
import { expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();

test('status --finish-by 1h: 1,002 orders left at 4/min per waiter need 5 waiters, 3 more', async () => {
  const now = Date.now();
  const ago = (ms: number) => new Date(now - ms);
  const docs = [
    // 4 slots, each finishing an order of 30 s every 30 s, for the last 10 minutes.
    ...Array.from({ length: 76 }, (_, i) => {
      const stop = 5_000 + 30_000 * Math.floor(i / 4);
      return { status: 'DONE', arguments: [`d${i}`], attempts: 1, start: ago(stop + 30_000), stop: ago(stop), due: ago(stop + 30_000) };
    }),
    ...Array.from({ length: 4 }, (_, i) => ({
      status: 'RUNNING',
      arguments: [`r${i}`],
      attempts: 1,
      start: ago(5_000),
      expires: new Date(now + 60_000),
      due: new Date(now + 60_000),
      claim: `c${i}`,
    })),
    ...Array.from({ length: 1000 }, (_, i) => ({ status: 'READY', arguments: [`${i}`], attempts: 0, due: ago(600_000) })),
  ];
  await k.db.collection('orders').insertMany(docs);
  await k.db.collection('orders.waiters').insertMany(
    [0, 1].map((i) => ({
      _id: `w${i}` as never,
      name: `box-${i}`,
      host: 'h',
      pid: i,
      command: ['x'],
      concurrency: 2,
      lease: 60_000,
      heartbeat: 10_000,
      started: ago(600_000),
      seen: new Date(now),
      expires: new Date(now + 60_000),
      running: [],
      delivered: 0,
      failed: 0,
    })),
  );

  const json = await waiter(k, ['status', '--json', '--finish-by', '1h']);
  expect(json.exitCode, json.stderr).toBe(0);
  const s = JSON.parse(json.stdout);
  // The rate: slots ÷ mean (4 ÷ 30 s = 8/min) while the last minute saw fewer than 30 finishes.
  expect(s).toMatchObject({ waiters: 2, slots: 4, backlog: 1000, etaPace: 8 });
  // left = 1000 + 4 ÷ 2; one waiter does 4/min × (60 − 0.25) min = 239: 1,002 ÷ 239 = 4.19 → 5.
  expect(s.finishBy).toMatchObject({
    waitersNeeded: 5,
    more: 3,
    reason: null,
    basis: { left: 1002, waiters: 2, slotsPerWaiter: 2, perWaiterPace: 4, meanRunSeconds: 30 },
  });
  // An hour from when status read the kitchen.
  expect(Date.parse(s.finishBy.at) - Date.parse(s.asOf)).toBe(3_600_000);

  const text = await waiter(k, ['status', '--finish-by', '1h']);
  expect(text.stdout).toMatch(
    /^finish by \S+Z \(in 1h00m\): 3 more waiters, 5 in all \(2 slots each, as the 2 live\): 1,002 orders left at 4\/min per waiter, 30s per order on average$/m,
  );
}, 60_000);
