// What releasing WAITING orders costs (issue 18), with the product's own queries
// (dist/kitchen/pipeline.js through dist/kitchen.js), each round on fresh lists:
// - barrier: <done> DONE orders, then a load --after-all of <waiting> (insertOrders
//   with a barrier, as `load` writes it); the finish of the stage's last order
//   releases them all: one releaseFor(last), timed, per released order.
// - ids: <waiting> orders each --after one of <waiting> DONE ones (beside <done> DONE):
//   releaseFor(each parent) in turn, the waiter's per-finish release; per order.
// - nothing to release: the same barrier and orders on ids, held back by READY orders
//   below it: releaseAll() (the self-healing check a waiter runs when nothing is due)
//   and releaseFor(a DONE order nobody waits for) (the per-finish check), medians; and
//   the same check beside a tenth of the DONE orders (O(WAITING), not O(list): ~1x);
//   and what a --wait waiter pays per poll with nothing due (Releaser.idle, medians of
//   15 polls in a row of one waiter), and what status's count of them costs (summary).
// - a claim (Kitchen.claim) on the same list, the reference every figure is set against.
// Prints one JSON line.
//   node bench/release.js <uri> <db> <done> <waiting> <rounds>
import { ObjectId } from 'mongodb';
import { Kitchen } from '../dist/kitchen.js';
import { median } from './median.js';
import { Releaser } from '../dist/pipeline/release.js';

const [uri, db, doneArg, waitingArg, roundsArg] = process.argv.slice(2);
const DONE = Number(doneArg);
const M = Number(waitingArg);
const ROUNDS = Number(roundsArg ?? 1);
if (!uri || !db || !(DONE > 0) || !(M > 0) || !(ROUNDS > 0)) {
  console.error('usage: node bench/release.js <uri> <db> <done> <waiting> <rounds>');
  process.exit(2);
}
const CHECKS = 15;
const LEASE = 600_000;
const round = (x, d = 3) => Number(x.toFixed(d));
const rows = (p, n) => Array.from({ length: n }, (_, i) => [`${p}${i}`]);

/** A fresh list with `n` DONE orders (their ids, oldest first). */
async function list(name, n) {
  const k = await Kitchen.open({ uri, db, list: name });
  await k.orders.drop().catch(() => undefined);
  await k.ensureIndexes();
  await k.pipeline.ensureIndexes();
  const now = new Date();
  const ids = [];
  for (let i = 0; i < n; i += 5000) {
    const docs = Array.from({ length: Math.min(5000, n - i) }, (_, j) => ({
      _id: new ObjectId(),
      status: 'DONE',
      arguments: [`d${i + j}`],
      attempts: 1,
      prio: 0,
      start: now,
      stop: now,
    }));
    await k.orders.insertMany(docs);
    ids.push(...docs.map((d) => d._id));
  }
  return { k, ids };
}
async function barrierLoad(k, n) {
  const { barrier, ids } = await k.pipeline.newBarrier();
  await k.insertOrders(rows('w', n), { wait: { barrier }, ...(ids ? { ids } : {}) });
}
async function timed(fn) {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
}

/** The no-release checks and a claim, on a list of `done` DONE orders. */
async function idle(name, done) {
  const { k } = await list(name, done);
  const ready = (await k.insertOrders(rows('r', CHECKS + 1))).ids;
  await k.insertOrders(rows('a', M), { wait: { after: [ready[0]] } });
  await barrierLoad(k, M);
  const lone = (await k.orders.findOne({ status: 'DONE' }))._id;
  const all = [];
  const one = [];
  for (let i = 0; i < CHECKS; i++) {
    const [a, n] = await timed(() => k.pipeline.releaseAll());
    const [b, m] = await timed(() => k.pipeline.releaseFor(lone));
    if (n !== 0 || m !== 0) throw new Error(`the check released ${n + m} orders: nothing was releasable`);
    all.push(a);
    one.push(b);
  }
  // A --wait waiter polling with nothing due: one Releaser, CHECKS idle() calls in a row (its first is its first idle poll).
  const releaser = new Releaser(k.pipeline, () => undefined);
  const polls = [];
  const summaries = [];
  for (let i = 0; i < CHECKS; i++) {
    const [p, got] = await timed(() => releaser.idle(true));
    if (got !== 'none') throw new Error(`an idle poll said ${got}: nothing was releasable`);
    polls.push(p);
    summaries.push((await timed(() => k.pipeline.summary()))[0]);
  }
  const claims = [];
  for (let i = 0; i < CHECKS; i++) {
    const [c, got] = await timed(() => k.claim('bench', LEASE));
    if (!got) throw new Error('claim found nothing');
    claims.push(c);
  }
  await k.orders.drop();
  await k.close();
  return { all: median(all), one: median(one), claim: median(claims), poll: median(polls), summary: median(summaries) };
}

const r = { barrier: [], ids: [], all: [], one: [], claim: [], allTenth: [], poll: [], summary: [] };
for (let round_ = 0; round_ < ROUNDS; round_++) {
  // barrier: the stage's last order finishes, its one releaseFor frees the whole load.
  {
    const { k, ids } = await list('release_barrier', DONE);
    await barrierLoad(k, M);
    const [ms, n] = await timed(() => k.pipeline.releaseFor(ids.at(-1)));
    if (n !== M) throw new Error(`barrier release freed ${n} of ${M}`);
    r.barrier.push(ms / M);
    await k.orders.drop();
    await k.close();
  }
  // ids: each parent's finish frees its one dependant.
  {
    const { k } = await list('release_ids', DONE);
    const parents = (await k.insertOrders(rows('p', M))).ids;
    await k.insertOrders(rows('c', M), { wait: parents.map((p) => ({ after: [p] })) });
    await k.orders.updateMany({ _id: { $in: parents } }, { $set: { status: 'DONE', stop: new Date() }, $unset: { due: '' } });
    const t0 = performance.now();
    let n = 0;
    for (const p of parents) n += await k.pipeline.releaseFor(p);
    if (n !== M) throw new Error(`per-finish releases freed ${n} of ${M}`);
    r.ids.push((performance.now() - t0) / M);
    await k.orders.drop();
    await k.close();
  }
  const full = await idle('release_idle', DONE);
  const tenth = await idle('release_idle_tenth', Math.max(1, Math.round(DONE / 10)));
  r.all.push(full.all);
  r.one.push(full.one);
  r.claim.push(full.claim);
  r.poll.push(full.poll);
  r.summary.push(full.summary);
  r.allTenth.push(tenth.all);
}
const claim = median(r.claim);
const out = {
  done: DONE,
  waiting: M,
  rounds: ROUNDS,
  claim_ms: round(claim),
  barrier_release_ms_per_order: round(median(r.barrier)),
  ids_release_ms_per_order: round(median(r.ids)),
  check_all_ms: round(median(r.all)),
  check_finish_ms: round(median(r.one)),
  check_all_tenth_list_ms: round(median(r.allTenth)),
  idle_poll_ms: round(median(r.poll)),
  summary_ms: round(median(r.summary)),
};
Object.assign(out, {
  barrier_release_per_order_vs_claim: round(out.barrier_release_ms_per_order / claim, 2),
  ids_release_per_order_vs_claim: round(out.ids_release_ms_per_order / claim, 2),
  check_finish_vs_claim: round(out.check_finish_ms / claim, 2),
  check_all_vs_claim: round(out.check_all_ms / claim, 2),
  check_all_vs_tenth_list: round(out.check_all_ms / out.check_all_tenth_list_ms, 2),
  idle_poll_vs_claim: round(out.idle_poll_ms / claim, 2),
  summary_vs_claim: round(out.summary_ms / claim, 2),
});
console.log(JSON.stringify(out));
