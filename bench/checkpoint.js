// bench section `checkpoint` (issue 27), on the resumable counter (fixtures/counter.sh: counts
// to `steps`, one step every `step` s, its count in ./count, a checkpoint marked each step).
//
// 1. Work lost per interruption: waiter A (box-a) runs the order; when its count reaches
//    `killAt`, A and its command are kill -9'd (the box gone without a word) and waiter B
//    (box-b, its own folder: another box) finishes the order once A's lease is over. Re-done
//    = the steps A had counted (its ./count after the kill) minus the step B started at (the
//    last `start at N` of the order's output), in seconds of the counter's work. Without
//    --checkpoint B starts at 0; with it, at the last stored checkpoint. `notice`: the same
//    with --checkpoint and --interruption-file, the file written instead of the kill (A
//    stores a last checkpoint and hands the order back at once). Also how long after the
//    kill or the notice B's attempt started (takeover: a lease, or not).
// 2. The cost of --checkpoint: `orders` orders counting to `steps` under one
//    `deliver -x orders`, with `--checkpoint count --checkpoint-every <step>` (a store per
//    step: the most the option allows) and without, alternated; the orders' own wall time
//    (start to stop) and waiter's own CPU.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { median } from './median.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 2) => (x == null ? null : Number(x.toFixed(d)));

/** The pids of a process's children (each command a waiter starts leads its own process group). */
async function children(pid) {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/**
 * `waiter(args, env, o)` runs the CLI to its end (bench/run.js: ms, self.cpuS); `envFor(list)` its
 * environment; `uri`/`db` the kitchen; `work` a scratch folder; `root` the checkout.
 */
export async function checkpointBench({ uri, db, envFor, waiter, log, work, root, rounds, steps, step, killAt, every, lease, orders }) {
  if (!(Number.isInteger(steps) && Number.isInteger(killAt) && killAt >= 1 && killAt < steps && step > 0 && orders >= 1)) {
    throw new Error(`checkpoint: needs whole --checkpoint-steps above --checkpoint-kill-at >= 1, a --checkpoint-step above 0 and --checkpoint-orders >= 1`);
  }
  const COUNTER = join(root, 'fixtures', 'counter.sh');
  const { timerDuration } = await import(join(root, 'dist', 'values.js'));
  const { Kitchen } = await import(join(root, 'dist', 'kitchen.js'));
  const WAITER = join(root, 'bin', 'waiter.js');
  const stepMs = Math.round(step * 1000);
  const runMs = steps * stepMs + 120_000; // a run that takes longer than this is stuck
  // B looks again this often while A's order runs (deliver's default is 5 s): the takeover is the lease, not the poll.
  const POLL = ['--poll', '200ms'];
  const client = await new MongoClient(uri).connect();
  let lists = 0;
  /** A fresh list holding these orders, written as `waiter add`/`load` write them (the product's insertOrders: no CLI start-up). */
  const fresh = async (kind, rows) => {
    const list = `cp_${kind}_${++lists}`;
    const k = await Kitchen.open({ uri, db, list });
    try {
      await k.insertOrders(rows);
    } finally {
      await k.close();
    }
    return { list, env: envFor(list), orders: client.db(db).collection(list) };
  };

  /** One interruption of one order: 'without' / 'with' --checkpoint (kill -9), or 'notice'. */
  const interrupted = async (kind) => {
    const { list, env, orders: coll } = await fresh(kind, [[String(steps), String(step)]]);
    const id = (await coll.findOne({}))._id.toHexString();
    const notice = join(work, `${list}-notice`);
    const cp = kind === 'without' ? [] : ['--checkpoint', 'count', '--checkpoint-every', every];
    const deliver = (box, ...more) => ['-n', box, 'deliver', '--lease', lease, ...POLL, ...cp, ...more, '--workdir', join(work, `${list}-${box}`, '{id}'), COUNTER];
    const a = spawn(process.execPath, [WAITER, ...deliver('box-a', ...(kind === 'notice' ? ['--interruption-file', notice] : []))], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // On a failure below, box A and its command do not outlive the bench (B ends with the order, or its own failure).
    const killA = async () => {
      const commands = await children(a.pid);
      a.kill('SIGKILL');
      for (const pid of commands) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    let b;
    try {
      return await interruption();
    } catch (err) {
      if (a.exitCode === null && a.signalCode === null) await killA();
      b?.catch(() => undefined);
      throw err;
    }
    async function interruption() {
      let aErr = '';
      a.stderr.on('data', (d) => (aErr = (aErr + d).slice(-4000)));
      const aExit = once(a, 'exit');
      const count = join(work, `${list}-box-a`, id, 'count');
      const counted = async () => Number(await readFile(count, 'utf8').catch(() => '0')) || 0;
      const t0 = Date.now();
      const going = (what) => {
        if (a.exitCode !== null || a.signalCode !== null) throw new Error(`checkpoint: waiter A ended before ${what}: ${aErr.slice(-1000)}`);
        if (Date.now() - t0 > runMs) throw new Error(`checkpoint: waiter A did not reach ${what}: ${aErr.slice(-1000)}`);
      };
      // B is up and waiting before the box goes (the "another waiter, already running"), so the
      // takeover is the lease or the hand-back, not B's start-up; started once A holds the order.
      while (!(await coll.findOne({ status: 'RUNNING' }))) {
        going('its claim');
        await sleep(20);
      }
      b = waiter(deliver('box-b'), env, { timed: false });
      while ((await counted()) < killAt) {
        going(`step ${killAt}`);
        await sleep(Math.min(50, stepMs / 4));
      }
      let at;
      if (kind === 'notice') {
        at = Date.now();
        await writeFile(notice, '');
      } else {
        // The box goes: the waiter and its command at once.
        at = Date.now();
        await killA();
      }
      await aExit;
      const reached = await counted(); // A's command is gone: what it counted, all of it
      const rb = await b;
      const o = await coll.findOne({});
      if (o.status !== 'DONE' || !new RegExp(`counted to ${steps}\\n$`).test(o.output ?? '')) {
        throw new Error(`checkpoint (${kind}): the order ended ${o.status}: ${(o.output ?? '').slice(-300)} ${rb.stderr.slice(-500)}`);
      }
      // The interruption must land while the order runs (a notice is looked for each second).
      if (o.waiter !== 'box-b') throw new Error(`checkpoint (${kind}): box A finished the order before it was interrupted; give it more --checkpoint-steps`);
      const starts = [...(o.output ?? '').matchAll(/^start at (\d+) /gm)];
      const resumedAt = Number(starts.at(-1)?.[1] ?? NaN);
      const redone = Math.max(0, reached - resumedAt);
      await coll.drop();
      return {
        reached,
        resumed_at: resumedAt,
        redone_steps: redone,
        redone_s: round(redone * step),
        takeover_s: round((o.start.getTime() - at) / 1000),
        resumed_from: o.history?.at(-1)?.resumed ?? null,
      };
    }
  };

  /** `orders` counters under one deliver, with or without --checkpoint. */
  const costRun = async (kind) => {
    const {
      list,
      env,
      orders: coll,
    } = await fresh(
      `cost_${kind}`,
      Array.from({ length: orders }, () => [String(steps), String(step)]),
    );
    const cp = kind === 'with' ? ['--checkpoint', 'count', '--checkpoint-every', `${stepMs}ms`] : [];
    const x = await waiter(['deliver', '-x', String(orders), ...cp, '--workdir', join(work, list, '{id}'), COUNTER], env);
    const docs = await coll.find({}).toArray();
    if (docs.length !== orders || docs.some((d) => d.status !== 'DONE'))
      throw new Error(`checkpoint cost (${kind}): ${docs.map((d) => d.status).join(' ')}: ${x.stderr.slice(-500)}`);
    await coll.drop();
    return { orderMs: median(docs.map((d) => d.stop.getTime() - d.start.getTime())), ms: x.ms, cpuS: x.self?.cpuS };
  };

  try {
    const kinds = ['without', 'with', 'notice'];
    const lost = Object.fromEntries(kinds.map((k) => [k, []]));
    const cost = { with: [], without: [] };
    for (let i = 0; i < rounds; i++) {
      for (const k of kinds) {
        const r = await interrupted(k);
        log(`checkpoint: ${k}: A at step ${r.reached}, B started at ${r.resumed_at}: ${r.redone_s} s re-done; B's attempt ${r.takeover_s} s after`);
        lost[k].push(r);
      }
      // Alternated, and the first of each round changes sides.
      for (const k of i % 2 ? ['with', 'without'] : ['without', 'with']) cost[k].push(await costRun(k));
    }
    const med = (k, f) => round(median(lost[k].map((r) => r[f])));
    const costMed = (k, f) => median(cost[k].map((r) => r[f]));
    const ratio = (f) => {
      const [a, b] = [costMed('with', f), costMed('without', f)];
      return a == null || !b ? null : round(a / b);
    };
    return {
      redone_seconds_without: med('without', 'redone_s'),
      redone_seconds_with: med('with', 'redone_s'),
      redone_seconds_notice: med('notice', 'redone_s'),
      cost_ratio: ratio('orderMs'),
      detail: {
        params: { steps, step_s: step, kill_at: killAt, checkpoint_every: every, lease, rounds, cost_orders: orders, cost_checkpoint_every: `${stepMs}ms` },
        // At most --checkpoint-every plus one step since the last store is re-done after a kill -9 (docs/running-a-fleet.md).
        redone_bound_s: round(timerDuration('checkpoint-every', every) / 1000 + step),
        takeover_s: { kill_without: med('without', 'takeover_s'), kill_with: med('with', 'takeover_s'), notice: med('notice', 'takeover_s') },
        runs: lost,
        cost_order_ms: { with: round(costMed('with', 'orderMs'), 1), without: round(costMed('without', 'orderMs'), 1) },
        cost_deliver_ms: { with: round(costMed('with', 'ms'), 1), without: round(costMed('without', 'ms'), 1) },
        cost_deliver_ratio: ratio('ms'),
        cost_waiter_cpu_s: { with: round(costMed('with', 'cpuS'), 3), without: round(costMed('without', 'cpuS'), 3) },
        cost_waiter_cpu_ratio: ratio('cpuS'),
      },
    };
  } finally {
    await client.close();
  }
}
