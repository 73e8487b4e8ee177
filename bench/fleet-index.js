// What the fleet view's {status: 1, stop: 1} index (made by deliver for status's pace)
// costs each order: claim + finish of N orders on a list with the index and on one
// without, alternated for R rounds; prints medians (ms per order) and the ratio.
//   node bench/fleet-index.js <uri> <db> [N=300] [R=3]
import { Kitchen } from '../dist/kitchen.js';

const [uri, db, n = '300', r = '3'] = process.argv.slice(2);
const N = Number(n);
const R = Number(r);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

async function once(withIndex) {
  const kitchen = await Kitchen.open({ uri, db, list: `fleetindex_${withIndex ? 'with' : 'without'}` });
  await kitchen.orders.drop().catch(() => undefined);
  await kitchen.ensureIndexes();
  if (withIndex) await kitchen.orders.createIndex({ status: 1, stop: 1 });
  await kitchen.insertOrders(
    Array.from({ length: N }, (_, i) => [String(i)]),
    { due: new Date() },
  );
  const t0 = performance.now();
  for (let c; (c = await kitchen.claim('bench', 60_000));) {
    await kitchen.finish(c, { status: 'DONE', result: 'DONE', stop: new Date(), output: '', exitCode: 0 });
  }
  const ms = (performance.now() - t0) / N;
  await kitchen.orders.drop();
  await kitchen.close();
  return ms;
}

const w = [];
const wo = [];
for (let i = 0; i < R; i++) {
  wo.push(await once(false));
  w.push(await once(true));
}
console.log(JSON.stringify({ orders: N, rounds: R, with_ms: +median(w).toFixed(2), without_ms: +median(wo).toFixed(2), ratio: +(median(w) / median(wo)).toFixed(3) }));
