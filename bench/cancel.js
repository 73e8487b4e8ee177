// What cancelling a big selection costs (issue 26): <ready> READY orders (written as
// `load` writes them), then `waiter cancel --status READY`'s use case (dist/app/cancel.js),
// timed, per round on a fresh list. The orders not running are cancelled by ONE
// updateMany: the driver's updateMany calls are counted to show it. Prints one JSON line.
//   node bench/cancel.js <uri> <db> <ready> <rounds>
import { Kitchen } from '../dist/kitchen.js';
import { cancelOrders } from '../dist/app/cancel.js';
import { median } from './median.js';

const [uri, db, readyArg, roundsArg] = process.argv.slice(2);
const N = Number(readyArg);
const ROUNDS = Number(roundsArg ?? 1);
if (!uri || !db || !(N > 0) || !(ROUNDS > 0)) {
  console.error('usage: node bench/cancel.js <uri> <db> <ready> <rounds>');
  process.exit(2);
}
const round = (x, d = 3) => Number(x.toFixed(d));
const rows = Array.from({ length: N }, (_, i) => [`r${i}`]);

const seconds = [];
const updateSeconds = [];
let updates = 0;
let cancelled = 0;
for (let r = 0; r < ROUNDS; r++) {
  const k = await Kitchen.open({ uri, db, list: `cancel${r}` });
  await k.orders.drop().catch(() => undefined);
  await k.ensureIndexes();
  const ti = performance.now();
  await k.insertOrders(rows);
  console.error(`round ${r + 1}: ${N} READY written in ${round((performance.now() - ti) / 1000)} s`);
  // Counts (and times) the updateMany calls the cancel makes.
  const updateMany = k.orders.updateMany.bind(k.orders);
  let u = 0;
  k.orders.updateMany = async (...a) => {
    u++;
    const t = performance.now();
    const res = await updateMany(...a);
    updateSeconds.push((performance.now() - t) / 1000);
    return res;
  };
  const t0 = performance.now();
  const rep = await cancelOrders(k, { status: 'READY', by: 'bench@cancel' });
  seconds.push((performance.now() - t0) / 1000);
  updates = u;
  cancelled = rep.cancelled;
  if ((await k.countOrders('CANCELLED')) !== N) throw new Error(`cancelled ${rep.cancelled} of ${N}`);
  await k.orders.drop();
  await k.close();
}
console.log(
  JSON.stringify({
    ready: N,
    rounds: ROUNDS,
    cancelled,
    update_many_calls: updates,
    seconds: round(median(seconds)),
    update_many_seconds: round(median(updateSeconds)),
    orders_per_second: Math.round(N / median(seconds)),
  }),
);
