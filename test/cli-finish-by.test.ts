// `waiter status --finish-by` on the real server (issue 28 point 6): a list with a known
// pace written to the kitchen (test/support/sizing-list.ts: 2 waiters of 2 slots, orders of exactly 30 s: 8 a minute),
// then the sizing as --json and as text (the cases it cannot answer: test/sizing.test.ts).
import { expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { sizingList } from './support/sizing-list.js';

const k = useDb();

test('status --finish-by 1h: 1,002 orders left at 4/min per waiter need 5 waiters, 3 more', async () => {
  await sizingList(k.db);

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
