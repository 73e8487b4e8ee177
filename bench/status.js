#!/usr/bin/env node
// npm run build && node bench/status.js [--rows 100000] [--runs 3] [--db bench_status]
//
// What the fleet view adds to `waiter status`: on a list of --rows orders (90 % DONE
// with stop times over the last hour, 10 % READY) and 50 registered waiters, the wall
// time of `waiter status --json` (process included) against the counts alone (the
// five countDocuments status made before the fleet view, by the bare driver), A/B
// alternated, medians of --runs. Then the plan of each fleet query: on a real MongoDB
// (MONGODB_URI) its index and keys examined, which is what matters at 1M.
// Uses MONGODB_URI if set, else starts the embedded FerretDB test server.
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient, ObjectId } from 'mongodb';
import { startTestServer } from '../test/support/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    db: { type: 'string', default: 'bench_status' },
  },
});
const ROWS = Number(opt.rows);
const RUNS = Number(opt.runs);
const log = (line) => process.stderr.write(`bench/status: ${line}\n`);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

const server = process.env.MONGODB_URI ? undefined : await startTestServer({ data: await mkdtemp(join(tmpdir(), 'waiter-bench-status-')) });
const uri = process.env.MONGODB_URI ?? server.uri;
const client = await new MongoClient(uri).connect();
try {
  const db = client.db(opt.db);
  await db.dropDatabase();
  const orders = db.collection('orders');
  // The indexes a list has once deliver has run on it.
  await orders.createIndex({ status: 1, _id: 1 });
  await orders.createIndex({ status: 1, stop: 1 });
  await db.collection('orders.waiters').createIndex({ ended: 1, expires: 1 });
  log(`${ROWS} orders (90% DONE over the last hour, 10% READY), 50 waiters`);
  const now = Date.now();
  for (let i = 0; i < ROWS; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(ROWS, i + 1000); j++) {
      if (j % 10 === 9) batch.push({ _id: new ObjectId(), status: 'READY', arguments: [`job-${j}`], attempts: 0 });
      else {
        const stop = new Date(now - 3_600_000 + (j / ROWS) * 3_600_000);
        batch.push({ _id: new ObjectId(), status: 'DONE', arguments: [`job-${j}`], attempts: 1, start: new Date(+stop - 2000 - (j % 7) * 100), stop });
      }
    }
    await orders.insertMany(batch);
  }
  await db.collection('orders.waiters').insertMany(
    Array.from({ length: 50 }, (_, i) => ({
      _id: `w${i}`,
      name: `box-${i}`,
      host: `box-${i}`,
      pid: i,
      command: ['x'],
      concurrency: 1,
      lease: 60_000,
      heartbeat: 10_000,
      started: new Date(now - 3_600_000),
      seen: new Date(now),
      expires: new Date(now + 60_000),
      running: [],
      delivered: 0,
      failed: 0,
    })),
  );

  const env = { ...process.env, WAITER_KITCHEN: uri, WAITER_DB: opt.db };
  const statusRun = () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(root, 'bin', 'waiter.js'), 'status', '--json'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return performance.now() - t0;
  };
  const countsRun = async () => {
    const t0 = performance.now();
    await Promise.all([
      orders.countDocuments({ status: 'RUNNING', expires: { $lt: new Date() } }),
      ...['READY', 'RUNNING', 'DONE', 'ERROR'].map((s) => orders.countDocuments({ status: s })),
    ]);
    return performance.now() - t0;
  };
  const a = [];
  const b = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(statusRun());
    b.push(await countsRun());
  }
  const s = median(a);
  const c = median(b);
  console.log(`status --json (process included)  ${(s / 1000).toFixed(3)} s   median of ${RUNS}`);
  console.log(`the five counts alone (driver)     ${(c / 1000).toFixed(3)} s   ${(s / c).toFixed(2)}x`);

  // How each fleet query is answered.
  const since = new Date(now - 600_000);
  const plans = {
    'pace: finished since 10 min ago': orders.find({ status: { $in: ['DONE', 'ERROR'] }, stop: { $gte: since } }, { projection: { _id: 0, status: 1, stop: 1 } }),
    'median: the last 300 finished': orders
      .find({ status: { $in: ['DONE', 'ERROR'] } }, { projection: { _id: 0, start: 1, stop: 1 } })
      .sort({ stop: -1 })
      .limit(300),
    'live waiters': db.collection('orders.waiters').find({ ended: null, expires: { $gt: new Date(now) } }, { projection: { _id: 0, ended: 1, expires: 1 } }),
  };
  for (const [what, cursor] of Object.entries(plans)) {
    const e = await cursor.explain('executionStats').catch((err) => ({ error: err.message }));
    const st = e.executionStats;
    const stages =
      JSON.stringify(e.queryPlanner?.winningPlan ?? {})
        .match(/"stage":"[A-Z_]+"/g)
        ?.map((x) => x.slice(9, -1))
        .join('>') ?? '';
    const index = JSON.stringify(e.queryPlanner?.winningPlan ?? {}).match(/"indexName":"([^"]+)"/)?.[1] ?? '-';
    console.log(
      st
        ? `${what.padEnd(34)} ${stages || '?'}  index ${index}  keys examined ${st.totalKeysExamined}, docs examined ${st.totalDocsExamined}, returned ${st.nReturned}`
        : `${what.padEnd(34)} no executionStats from this server${e.error ? ` (${e.error})` : ''}`,
    );
  }
  await db.dropDatabase();
} finally {
  await client.close();
  await server?.stop();
}
