// Spawn-only bench: run `true` N times, C at a time, with no server involved, so
// waiter's own per-order cost (dist/run.js start(): own process group, piped and
// prefixed output, output tail) can be compared with raw child_process.spawn. Prints one JSON line {ms, cpuMs}.
//   node bench/spawn.js <start|start-usage|spawn-pipe|spawn-ignore|spawn-ignore-2threads> <N> <C>
// start-usage: start() with usage per attempt on (src/usage/: a meter per command, the
// /proc looks each second), as deliver runs it; start is the same with usage off.
// spawn-ignore-2threads: spawn-ignore from two worker threads (N/2 each, C/2 at a
// time), to see whether spawning off the main thread would pay (bench/README.md).
import { spawn } from 'node:child_process';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { start } from '../dist/run.js';
import { Sampler } from '../dist/usage/sampler.js';

const [variant, n = '1000', c = '4'] = isMainThread ? process.argv.slice(2) : workerData;
const N = Number(n);
const C = Number(c);
const devnull = () => new Writable({ write: (_chunk, _enc, done) => done() });
const out = devnull();
const err = devnull();

const THREADED = 'spawn-ignore-2threads';
let sampler;
const once = {
  // What `waiter deliver -x C` does per order, minus the kitchen.
  start: (i) =>
    start({
      file: 'true',
      args: [String(i), 'a', 'b'],
      env: { WAITER_ORDER_ID: String(i), WAITER_NAME: 'bench', WAITER_ATTEMPT: '1' },
      killAfterMs: 10_000,
      ...(C > 1 ? { prefix: `[${i}] ` } : {}),
      stdout: out,
      stderr: err,
    }).outcome,
  // The same with usage on: one sampler for the run, a meter per command, its usage awaited as the attempt does.
  'start-usage': async (i) => {
    const watch = (sampler ??= new Sampler()).meter();
    await start({
      file: 'true',
      args: [String(i), 'a', 'b'],
      env: { WAITER_ORDER_ID: String(i), WAITER_NAME: 'bench', WAITER_ATTEMPT: '1' },
      killAfterMs: 10_000,
      ...(C > 1 ? { prefix: `[${i}] ` } : {}),
      stdout: out,
      stderr: err,
      watch,
    }).outcome;
    return watch.end();
  },
  // The same process setup (own group, piped output read to the end), nothing else.
  'spawn-pipe': (i) =>
    new Promise((resolve, reject) => {
      const p = spawn('true', [String(i), 'a', 'b'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout.on('data', () => {});
      p.stderr.on('data', () => {});
      p.on('error', reject);
      p.on('close', resolve);
    }),
  // No pipes at all: output would go straight to waiter's own stdout/stderr.
  'spawn-ignore': (i) =>
    new Promise((resolve, reject) => {
      const p = spawn('true', [String(i), 'a', 'b'], { detached: true, stdio: 'ignore' });
      p.on('error', reject);
      p.on('exit', resolve);
    }),
}[variant === THREADED ? 'spawn-ignore' : variant];
if (!once) {
  console.error(`usage: node bench/spawn.js <start|start-usage|spawn-pipe|spawn-ignore|spawn-ignore-2threads> <N> <C>`);
  process.exit(2);
}

const t0 = performance.now();
const cpu0 = process.cpuUsage(); // the whole process: all its threads
if (variant === THREADED) {
  const half = (x) => String(Math.max(1, Math.round(x / 2)));
  await Promise.all(
    [0, 1].map(
      () => new Promise((resolve, reject) => new Worker(new URL(import.meta.url), { workerData: ['spawn-ignore', half(N), half(C)] }).on('error', reject).on('exit', resolve)),
    ),
  );
} else {
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await once(next++);
    }),
  );
}
if (!isMainThread) process.exit(0);
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 }));
