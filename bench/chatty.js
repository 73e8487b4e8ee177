// bench section `chatty` (issue 17): a command that writes ~135 MB to stdout
// (`head -c 100M /dev/zero | base64`) under `waiter deliver` with live output (the
// default --keep-output 1MiB) vs the same with --keep-output 0 (no live output: the
// deliver of before), alternated in one run; the waiter's peak RSS; and, in process
// (dist/output/live.js over the same kitchen), how many writes the kitchen got, the
// most in any one second, and the bytes kept.
import { Writable } from 'node:stream';
import { MongoClient, ObjectId } from 'mongodb';

export const CHATTY = 'head -c 100M /dev/zero | base64';

/**
 * `waiter(args, env)` runs the CLI (wall ms, rssMB); `envFor(list)` its environment; `uri`/`db` the kitchen;
 * `live`/`store`/`start` the built modules (dist/output/live.js, dist/kitchen/output.js, dist/run.js).
 */
export async function chattyBench({ rounds, waiter, envFor, uri, db, live, store, start, log }) {
  const median = (a) => {
    const s = a.filter((x) => x != null).sort((x, y) => x - y);
    return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
  };
  const r = { live: [], off: [], liveRss: [], offRss: [] };
  let n = 0;
  for (let i = 0; i < rounds; i++) {
    for (const kind of ['live', 'off']) {
      const env = envFor(`chatty${++n}`);
      await waiter(['add', 'x'], env, { timed: false });
      const x = await waiter(['deliver', ...(kind === 'off' ? ['--keep-output', '0'] : []), '--shell', CHATTY], env);
      if (!/Delivered 1 order/.test(x.stdout)) throw new Error(`chatty: deliver printed ${x.stdout.slice(-200)}`);
      r[kind].push(x.ms);
      r[`${kind}Rss`].push(x.rssMB);
    }
  }
  log(`chatty: in process, counting the kitchen's writes`);
  const client = await new MongoClient(uri).connect();
  try {
    const s = new store.OutputStore(client.db(db), 'chatty_inprocess');
    const at = [];
    const counted = {
      write: async (w) => {
        at.push(Date.now());
        await s.write(w);
      },
    };
    const order = new ObjectId();
    const sink = new live.LiveOutput(counted, order, 1, { keepBytes: live.DEFAULT_KEEP_BYTES }, log);
    const nul = () => new Writable({ write: (_c, _e, cb) => cb() });
    const t0 = Date.now();
    const child = start.start({ file: CHATTY, args: [], shell: true, killAfterMs: 10_000, stdout: nul(), stderr: nul(), onOutput: sink.push });
    const outcome = await child.outcome;
    await sink.close();
    const seconds = (Date.now() - t0) / 1000;
    if (outcome.exitCode !== 0) throw new Error(`chatty: in-process run exited ${outcome.exitCode}`);
    let most = 0;
    for (let i = 0; i < at.length; i++) most = Math.max(most, at.filter((t) => t >= at[i] && t < at[i] + 1000).length);
    const docs = await s.docs.find({ order }).toArray();
    const kept = docs.reduce((sum, d) => sum + d.chunks.reduce((m, c) => m + c.d.position, 0), 0);
    await s.docs.drop();
    return {
      command: CHATTY,
      rounds,
      live_vs_no_live_output: median(r.live) && median(r.off) ? Number((median(r.live) / median(r.off)).toFixed(2)) : null,
      medians_ms: { live: median(r.live), no_live_output: median(r.off) },
      peak_rss_mb: { live: median(r.liveRss), no_live_output: median(r.offRss) },
      kitchen_writes: at.length,
      seconds: Number(seconds.toFixed(2)),
      writes_per_s: Number((at.length / seconds).toFixed(2)),
      most_writes_in_one_second: most,
      bytes_kept: kept,
      keep_output: live.DEFAULT_KEEP_BYTES,
    };
  } finally {
    await client.close();
  }
}
