#!/usr/bin/env node
// npm run bench [-- --orders N --rows R --rounds K --spawn-orders S --parallel-jobs P --status-runs S --status-runs-full S
//                   --latency-orders M --latency MS --claim-ready R --claim-claims K --claim-points 0,1000,4000
//                   --serve-orders R --serve-seconds T --release-done D --release-waiting W
//                   --checkpoint-steps N --checkpoint-step S --checkpoint-kill-at K --checkpoint-every D
//                   --checkpoint-lease D --checkpoint-orders C
//                   --only spawn,deliver,parts,latency,claim,data,nolock,unique,bar,serve,chatty,release,checkpoint --no-nolock
//                   --out FILE --db-prefix P]
//
// Measures waiter against its baselines side by side (A/B alternated, medians),
// prints one table and writes bench/results.json. Uses MONGODB_URI if set, else
// starts the embedded FerretDB test server. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { startTestServer } from '../test/support/server.js';
import { CHATTY, chattyBench } from './chatty.js';
import { checkpointBench } from './checkpoint.js';
import { median } from './median.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WAITER = join(root, 'bin', 'waiter.js');
const { values: opt } = parseArgs({
  options: {
    orders: { type: 'string', default: '200' }, // deliver: orders per run (claims are O(READY) on FerretDB v1)
    rows: { type: 'string', default: '1000000' }, // load/extract/status list size (~25 min on the FerretDB test server; --rows 100000 for a quick run)
    rounds: { type: 'string', default: '3' }, // A/B rounds; medians reported
    'spawn-orders': { type: 'string', default: '2000' }, // spawn-only bench (no server)
    'parallel-jobs': { type: 'string', default: '1000' }, // GNU parallel --sqlandworker run, scaled to --orders
    'status-runs': { type: 'string', default: '10' }, // status runs (median) at rows/10, and at full size with MONGODB_URI
    // At full size on the FerretDB test server a status at 1M takes ~2 min (it scans), so 3 runs there.
    'status-runs-full': { type: 'string' },
    only: { type: 'string', default: 'spawn,deliver,parts,latency,claim,data,nolock,unique,bar,serve,chatty,release,checkpoint' },
    'release-done': { type: 'string', default: '2000' }, // release section: DONE orders in the list (the FerretDB test server scans for the pipeline queries: ~10 s per release at 20,000)
    'release-waiting': { type: 'string', default: '100' }, // release section: WAITING orders released (a barrier's, and as many on ids)
    'serve-orders': { type: 'string', default: '100000' }, // serve: orders in the list behind GET /api/status
    'serve-seconds': { type: 'string', default: '10' }, // serve: how long autocannon runs
    'claim-ready': { type: 'string', default: '2000' }, // claim section: READY orders behind the held ones
    'claim-claims': { type: 'string', default: '30' }, // claim section: claims timed per point (each form)
    'claim-points': { type: 'string', default: '0,1000,4000' }, // claim section: live RUNNING orders held
    // checkpoint section (issue 27): fixtures/counter.sh counting to --checkpoint-steps, a step every --checkpoint-step s
    'checkpoint-steps': { type: 'string', default: '20' },
    'checkpoint-step': { type: 'string', default: '1' },
    'checkpoint-kill-at': { type: 'string' }, // the step at which box A goes (default: half-way)
    'checkpoint-every': { type: 'string', default: '5s' }, // deliver --checkpoint-every for the interruptions (the cost run stores every step)
    'checkpoint-lease': { type: 'string', default: '5s' }, // deliver --lease of both boxes: how long B waits after a kill -9
    'checkpoint-orders': { type: 'string', default: '4' }, // cost: orders under one deliver -x C, with and without --checkpoint
    'latency-orders': { type: 'string', default: '100' }, // latency section: orders per run
    latency: { type: 'string', default: '20' }, // latency section: ms each request is held
    'no-nolock': { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'bench', 'results.json') },
    'db-prefix': { type: 'string', default: 'bench' }, // databases used: <prefix>_deliver, _parts, _data, _nolock, _serve
  },
});
const N = Number(opt.orders);
const ROWS = Number(opt.rows);
const ROUNDS = Number(opt.rounds);
const SPAWN_N = Number(opt['spawn-orders']);
const PAR_JOBS = Number(opt['parallel-jobs']);
const STATUS_RUNS = Number(opt['status-runs']);
const STATUS_RUNS_FULL = Number(opt['status-runs-full'] ?? (process.env.MONGODB_URI ? STATUS_RUNS : Math.min(3, STATUS_RUNS)));
const DBP = opt['db-prefix'];
const LAT_ORDERS = Number(opt['latency-orders']);
const LATENCY = Number(opt.latency);
const SERVE_ROWS = Number(opt['serve-orders']);
const SERVE_SECONDS = Number(opt['serve-seconds']);
const only = new Set(opt.only.split(','));
if (opt['no-nolock']) only.delete('nolock');

// ---- tools ---------------------------------------------------------------
const INSTALL = 'sudo apt-get update && sudo apt-get install -y parallel libdbd-sqlite3-perl sqlite3 time findutils chromium';
const CHROMIUM = '/usr/bin/chromium';
const ok = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const tools = {
  xargs: ok('xargs', ['--version']),
  parallel: ok('parallel', ['--version']),
  'DBD::SQLite (libdbd-sqlite3-perl)': ok('perl', ['-MDBD::SQLite', '-e', '1']),
  sqlite3: ok('sqlite3', ['-version']),
  '/usr/bin/time (GNU time)': existsSync('/usr/bin/time') && ok('/usr/bin/time', ['-f', '%M', 'true']),
  'chromium (/usr/bin/chromium, for the page load)': existsSync(CHROMIUM),
  'script (util-linux)': ok('script', ['--version']),
};
const missing = Object.keys(tools).filter((t) => !tools[t]);
if (missing.length) {
  console.error(`bench: missing ${missing.join(', ')}; the figures needing them are left null.\n  install: ${INSTALL}`);
}
const hasTime = tools['/usr/bin/time (GNU time)'];
const hasParallel = tools.parallel && tools['DBD::SQLite (libdbd-sqlite3-perl)'];
if (!existsSync(join(root, 'dist', 'run.js'))) {
  console.error('bench: dist/ is missing; run `npm run bench` (it builds first)');
  process.exit(1);
}

// ---- helpers -------------------------------------------------------------
const round = (x, d = 2) => (x == null ? null : Number(x.toFixed(d)));
const ratio = (a, b) => (a == null || b == null ? null : round(a / b));
const log = (line) => process.stderr.write(`bench: ${line}\n`);

/** Run a command; wall ms from our clock, and user/sys/peak RSS from GNU time if present. */
async function run(cmd, args, { env = {}, stdin, timed = hasTime } = {}) {
  const tfile = join(work, `time-${process.hrtime.bigint()}`);
  const [file, argv] = timed ? ['/usr/bin/time', ['-f', '%U %S %M', '-o', tfile, cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const p = spawn(file, argv, { env: { ...process.env, ...env }, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  if (stdin) createReadStreamInto(stdin, p.stdin);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout = (stdout + d).slice(-4000)));
  p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const [code] = await once(p, 'close');
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-1000)}`);
  let cpu;
  if (timed) {
    const [u, s, kb] = readFileSync(tfile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpu = { cpuS: u + s, rssMB: kb / 1024 };
    rmSync(tfile, { force: true });
  }
  return { ms, stdout, stderr, ...cpu };
}
function createReadStreamInto(path, w) {
  w.end(readFileSync(path));
}
/** Runs bin/waiter.js; `self` is its own CPU (bench/usage.cjs), without its children's. */
const waiter = async (args, env, o = {}) => {
  const ufile = join(work, `usage-${process.hrtime.bigint()}`);
  const r = await run(process.execPath, ['-r', join(root, 'bench', 'usage.cjs'), WAITER, ...args], { env: { ...env, WAITER_BENCH_USAGE: ufile }, ...o });
  const self = existsSync(ufile) ? JSON.parse(readFileSync(ufile, 'utf8')) : null;
  rmSync(ufile, { force: true });
  return { ...r, self };
};

/** Empties the list and loads `csv` into it (untimed). */
async function reload(env, csv) {
  await waiter(['clean'], env, { timed: false });
  await waiter(['load', csv], env, { timed: false });
}
/** The count from deliver's last line, "Done. Delivered N orders." */
const delivered = (out) => Number(/Delivered ([\d,]+) orders?\./.exec(out)?.[1]?.replaceAll(',', '') ?? NaN);

async function writeCsv(path, n) {
  const w = createWriteStream(path);
  for (let i = 1; i <= n; i++) {
    if (!w.write(`${i},job-${i},x${i % 97}\n`)) await once(w, 'drain');
  }
  w.end();
  await once(w, 'finish');
}

/** Server CPU seconds so far (utime+stime), when we started the server ourselves. */
function serverCpu(pid) {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return null;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15; CLK_TCK is 100 on Linux
}

// ---- setup ---------------------------------------------------------------
const work = await mkdtemp(join(tmpdir(), 'waiter-bench-'));
const started = [];
let server;
let serverPid;
let uri = process.env.MONGODB_URI;
if (uri) {
  server = `MONGODB_URI (${uri.replace(/\/\/[^@/]*@/, '//***@')})`;
} else {
  log('starting the FerretDB test server (lock on)');
  const s = await startTestServer({ data: join(work, 'server') });
  started.push(s);
  uri = s.uri;
  serverPid = s.pid;
  server = 'embedded FerretDB v1 (SQLite) test server, every command serialised under one lock';
}
const client = await new MongoClient(uri).connect();
const info = await client
  .db('admin')
  .command({ buildInfo: 1 })
  .catch(() => ({}));
server += ` [buildInfo version ${info.version ?? '?'}${info.ferretdbVersion ? `, FerretDB ${info.ferretdbVersion}` : ''}]`;
await client.close();
const envFor = (db, u = uri) => ({ WAITER_KITCHEN: u, WAITER_DB: db, WAITER_LIST: 'orders' });

const results = {
  deliver_vs_xargs: null,
  deliver_vs_parallel_sql: null,
  deliver_4procs_vs_xargs: null,
  deliver_round_trips_per_order: null,
  claim_ms_vs_running: null,
  spawn_start_vs_xargs: null,
  spawn_start_vs_raw_spawn_pipe: null,
  spawn_usage_on_vs_off: null,
  load_vs_driver: null,
  load_vs_driver_no_index: null,
  extract_vs_driver: null,
  status_1m_seconds: null,
  status_seconds: null,
  serve: null,
  release: null,
  progress_bar_load: null,
  waiter_cpu_s_per_1000_orders: null,
  waiter_marginal_cpu_s_per_1000_orders: null,
  server_cpu_s_per_1000_orders: null,
  peak_rss_mb: {},
  nolock: null,
  server,
  measured_at: new Date().toISOString(),
  params: { orders: N, rows: ROWS, rounds: ROUNDS, spawn_orders: SPAWN_N, parallel_jobs: PAR_JOBS, concurrency: 4, serve_orders: SERVE_ROWS, serve_seconds: SERVE_SECONDS },
  medians_ms: {},
  missing_tools: missing,
};
const t = results.medians_ms;

try {
  // ---- 1a. spawn path without the server -----------------------------------
  if (only.has('spawn')) {
    log(`spawn-only: ${SPAWN_N} x true, 4 at a time, ${ROUNDS} rounds`);
    const lines = join(work, 'spawn.txt');
    await writeCsv(lines, SPAWN_N);
    const r = { start: [], 'start-usage': [], 'spawn-pipe': [], 'spawn-ignore': [], 'spawn-ignore-2threads': [], xargs: [], cpu: [], 'cpu-usage': [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const v of ['start', 'start-usage', 'spawn-pipe', 'spawn-ignore', 'spawn-ignore-2threads']) {
        const o = JSON.parse((await run(process.execPath, [join(root, 'bench', 'spawn.js'), v, String(SPAWN_N), '4'], { timed: false })).stdout);
        r[v].push(o.ms);
        if (v === 'start') r.cpu.push(o.cpuMs);
        if (v === 'start-usage') r['cpu-usage'].push(o.cpuMs);
      }
      if (tools.xargs) r.xargs.push((await run('xargs', ['-P', '4', '-n', '1', 'true'], { stdin: lines, timed: false })).ms);
    }
    t.spawn_start = median(r.start);
    t.spawn_start_usage = median(r['start-usage']);
    t.spawn_raw_pipe = median(r['spawn-pipe']);
    t.spawn_raw_ignore = median(r['spawn-ignore']);
    t.spawn_raw_ignore_2threads = median(r['spawn-ignore-2threads']);
    t.spawn_xargs = median(r.xargs);
    results.spawn_start_vs_xargs = ratio(t.spawn_start, t.spawn_xargs);
    results.spawn_start_vs_raw_spawn_pipe = ratio(t.spawn_start, t.spawn_raw_pipe);
    results.spawn_raw_ignore_vs_xargs = ratio(t.spawn_raw_ignore, t.spawn_xargs);
    results.spawn_raw_2threads_vs_main_thread = ratio(t.spawn_raw_ignore_2threads, t.spawn_raw_ignore);
    results.spawn_start_cpu_s_per_1000_orders = round(((median(r.cpu) / SPAWN_N) * 1000) / 1000, 3);
    // Usage per attempt (issue 28): on vs off, wall and waiter's own CPU, alternated in the same rounds.
    results.spawn_usage_on_vs_off = ratio(t.spawn_start_usage, t.spawn_start);
    results.spawn_usage_cpu_on_vs_off = ratio(median(r['cpu-usage']), median(r.cpu));
  }

  // ---- 1b. deliver through the server --------------------------------------
  if (only.has('deliver')) {
    log(`deliver: ${N} x true, ${ROUNDS} rounds (waiter -x 4, 4 waiters x -x 1, xargs, parallel --sqlandworker ${PAR_JOBS} jobs)`);
    const csv = join(work, 'deliver.csv');
    await writeCsv(csv, N);
    const parJobs = join(work, 'parallel.txt');
    await writeCsv(parJobs, PAR_JOBS);
    const env = envFor(`${DBP}_deliver`);
    const r = { x4: [], procs4: [], xargs: [], parallel: [], cpu: [], self: [], scpu: [], rss: [] };
    for (let i = 0; i < ROUNDS; i++) {
      await reload(env, csv);
      const s0 = serverCpu(serverPid);
      const a = await waiter(['deliver', '-x', '4', 'true'], env);
      const s1 = serverCpu(serverPid);
      if (delivered(a.stdout) !== N) throw new Error(`waiter -x 4 delivered ${delivered(a.stdout)} of ${N}`);
      r.x4.push(a.ms);
      r.cpu.push(a.cpuS);
      r.self.push(a.self?.cpuS);
      r.rss.push(a.rssMB);
      if (s0 != null) r.scpu.push(s1 - s0);

      if (tools.xargs) r.xargs.push((await run('xargs', ['-P', '4', '-n', '1', 'true'], { stdin: csv, timed: false })).ms);

      await reload(env, csv);
      const t0 = performance.now();
      const four = await Promise.all([1, 2, 3, 4].map(() => waiter(['deliver', 'true'], env, { timed: false })));
      r.procs4.push(performance.now() - t0);
      const sum = four.reduce((n, x) => n + delivered(x.stdout), 0);
      if (sum !== N) throw new Error(`4 waiters delivered ${sum} of ${N}`);

      if (hasParallel) {
        const db = join(work, `parallel-${i}.sqlite`);
        const url = `sqlite3:///${encodeURIComponent(db)}/jobs`;
        r.parallel.push((await run('parallel', ['--sqlandworker', url, '-j4', 'true', '{}', '::::', parJobs], { timed: false })).ms);
      }
    }
    t.deliver_x4 = median(r.x4);
    t.deliver_4procs = median(r.procs4);
    t.deliver_xargs = median(r.xargs);
    t.parallel_sql_per_run = median(r.parallel);
    t.parallel_sql_scaled = t.parallel_sql_per_run == null ? null : (t.parallel_sql_per_run * N) / PAR_JOBS;
    results.deliver_vs_xargs = ratio(t.deliver_x4, t.deliver_xargs);
    results.deliver_4procs_vs_xargs = ratio(t.deliver_4procs, t.deliver_xargs);
    results.deliver_vs_parallel_sql = ratio(t.deliver_x4, t.parallel_sql_scaled);
    results.deliver_ms_per_order = round(t.deliver_x4 / N, 1);
    // Own CPU of the waiter process (not the commands'), start-up included.
    results.waiter_cpu_s_per_1000_orders = round((median(r.self) / N) * 1000, 2);
    // GNU time's figure also counts the commands (1000 x `true`): what xargs pays too.
    results.waiter_cpu_with_commands_s_per_1000_orders = hasTime ? round((median(r.cpu) / N) * 1000, 2) : null;
    results.server_cpu_s_per_1000_orders = r.scpu.length ? round((median(r.scpu) / N) * 1000, 2) : null;
    results.peak_rss_mb.deliver = round(median(r.rss), 1);
    // One tenth of the list, as many rounds: peak RSS must not grow with the list, and
    // start-up (node, driver, connect) is paid once, so full minus tenth is the cost
    // of the orders alone.
    const nSmall = Math.max(1, Math.round(N / 10));
    const small = join(work, 'deliver-small.csv');
    await writeCsv(small, nSmall);
    const tenth = { rss: [], self: [] };
    for (let i = 0; i < ROUNDS; i++) {
      await reload(env, small);
      const a = await waiter(['deliver', '-x', '4', 'true'], env);
      tenth.rss.push(a.rssMB);
      tenth.self.push(a.self?.cpuS);
    }
    results.peak_rss_mb.deliver_tenth = round(median(tenth.rss), 1);
    const [full, part] = [median(r.self), median(tenth.self)];
    if (full != null && part != null && N > nSmall) {
      results.waiter_marginal_cpu_s_per_1000_orders = round(((full - part) / (N - nSmall)) * 1000, 2);
    }
  }

  // ---- 5. where waiter's own CPU per order goes -----------------------------
  if (only.has('parts')) {
    log(`parts: the deliver loop with the kitchen only / processes only / both, ${N} orders cold + ${N} warm, ${ROUNDS} rounds`);
    const r = {};
    for (let i = 0; i < ROUNDS; i++) {
      for (const v of ['spawn', 'kitchen', 'both']) {
        const o = JSON.parse((await run(process.execPath, [join(root, 'bench', 'parts.js'), v, String(N), '4', uri, `${DBP}_parts`, 'orders'], { timed: false })).stdout);
        for (const phase of ['cold', 'warm']) (r[`${v}_${phase}`] ??= []).push(o[phase].cpuMs);
      }
    }
    // CPU ms per order, median over rounds.
    results.cpu_ms_per_order = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(median(v) / N, 2)]));
  }

  // ---- 2-4, 6. load, extract, status ----------------------------------------
  // Every run gets its own list, dropped afterwards: `waiter clean` (deleteMany) of a
  // large list fails on FerretDB v1 ("too many SQL variables"), see README.
  let lists = 0;
  const dataBench = async (u, rows, rounds, statusRuns, db) => {
    const csv = join(work, `rows-${rows}.csv`);
    if (!existsSync(csv)) await writeCsv(csv, rows);
    const c = await new MongoClient(u).connect();
    const drop = (list) =>
      c
        .db(db)
        .collection(list)
        .drop()
        .catch(() => undefined);
    const out = join(work, 'extract.csv');
    const r = { load: [], bare: [], bareNoIndex: [], extract: [], bareExtract: [], loadRss: [], extractRss: [] };
    let env;
    for (let i = 0; i < rounds; i++) {
      const w = `w${++lists}`;
      env = { ...envFor(db, u), WAITER_LIST: w };
      const a = await waiter(['load', csv], env);
      r.load.push(a.ms);
      r.loadRss.push(a.rssMB);
      const e = await waiter(['extract', '-o', out], env);
      r.extract.push(e.ms);
      r.extractRss.push(e.rssMB);
      await drop(w);
      const b = `b${++lists}`;
      env = { ...envFor(db, u), WAITER_LIST: b };
      r.bare.push((await run(process.execPath, [join(root, 'bench', 'bare.js'), 'load', csv, u, db, b])).ms);
      r.bareExtract.push((await run(process.execPath, [join(root, 'bench', 'bare.js'), 'extract', out, u, db, b])).ms);
      if (i < rounds - 1) await drop(b);
      const n = `n${++lists}`;
      r.bareNoIndex.push((await run(process.execPath, [join(root, 'bench', 'bare.js'), 'load-noindex', csv, u, db, n])).ms);
      await drop(n);
    }
    // The list is loaded (by the bare script, same documents): time status on it.
    const st = [];
    for (let i = 0; i < statusRuns; i++) st.push((await waiter(['status', '--json'], env, { timed: false })).ms / 1000);
    await drop(env.WAITER_LIST);
    await c.close();
    return {
      rows,
      load_ms: median(r.load),
      bare_load_ms: median(r.bare),
      bare_load_noindex_ms: median(r.bareNoIndex),
      extract_ms: median(r.extract),
      bare_extract_ms: median(r.bareExtract),
      load_vs_driver: ratio(median(r.load), median(r.bare)),
      load_vs_driver_no_index: ratio(median(r.load), median(r.bareNoIndex)),
      extract_vs_driver: ratio(median(r.extract), median(r.bareExtract)),
      load_rss_mb: round(median(r.loadRss), 1),
      extract_rss_mb: round(median(r.extractRss), 1),
      status_s: round(median(st), 3),
      status_runs: statusRuns,
    };
  };
  if (only.has('data')) {
    log(`load/extract: ${ROWS} rows, ${ROUNDS} rounds, then status x ${STATUS_RUNS_FULL}`);
    const full = await dataBench(uri, ROWS, ROUNDS, STATUS_RUNS_FULL, `${DBP}_data`);
    log(`load/extract/status at one tenth: ${Math.round(ROWS / 10)} rows, 1 round, status x ${STATUS_RUNS}`);
    const tenth = await dataBench(uri, Math.round(ROWS / 10), 1, STATUS_RUNS, `${DBP}_data`);
    Object.assign(t, {
      load: full.load_ms,
      bare_load: full.bare_load_ms,
      bare_load_noindex: full.bare_load_noindex_ms,
      extract: full.extract_ms,
      bare_extract: full.bare_extract_ms,
    });
    results.load_vs_driver = full.load_vs_driver;
    results.load_vs_driver_no_index = full.load_vs_driver_no_index;
    results.extract_vs_driver = full.extract_vs_driver;
    results.status_seconds = [
      { rows: full.rows, median_s: full.status_s, runs: full.status_runs },
      { rows: tenth.rows, median_s: tenth.status_s, runs: tenth.status_runs },
    ];
    if (ROWS === 1_000_000) results.status_1m_seconds = full.status_s;
    Object.assign(results.peak_rss_mb, {
      load: full.load_rss_mb,
      load_tenth: tenth.load_rss_mb,
      extract: full.extract_rss_mb,
      extract_tenth: tenth.extract_rss_mb,
    });
    results.data_tenth = tenth;
  }
  // ---- load --unique (issue 11) ---------------------------------------------
  // Side by side per round: the bare driver (same documents, {status,_id} index), a
  // plain `waiter load`, a first `waiter load --unique` into an empty list (it also
  // builds the unique {key} index), then the same load again (every row a duplicate).
  if (only.has('unique')) {
    const rows = ROWS;
    log(`load --unique: ${rows} rows, ${ROUNDS} rounds`);
    const csv = join(work, `rows-${rows}.csv`);
    if (!existsSync(csv)) await writeCsv(csv, rows);
    const db = `${DBP}_unique`;
    const c = await new MongoClient(uri).connect();
    const drop = (list) =>
      c
        .db(db)
        .collection(list)
        .drop()
        .catch(() => undefined);
    const r = { bare: [], bareUnique: [], plain: [], first: [], repeat: [], firstRss: [], repeatRss: [] };
    for (let i = 0; i < ROUNDS; i++) {
      const b = `ub${++lists}`;
      r.bare.push((await run(process.execPath, [join(root, 'bench', 'bare.js'), 'load', csv, uri, db, b])).ms);
      await drop(b);
      const bu = `ubu${++lists}`;
      r.bareUnique.push((await run(process.execPath, [join(root, 'bench', 'bare.js'), 'load-unique', csv, uri, db, bu])).ms);
      await drop(bu);
      const p = `up${++lists}`;
      r.plain.push((await waiter(['load', csv], { ...envFor(db, uri), WAITER_LIST: p })).ms);
      await drop(p);
      const u = `uu${++lists}`;
      const env = { ...envFor(db, uri), WAITER_LIST: u };
      const first = await waiter(['load', '--unique', csv], env);
      const repeat = await waiter(['load', '--unique', csv], env);
      if (!/already there/.test(repeat.stdout) || !repeat.stdout.startsWith('Loaded 0 orders')) throw new Error(`repeated load --unique: ${repeat.stdout} ${repeat.stderr}`);
      r.first.push(first.ms);
      r.repeat.push(repeat.ms);
      r.firstRss.push(first.rssMB);
      r.repeatRss.push(repeat.rssMB);
      await drop(u);
    }
    // The repeat's kitchen side, before and after reading the list's keys once (where no
    // key lookup is pushed down: FerretDB v1): loadRows() in this process over one list,
    // alternated, without the key snapshot (every row a duplicate-key error) and with it.
    const ab = { first: [], errors: [], snapshot: [] };
    {
      const { Kitchen } = await import('../dist/kitchen.js');
      const { loadRows } = await import('../dist/load.js');
      const { KeySnapshot } = await import('../dist/kitchen/unique.js');
      const list = `uab${++lists}`;
      const k = await Kitchen.open({ uri, db, list });
      const rowsOf = async function* () {
        for (let i = 1; i <= rows; i++) yield [String(i), `job-${i}`, `x${i % 97}`];
      };
      const timed = async (into, keys) => {
        const t0 = performance.now();
        await loadRows(k, rowsOf(), rows, { unique: true, ...(keys ? { keys: new KeySnapshot(rows) } : {}) });
        into.push(performance.now() - t0);
      };
      await timed(ab.first, true);
      for (let i = 0; i < ROUNDS; i++) {
        await timed(ab.errors, false);
        await timed(ab.snapshot, true);
      }
      await k.close();
      await drop(list);
    }
    await c.close();
    Object.assign(t, {
      unique_bare: median(r.bare),
      unique_bare_unique: median(r.bareUnique),
      unique_plain: median(r.plain),
      unique_first: median(r.first),
      unique_repeat: median(r.repeat),
    });
    results.load_unique = {
      rows,
      rounds: ROUNDS,
      // The target compares like with like, as load_vs_driver does: the driver doing
      // load --unique's job (same documents and key, same unique index).
      first_vs_driver: ratio(median(r.first), median(r.bareUnique)),
      repeat_vs_driver: ratio(median(r.repeat), median(r.bareUnique)),
      repeat_vs_first: ratio(median(r.repeat), median(r.first)),
      plain_vs_driver: ratio(median(r.plain), median(r.bare)),
      first_vs_bare_load: ratio(median(r.first), median(r.bare)),
      driver_unique_index_cost: ratio(median(r.bareUnique), median(r.bare)),
      first_rss_mb: round(median(r.firstRss), 1),
      repeat_rss_mb: round(median(r.repeatRss), 1),
      medians_ms: { bare: median(r.bare), bare_unique: median(r.bareUnique), plain: median(r.plain), first: median(r.first), repeat: median(r.repeat) },
      // In-process loadRows() A/B of the repeat (kitchen side, no CSV check): with every
      // row met as a duplicate-key error, and with the list's keys read once.
      kitchen_repeat_errors_vs_first: ratio(median(ab.errors), median(ab.first)),
      kitchen_repeat_snapshot_vs_first: ratio(median(ab.snapshot), median(ab.first)),
      kitchen_ms: { first: median(ab.first), repeat_errors: median(ab.errors), repeat_snapshot: median(ab.snapshot) },
    };
  }
  // ---- the progress bar's cost on load (issue 9) ------------------------------
  // `waiter load` of --rows rows in a pseudo-terminal (script(1)), so stderr is a TTY
  // and the bar draws, vs the same with --quiet (no bar), alternated. Both run under
  // `script`, so the terminal's own cost is in both; waiter's own CPU from usage.cjs.
  if (only.has('bar')) {
    if (!tools['script (util-linux)']) {
      log('bar: script(1) missing, skipped');
    } else {
      const rows = ROWS;
      log(`bar: load of ${rows} rows in a pseudo-terminal, with the bar vs --quiet, ${ROUNDS} rounds`);
      const csv = join(work, `rows-${rows}.csv`);
      if (!existsSync(csv)) await writeCsv(csv, rows);
      const db = `${DBP}_bar`;
      const c = await new MongoClient(uri).connect();
      const r = { bar: [], quiet: [], barCpu: [], quietCpu: [] };
      for (let i = 0; i < ROUNDS; i++) {
        for (const kind of ['bar', 'quiet']) {
          const env = { ...envFor(db, uri), WAITER_LIST: `${kind}${++lists}` };
          const ufile = join(work, `usage-${process.hrtime.bigint()}`);
          const argv = [process.execPath, '-r', join(root, 'bench', 'usage.cjs'), WAITER, 'load', ...(kind === 'quiet' ? ['--quiet'] : []), csv];
          // exec: script's shell (/bin/sh) must not outlive the command (see cli-terminal.test.ts).
          const cmd = 'exec ' + argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
          const x = await run('script', ['-qfec', cmd, '/dev/null'], { env: { ...env, WAITER_BENCH_USAGE: ufile, SHELL: '/bin/sh', NO_COLOR: '' }, timed: false });
          if (!x.stdout.includes(`Loaded ${rows.toLocaleString('en-US')} orders`)) throw new Error(`bar: load in a terminal printed ${x.stdout.slice(-300)}`);
          if ((kind === 'bar') !== /loading .*100%/.test(x.stdout)) throw new Error(`bar: the ${kind} run ${kind === 'bar' ? 'drew no' : 'drew a'} bar`);
          r[kind].push(x.ms);
          r[`${kind}Cpu`].push(existsSync(ufile) ? JSON.parse(readFileSync(ufile, 'utf8')).cpuS : null);
          rmSync(ufile, { force: true });
          await c.db(db).collection(env.WAITER_LIST).drop(); // not `waiter clean`: see dataBench
        }
      }
      await c.close();
      t.bar_load = median(r.bar);
      t.bar_load_quiet = median(r.quiet);
      results.progress_bar_load = {
        rows,
        rounds: ROUNDS,
        wall_vs_quiet: ratio(median(r.bar), median(r.quiet)),
        cpu_vs_quiet: ratio(median(r.barCpu), median(r.quietCpu)),
        medians_ms: { bar: median(r.bar), quiet: median(r.quiet) },
        cpu_s: { bar: round(median(r.barCpu), 3), quiet: round(median(r.quietCpu), 3) },
      };
    }
  }
  // ---- round trips per order on the critical path ---------------------------
  // deliver -x 1 over the same list against the test server as is and with every
  // request held LATENCY ms (a network round trip): the difference per order, in
  // round trips, is what a remote kitchen adds to each order.
  if (only.has('latency') && !process.env.MONGODB_URI) {
    const M = LAT_ORDERS;
    log(`latency: deliver -x 1 over ${M} orders, test server as is vs with ${LATENCY} ms per request, ${ROUNDS} rounds`);
    const s = await startTestServer({ data: join(work, 'server-latency'), latencyMs: LATENCY });
    started.push(s);
    const csv = join(work, 'latency.csv');
    await writeCsv(csv, M);
    const r = { zero: [], lat: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const [key, u] of [
        ['zero', uri],
        ['lat', s.uri],
      ]) {
        const env = envFor(`${DBP}_latency`, u);
        await reload(env, csv);
        const a = await waiter(['deliver', 'true'], env, { timed: false });
        if (delivered(a.stdout) !== M) throw new Error(`deliver with latency ${key} delivered ${delivered(a.stdout)} of ${M}`);
        r[key].push(a.ms);
      }
    }
    t.latency_deliver_zero = median(r.zero);
    t.latency_deliver = median(r.lat);
    results.deliver_round_trips_per_order = round((t.latency_deliver - t.latency_deliver_zero) / (M * LATENCY), 2);
  }

  // ---- claim latency against live RUNNING orders ------------------------------
  if (only.has('claim')) {
    log(`claim: ${opt['claim-claims']} claims per form with ${opt['claim-points']} live RUNNING orders heartbeating, ${opt['claim-ready']} READY`);
    const o = JSON.parse(
      (await run(process.execPath, [join(root, 'bench', 'claim.js'), uri, `${DBP}_claim`, opt['claim-ready'], opt['claim-claims'], opt['claim-points']], { timed: false })).stdout,
    );
    results.claim_ms_vs_running = o.points.map((p) => ({ ...p, vs_former: ratio(p.claim_ms, p.former_claim_ms) }));
    results.params.claim_ready = o.ready;
  }

  // ---- release of WAITING orders (issue 18): bench/release.js ----------------------
  if (only.has('release')) {
    log(`release: ${opt['release-waiting']} WAITING behind ${opt['release-done']} DONE (a barrier, and on ids), ${ROUNDS} rounds`);
    results.release = JSON.parse(
      (await run(process.execPath, [join(root, 'bench', 'release.js'), uri, `${DBP}_release`, opt['release-done'], opt['release-waiting'], String(ROUNDS)], { timed: false }))
        .stdout,
    );
    const c = await new MongoClient(uri).connect();
    await c.db(`${DBP}_release`).dropDatabase();
    await c.close();
  }

  if (only.has('nolock') && !process.env.MONGODB_URI) {
    const rows = Math.round(ROWS / 10);
    log(`no-lock server: load/extract/status at ${rows} rows, ${ROUNDS} rounds`);
    const s = await startTestServer({ data: join(work, 'server-nolock'), noLock: true });
    started.push(s);
    results.nolock = await dataBench(s.uri, rows, ROUNDS, STATUS_RUNS, `${DBP}_nolock`);
    results.nolock.locked_same_size = results.data_tenth ?? null;
  }

  // ---- 7. waiter serve: GET /api/status under load, and the page's first load -----
  // 20 autocannon clients on GET /api/status over a list of --serve-orders orders;
  // the first request (nothing cached: what one status costs the kitchen) timed on its
  // own. The page: from navigation to the counts drawn, in headless Chromium, on a
  // fresh server (cold: every panel waits for the kitchen) and again (warm).
  if (only.has('serve')) {
    log(`serve: ${SERVE_ROWS} orders, GET /api/status x 20 clients for ${SERVE_SECONDS} s, page first load`);
    const env = envFor(`${DBP}_serve`);
    const csv = join(work, 'serve.csv');
    await writeCsv(csv, SERVE_ROWS);
    await reload(env, csv);
    const startServe = async () => {
      const p = spawn(process.execPath, [WAITER, 'serve', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      const url = await new Promise((resolve, reject) => {
        const check = () => {
          const m = /(http:\/\/\S+\/)/.exec(out);
          if (m) return resolve(m[1]);
          if (p.exitCode !== null) return reject(new Error(`waiter serve exited: ${out}`));
          setTimeout(check, 20);
        };
        check();
      });
      return {
        url,
        stop: async () => {
          p.kill('SIGTERM');
          if (p.exitCode === null) await once(p, 'exit');
        },
      };
    };
    const timedGet = async (url) => {
      const t0 = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      return performance.now() - t0;
    };
    const serve = { orders: SERVE_ROWS, clients: 20, seconds: SERVE_SECONDS };
    let srv = await startServe();
    try {
      serve.status_cold_ms = round(await timedGet(`${srv.url}api/status`), 1);
      log(`serve: cold GET /api/status ${serve.status_cold_ms} ms`);
      const autocannon = (await import('autocannon')).default;
      // The oldest answer served (its Age header): never above the documented bound.
      let maxAge = 0;
      const onResponse = (_status, _body, _context, headers) => {
        const age = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'age')?.[1];
        maxAge = Math.max(maxAge, Number(age ?? 0));
      };
      const r = await autocannon({ url: `${srv.url}api/status`, connections: 20, duration: SERVE_SECONDS, requests: [{ onResponse }] });
      // Recorded, not thrown: a run where every client timed out says so in the results.
      serve.status_errors = { errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx };
      serve.status_requests_per_s = round(r.requests.average, 0);
      serve.status_latency_ms = { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max };
      serve.status_max_age_s = maxAge;
      log(
        `serve: ${serve.status_requests_per_s} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max Age ${maxAge} s, ${r.errors} errors (${r.timeouts} timeouts), ${r.non2xx} non-2xx`,
      );
      serve.page_html_ms = round(await timedGet(srv.url), 1);
    } finally {
      await srv.stop();
    }
    if (existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      const profile = join(work, 'chromium-profile');
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      srv = await startServe();
      try {
        const load = async () => {
          const page = await browser.newPage();
          const t0 = performance.now();
          await page.goto(srv.url);
          // Every panel drawn: the counts, the chart and the failed list.
          await page.waitForFunction(
            () =>
              /\d/.test(document.getElementById('count-total')?.textContent ?? '') &&
              document.querySelectorAll('#chart rect').length === 60 &&
              (document.getElementById('updated')?.textContent ?? '').startsWith('updated'),
            undefined,
            { timeout: 600_000, polling: 20 },
          );
          const ms = performance.now() - t0;
          await page.close();
          return round(ms, 1);
        };
        serve.page_first_load_cold_ms = await load();
        serve.page_first_load_warm_ms = await load();
      } finally {
        await srv.stop();
        await browser.close();
      }
    } else {
      serve.page_first_load_cold_ms = null;
      serve.page_first_load_warm_ms = null;
    }
    results.serve = serve;
    const c = await new MongoClient(uri).connect();
    await c.db(`${DBP}_serve`).dropDatabase();
    await c.close();
  }
  // ---- checkpoints (issue 27): work re-done per interruption, and what --checkpoint costs: bench/checkpoint.js ----
  if (only.has('checkpoint')) {
    const steps = Number(opt['checkpoint-steps']);
    const killAt = Number(opt['checkpoint-kill-at'] ?? Math.ceil(steps / 2));
    log(`checkpoint: counter to ${steps}, a step every ${opt['checkpoint-step']} s, killed at step ${killAt}; cost with ${opt['checkpoint-orders']} orders; ${ROUNDS} rounds`);
    const db = `${DBP}_checkpoint`;
    const cp = await checkpointBench({
      uri,
      db,
      envFor: (list) => ({ ...envFor(db), WAITER_LIST: list }),
      waiter,
      log,
      work,
      root,
      rounds: ROUNDS,
      steps,
      step: Number(opt['checkpoint-step']),
      killAt,
      every: opt['checkpoint-every'],
      lease: opt['checkpoint-lease'],
      orders: Number(opt['checkpoint-orders']),
    });
    results.checkpoint_redone_seconds_without = cp.redone_seconds_without;
    results.checkpoint_redone_seconds_with = cp.redone_seconds_with;
    results.checkpoint_redone_seconds_notice = cp.redone_seconds_notice;
    results.checkpoint_cost_ratio = cp.cost_ratio;
    results.checkpoint = cp.detail;
    const c = await new MongoClient(uri).connect();
    await c.db(db).dropDatabase();
    await c.close();
  }
  // ---- live output of a chatty command (issue 17): bench/chatty.js --------------
  if (only.has('chatty')) {
    log(`chatty: ${CHATTY} under deliver, live output vs --keep-output 0, ${ROUNDS} rounds`);
    const dist = (m) => import(join(root, 'dist', m));
    const db = `${DBP}_chatty`;
    results.chatty = await chattyBench({
      rounds: ROUNDS,
      waiter,
      log,
      uri,
      db,
      envFor: (list) => ({ ...envFor(db), WAITER_LIST: list }),
      live: await dist('output/live.js'),
      store: await dist('kitchen/output.js'),
      start: await dist('run.js'),
    });
    const c = await new MongoClient(uri).connect();
    await c.db(db).dropDatabase();
    await c.close();
  }
} finally {
  for (const s of started) await s.stop();
  rmSync(work, { recursive: true, force: true });
}

// ---- report --------------------------------------------------------------
const f = (x, unit = '') => (x == null ? 'n/a' : `${x}${unit}`);
const rss = results.peak_rss_mb;
const rows = [
  ['deliver -x 4 vs xargs -P 4', f(results.deliver_vs_xargs, 'x'), '<= 1.5x', `${N} x true: ${f(round(t.deliver_x4))} ms vs ${f(round(t.deliver_xargs))} ms`],
  ['4 waiters x -x 1 vs xargs', f(results.deliver_4procs_vs_xargs, 'x'), '', `${f(round(t.deliver_4procs))} ms`],
  [
    'deliver -x 1: round trips per order',
    f(results.deliver_round_trips_per_order),
    '',
    `${LAT_ORDERS} orders, +${LATENCY} ms per request: ${f(round(t.latency_deliver))} ms vs ${f(round(t.latency_deliver_zero))} ms`,
  ],
  ['deliver -x 4 vs parallel --sqlandworker', f(results.deliver_vs_parallel_sql, 'x'), '', `parallel: ${f(round(t.parallel_sql_per_run))} ms / ${PAR_JOBS} jobs, scaled to ${N}`],
  ['spawn-only: start() vs xargs', f(results.spawn_start_vs_xargs, 'x'), '<= 1.5x', `${SPAWN_N} x true: ${f(round(t.spawn_start))} ms vs ${f(round(t.spawn_xargs))} ms`],
  [
    'spawn-only: usage on vs off',
    f(results.spawn_usage_on_vs_off, 'x'),
    '<= 1.05x',
    `${SPAWN_N} x true: ${f(round(t.spawn_start_usage))} ms vs ${f(round(t.spawn_start))} ms; waiter's CPU ${f(results.spawn_usage_cpu_on_vs_off, 'x')}`,
  ],
  [
    'spawn-only: start() vs raw spawn (pipes)',
    f(results.spawn_start_vs_raw_spawn_pipe, 'x'),
    '',
    `raw pipes ${f(round(t.spawn_raw_pipe))} ms, raw ignore ${f(round(t.spawn_raw_ignore))} ms`,
  ],
  [
    'spawn-only: raw spawn, 2 threads vs main',
    f(results.spawn_raw_2threads_vs_main_thread, 'x'),
    '',
    `2 worker threads ${f(round(t.spawn_raw_ignore_2threads))} ms (stdio ignored)`,
  ],
  ['load vs bare driver (same index)', f(results.load_vs_driver, 'x'), '<= 1.2x', `${ROWS} rows: ${f(round(t.load))} ms vs ${f(round(t.bare_load))} ms`],
  ['load vs bare driver (no index)', f(results.load_vs_driver_no_index, 'x'), '', `bare without the {status,_id} index: ${f(round(t.bare_load_noindex))} ms`],
  ['extract vs bare driver', f(results.extract_vs_driver, 'x'), '<= 1.2x', `${f(round(t.extract))} ms vs ${f(round(t.bare_extract))} ms`],
  ...(results.status_seconds ?? []).map((s) => [`status (${s.rows} orders)`, f(s.median_s, ' s'), '<= 0.5 s @1M', `median of ${s.runs}`]),
  [
    'waiter CPU per 1000 orders (own)',
    f(results.waiter_cpu_s_per_1000_orders, ' s'),
    '',
    `start-up included; with the commands' CPU: ${f(results.waiter_cpu_with_commands_s_per_1000_orders, ' s')}`,
  ],
  [
    'waiter CPU per 1000 orders (marginal)',
    f(results.waiter_marginal_cpu_s_per_1000_orders, ' s'),
    '',
    `full minus tenth-size run; spawn-only: ${f(results.spawn_start_cpu_s_per_1000_orders, ' s')}`,
  ],
  ['server CPU per 1000 orders', f(results.server_cpu_s_per_1000_orders, ' s'), '', 'test server pid, /proc utime+stime'],
  ...(results.cpu_ms_per_order
    ? [
        [
          'CPU ms/order: kitchen / processes / both',
          ['kitchen', 'spawn', 'both'].map((v) => f(results.cpu_ms_per_order[`${v}_warm`])).join(' / '),
          '',
          `warm; cold: ${['kitchen', 'spawn', 'both'].map((v) => f(results.cpu_ms_per_order[`${v}_cold`])).join(' / ')} (bench/parts.js)`,
        ],
      ]
    : []),
  ...(results.load_unique
    ? [
        [
          'load --unique, first vs driver (same key index)',
          f(results.load_unique.first_vs_driver, 'x'),
          '<= 1.2x',
          `${results.load_unique.rows} rows: ${f(round(t.unique_first))} ms vs ${f(round(t.unique_bare_unique))} ms (plain load vs bare driver ${f(results.load_unique.plain_vs_driver, 'x')})`,
        ],
        [
          'load --unique, first vs bare load (no key index)',
          f(results.load_unique.first_vs_bare_load, 'x'),
          '',
          `a bare load: ${f(round(t.unique_bare))} ms; the index costs the driver itself ${f(results.load_unique.driver_unique_index_cost, 'x')}`,
        ],
        [
          'load --unique, repeated vs driver',
          f(results.load_unique.repeat_vs_driver, 'x'),
          '',
          `every row already there: ${f(round(t.unique_repeat))} ms (${f(results.load_unique.repeat_vs_first, 'x')} the first); peak RSS ${f(results.load_unique.first_rss_mb)} / ${f(results.load_unique.repeat_rss_mb)} MB`,
        ],
        [
          'load --unique, repeat in-process: errors / keys read',
          `${f(results.load_unique.kitchen_repeat_errors_vs_first, 'x')} / ${f(results.load_unique.kitchen_repeat_snapshot_vs_first, 'x')}`,
          '',
          `vs the first (${f(round(results.load_unique.kitchen_ms.first))} ms): every row a duplicate-key error, or the list's keys read once`,
        ],
      ]
    : []),
  ...(results.progress_bar_load
    ? [
        [
          'load with the progress bar vs --quiet',
          f(results.progress_bar_load.wall_vs_quiet, 'x'),
          '< 1.02x',
          `${results.progress_bar_load.rows} rows in a pseudo-terminal: ${f(round(t.bar_load))} ms vs ${f(round(t.bar_load_quiet))} ms; waiter's CPU ${f(results.progress_bar_load.cpu_vs_quiet, 'x')}`,
        ],
      ]
    : []),
  ['peak RSS load (full / tenth)', `${f(rss.load)} / ${f(rss.load_tenth)} MB`, '<= 150, flat', ''],
  ['peak RSS extract (full / tenth)', `${f(rss.extract)} / ${f(rss.extract_tenth)} MB`, '<= 150, flat', ''],
  ['peak RSS deliver (full / tenth)', `${f(rss.deliver)} / ${f(rss.deliver_tenth)} MB`, '<= 150, flat', ''],
];
for (const p of results.claim_ms_vs_running ?? []) {
  rows.push([
    `claim with ${p.running} live RUNNING`,
    f(p.claim_ms, ' ms'),
    '',
    `former $or claim ${f(p.former_claim_ms, ' ms')} (${f(p.vs_former, 'x')}), ${results.params.claim_ready} READY`,
  ]);
}
if (results.serve) {
  const sv = results.serve;
  rows.push([
    `serve: GET /api/status, 20 clients (${sv.orders} orders)`,
    `${f(sv.status_requests_per_s)} req/s`,
    '',
    `p50 ${f(sv.status_latency_ms?.p50)} ms, p99 ${f(sv.status_latency_ms?.p99)} ms; first (uncached) ${f(sv.status_cold_ms)} ms`,
  ]);
  rows.push([
    'serve: page first load (cold / warm)',
    `${f(sv.page_first_load_cold_ms)} / ${f(sv.page_first_load_warm_ms)} ms`,
    '',
    `navigation to every panel drawn, headless Chromium; HTML alone ${f(sv.page_html_ms)} ms`,
  ]);
}
if (results.nolock) {
  const n = results.nolock;
  const l = n.locked_same_size;
  rows.push([
    `no-lock server (${n.rows} rows)`,
    `load ${f(n.load_vs_driver, 'x')}, extract ${f(n.extract_vs_driver, 'x')}`,
    '',
    `status ${f(n.status_s, ' s')}; locked: load ${f(l?.load_ms && round(l.load_ms))} ms vs ${f(round(n.load_ms))}, status ${f(l?.status_s, ' s')}`,
  ]);
}
if (results.chatty) {
  const ch = results.chatty;
  rows.push([
    'deliver 135 MB of output: live vs none',
    f(ch.live_vs_no_live_output, 'x'),
    '<= 1.2x',
    `${f(ch.medians_ms?.live)} ms vs ${f(ch.medians_ms?.no_live_output)} ms; RSS ${f(ch.peak_rss_mb?.live)} / ${f(ch.peak_rss_mb?.no_live_output)} MB`,
  ]);
  rows.push([
    '  its kitchen writes',
    `${f(ch.writes_per_s)}/s`,
    '<= 1/s',
    `${ch.kitchen_writes} in ${ch.seconds} s, at most ${ch.most_writes_in_one_second} in one second; ${ch.bytes_kept} bytes kept (cap ${ch.keep_output})`,
  ]);
}
if (results.release) {
  const rl = results.release;
  rows.push([
    `release per order: barrier / on ids (${rl.waiting} WAITING, ${rl.done} DONE)`,
    `${f(rl.barrier_release_ms_per_order)} / ${f(rl.ids_release_ms_per_order)} ms`,
    '',
    `${f(rl.barrier_release_per_order_vs_claim, 'x')} / ${f(rl.ids_release_per_order_vs_claim, 'x')} a claim (${f(rl.claim_ms)} ms)`,
  ]);
  rows.push([
    'release check, nothing releasable: finish / idle',
    `${f(rl.check_finish_ms)} / ${f(rl.check_all_ms)} ms`,
    '',
    `${f(rl.check_finish_vs_claim, 'x')} / ${f(rl.check_all_vs_claim, 'x')} a claim; idle check vs a tenth of the DONE orders ${f(rl.check_all_vs_tenth_list, 'x')}`,
  ]);
}
if (results.checkpoint) {
  const cp = results.checkpoint;
  const p = cp.params;
  rows.push([
    'checkpoint: s re-done per kill -9, without / with',
    `${f(results.checkpoint_redone_seconds_without)} / ${f(results.checkpoint_redone_seconds_with)} s`,
    `with <= ${f(cp.redone_bound_s)} s`,
    `counter to ${p.steps}, a step every ${p.step_s} s, box killed at step ${p.kill_at}, --checkpoint-every ${p.checkpoint_every}; B took over ${f(cp.takeover_s.kill_with)} s after (--lease ${p.lease})`,
  ]);
  rows.push(['  on a notice (--interruption-file)', f(results.checkpoint_redone_seconds_notice, ' s'), '', `B took over ${f(cp.takeover_s.notice)} s after the notice`]);
  rows.push([
    'checkpoint: cost, --checkpoint vs without',
    f(results.checkpoint_cost_ratio, 'x'),
    '',
    `${p.cost_orders} orders, a checkpoint stored each step: order ${f(cp.cost_order_ms.with)} ms vs ${f(cp.cost_order_ms.without)} ms; deliver ${f(cp.cost_deliver_ratio, 'x')}, waiter's CPU ${f(cp.cost_waiter_cpu_ratio, 'x')}`,
  ]);
}
const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
console.log(`waiter bench: ${server}\n${results.measured_at}; orders=${N} rows=${ROWS} rounds=${ROUNDS}\n`);
for (const r of rows) console.log(`${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}`);
writeFileSync(opt.out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${opt.out}`);
