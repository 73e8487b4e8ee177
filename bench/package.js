#!/usr/bin/env node
// node bench/package.js [--from DIR] [--orders 500] [--rounds 3] [--starts 15] [--out FILE]
//
// The single executable (dist/waiter-linux-x64) and the bundle (dist/waiter.cjs) against
// `node bin/waiter.js`: their sizes, start-up time (`--version`, alternated, medians) and
// one deliver of the same ORDERS orders through each (same results, time ratio). Builds
// both into a temporary folder first unless --from names a folder that has them. Uses
// MONGODB_URI if set, else starts the embedded FerretDB test server. Writes FILE (default
// /tmp/waiter-bench-package.json); copy the figures into bench/results.json with
//   node bench/merge.js FILE "node bench/package.js"
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { startTestServer } from '../test/support/server.js';
import { median } from './median.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    from: { type: 'string' },
    orders: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    starts: { type: 'string', default: '15' },
    out: { type: 'string', default: join(tmpdir(), 'waiter-bench-package.json') },
    db: { type: 'string', default: 'bench_package' },
  },
});
const ORDERS = Number(opt.orders);
const ROUNDS = Number(opt.rounds);
const STARTS = Number(opt.starts);
const log = (line) => process.stderr.write(`bench package: ${line}\n`);
const round = (x, d = 2) => Number(x.toFixed(d));

let built;
let dir = opt.from && resolve(opt.from);
if (!dir) {
  built = mkdtempSync(join(tmpdir(), 'waiter-bench-package-'));
  dir = built;
  log(`building the single files into ${dir}`);
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'package.js'), '--out', dir, '--no-pack'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(1);
}
const KINDS = {
  executable: [join(dir, 'waiter-linux-x64')],
  bundle: [process.execPath, join(dir, 'waiter.cjs')],
  node_bin: [process.execPath, join(root, 'bin', 'waiter.js')],
};

const server = process.env.MONGODB_URI ? undefined : await startTestServer();
const uri = process.env.MONGODB_URI ?? server.uri;
const work = mkdtempSync(join(tmpdir(), 'waiter-bench-package-work-'));

/** Runs argv to completion; wall ms. Throws on a non-zero exit. */
async function timed(argv, env = {}) {
  const t0 = performance.now();
  const p = spawn(argv[0], argv.slice(1), { cwd: work, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out = (out + d).slice(-2000)));
  p.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  const [code] = await once(p, 'close');
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${err}`);
  return { ms, out };
}

const results = {};
try {
  const mb = (p) => round(statSync(p).size / 1e6, 1);
  results.package_size_mb = { executable: mb(KINDS.executable[0]), bundle: mb(KINDS.bundle[1]), node_binary: mb(process.execPath) };

  // ---- start-up: --version, the three alternated -------------------------------
  log(`start-up: --version x ${STARTS} each, alternated`);
  const starts = { executable: [], bundle: [], node_bin: [] };
  for (let i = 0; i < STARTS; i++) for (const k of Object.keys(starts)) starts[k].push((await timed([...KINDS[k], '--version'])).ms);
  const s = Object.fromEntries(Object.entries(starts).map(([k, v]) => [k, round(median(v), 1)]));
  results.package_start = {
    runs: STARTS,
    medians_ms: s,
    executable_vs_node_bin: round(s.executable / s.node_bin),
    bundle_vs_node_bin: round(s.bundle / s.node_bin),
  };

  // ---- deliver: the same ORDERS orders through each, alternated ----------------
  log(`deliver: ${ORDERS} orders of \`true\` through the executable and node bin/waiter.js, ${ROUNDS} rounds`);
  const c = await new MongoClient(uri).connect();
  const list = c.db(opt.db).collection('orders');
  const ms = { executable: [], node_bin: [] };
  const outcomes = {};
  const env = { WAITER_KITCHEN: uri, WAITER_DB: opt.db, WAITER_LIST: 'orders' };
  for (let i = 0; i < ROUNDS; i++) {
    for (const k of Object.keys(ms)) {
      // Dropped, not emptied: a new list, indexes and all, as `load` makes it for each run.
      await list.drop().catch(() => {});
      await list.insertMany(Array.from({ length: ORDERS }, (_, j) => ({ status: 'READY', arguments: [String(j)], attempts: 0 })));
      const r = await timed([...KINDS[k], '-n', `bench-${k}`, 'deliver', 'true'], env);
      ms[k].push(r.ms);
      if (!r.out.includes(`Delivered ${ORDERS.toLocaleString('en-US')} order${ORDERS === 1 ? '' : 's'}`)) throw new Error(`${k}: ${r.out}`);
      const done = await list
        .find({}, { projection: { _id: 0, arguments: 1, status: 1, exitCode: 1, attempts: 1 } })
        .sort({ 'arguments.0': 1 })
        .toArray();
      outcomes[k] = JSON.stringify(done);
      if (done.length !== ORDERS || done.some((o) => o.status !== 'DONE')) throw new Error(`${k}: not every order DONE`);
    }
  }
  await list.drop().catch(() => {});
  await c.close();
  const d = { executable: round(median(ms.executable)), node_bin: round(median(ms.node_bin)) };
  results.package_deliver = {
    orders: ORDERS,
    rounds: ROUNDS,
    medians_ms: d,
    executable_vs_node_bin: round(d.executable / d.node_bin),
    // Every order DONE, exit code 0, one attempt, through either.
    same_results: outcomes.executable === outcomes.node_bin,
  };
} finally {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
  if (built) rmSync(built, { recursive: true, force: true });
}

const doc = {
  ...results,
  server: process.env.MONGODB_URI ? 'MONGODB_URI' : 'embedded FerretDB test server',
  measured_at: new Date().toISOString(),
  params: { orders: ORDERS, rounds: ROUNDS, starts: STARTS },
};
writeFileSync(opt.out, `${JSON.stringify(doc, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
log(`wrote ${opt.out}`);
