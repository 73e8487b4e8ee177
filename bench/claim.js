// Claim latency against the number of live RUNNING orders: for each point, a list of
// READY orders behind R RUNNING ones held by a fake holder that heartbeats them (one
// heartbeat in flight at a time, each order every --heartbeat like a real fleet, as
// fast as the server allows if it cannot keep up), then K claims timed one by one,
// alternating waiter's claim (dist/kitchen.js: one findOneAndUpdate on {due, _id}) with
// the former claim (an $or of READY | stale RUNNING, sorted by _id, on {status, _id}).
// Prints one JSON line: {ready, claims, points: [{running, claim_ms, former_claim_ms}]}.
//   node bench/claim.js <uri> <db> <ready> <claims> <running,running,...>
import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { Kitchen } from '../dist/kitchen.js';
import { median } from './median.js';

const [uri, db, readyArg, claimsArg, pointsArg] = process.argv.slice(2);
const READY = Number(readyArg);
const K = Number(claimsArg);
const POINTS = (pointsArg ?? '').split(',').map(Number);
if (!uri || !(READY > 0) || !(K > 0) || POINTS.some((p) => !(p >= 0))) {
  console.error('usage: node bench/claim.js <uri> <db> <ready> <claims> <running,running,...>');
  process.exit(2);
}
const LEASE = 600_000;
const HEARTBEAT = 10_000;

async function insert(kitchen, docs) {
  for (let i = 0; i < docs.length; i += 1000) await kitchen.orders.insertMany(docs.slice(i, i + 1000));
}

/** The claim waiter made before `due`: kept here only as the baseline. */
function formerClaim(kitchen, now) {
  return kitchen.orders.findOneAndUpdate(
    { $or: [{ status: 'READY' }, { status: 'RUNNING', expires: { $lt: now } }] },
    {
      $set: { status: 'RUNNING', waiter: 'former', start: now, heartbeat: now, expires: new Date(+now + LEASE), claim: randomUUID() },
      $inc: { attempts: 1 },
    },
    { sort: { _id: 1 }, returnDocument: 'before' },
  );
}

const points = [];
for (const R of POINTS) {
  const kitchen = await Kitchen.open({ uri, db, list: `claim_${R}` });
  await kitchen.orders.drop().catch(() => undefined);
  await kitchen.ensureIndexes();
  const now = new Date();
  const held = Array.from({ length: R }, (_, i) => ({
    _id: new ObjectId(),
    status: 'RUNNING',
    arguments: [`held-${i}`],
    attempts: 1,
    waiter: 'holder',
    start: now,
    heartbeat: now,
    expires: new Date(+now + LEASE),
    due: new Date(+now + LEASE),
    claim: randomUUID(),
  }));
  await insert(kitchen, held);
  await insert(
    kitchen,
    Array.from({ length: READY }, (_, i) => ({ _id: new ObjectId(), status: 'READY', arguments: [`${i}`], attempts: 0, due: now })),
  );

  // The holder: heartbeats its orders round-robin at the fleet's rate, one at a time.
  let stop = false;
  const holder = (async () => {
    const gap = R ? HEARTBEAT / R : 0;
    for (let i = 0; R && !stop; i = (i + 1) % R) {
      const t0 = Date.now();
      const h = held[i];
      await kitchen.heartbeat({ id: h._id, token: h.claim }, LEASE);
      const wait = gap - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();

  const mine = [];
  const former = [];
  for (let i = 0; i < K; i++) {
    let t0 = performance.now();
    if (!(await kitchen.claim('bench', LEASE))) throw new Error('claim found nothing');
    mine.push(performance.now() - t0);
    t0 = performance.now();
    if (!(await formerClaim(kitchen, new Date()))) throw new Error('former claim found nothing');
    former.push(performance.now() - t0);
  }
  stop = true;
  await holder;
  await kitchen.orders.drop().catch(() => undefined);
  await kitchen.close();
  points.push({ running: R, claim_ms: Number(median(mine).toFixed(2)), former_claim_ms: Number(median(former).toFixed(2)) });
}
console.log(JSON.stringify({ ready: READY, claims: K, points }));
