// status's ETA from the real server's counts (issue 25): a simulated run written to the
// kitchen as it stands at some moment (finished orders with their times, RUNNING ones,
// READY ones, the live waiters), `waiter status --json` read at that moment, and its ETA
// against the run's real end. Orders due later are left out of it, and said apart.
import { expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { random, simulate } from './support/eta-sim.js';

const k = useDb();

test('status --json on a simulated run of 30 s orders on 3 waiters (16 slots): ETA within 25 % of the real remaining time, orders due in 30 minutes not counted', async () => {
  const r = random(21);
  const slots = 16;
  const sim = simulate({ n: 800, slots, duration: () => 20_000 + 20_000 * r() });
  const orders = k.db.collection('orders');
  // The kitchen at 30 % of the run, with the run placed so that moment is now.
  const t = 0.3 * sim.end;
  const now = Date.now();
  const at = (ms: number) => new Date(now - t + ms);
  const docs = sim.runs.map((x, i) => {
    if (x.stop <= t) return { status: 'DONE', arguments: [`${i}`], attempts: 1, start: at(x.start), stop: at(x.stop), due: at(x.start) };
    if (x.start <= t)
      return { status: 'RUNNING', arguments: [`${i}`], attempts: 1, start: at(x.start), expires: new Date(now + 60_000), due: new Date(now + 60_000), claim: `c${i}` };
    return { status: 'READY', arguments: [`${i}`], attempts: 0, due: at(0) };
  });
  const later = Array.from({ length: 500 }, (_, i) => ({ status: 'READY', arguments: [`later-${i}`], attempts: 0, due: new Date(now + 1_800_000) }));
  for (let i = 0; i < docs.length; i += 500) await orders.insertMany(docs.slice(i, i + 500));
  await orders.insertMany(later);
  await k.db.collection('orders.waiters').insertMany(
    [6, 6, 4].map((concurrency, i) => ({
      _id: `w${i}` as never,
      name: `box-${i}`,
      host: 'h',
      pid: i,
      command: ['x'],
      concurrency,
      lease: 60_000,
      heartbeat: 10_000,
      started: at(0),
      seen: new Date(now),
      expires: new Date(now + 60_000),
      running: [],
      delivered: 0,
      failed: 0,
    })),
  );
  const run = await waiter(k, ['status', '--json']);
  expect(run.exitCode, run.stderr).toBe(0);
  const s = JSON.parse(run.stdout);
  const real = (sim.end - t) / 1000;
  expect(s).toMatchObject({ waiters: 3, slots, notYetDue: 500, etaReason: null });
  expect(s.READY).toBe(docs.filter((d) => d.status === 'READY').length + 500);
  // Read a moment after `now`: the real remaining time is a little less than `real`.
  expect(Math.abs(s.etaSeconds - real), `ETA ${s.etaSeconds} s, real ${real.toFixed(0)} s`).toBeLessThanOrEqual(0.25 * real);
  const text = (await waiter(k, ['status'])).stdout;
  expect(text).toMatch(/^ETA {6}\S+ \(\S+Z\) at [\d.]+\/min; 500 not yet due not counted$/m);
}, 60_000);
