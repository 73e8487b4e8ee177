// Spawn-only bench: run `true` N times, C at a time, with no server involved, so
// waiter's own per-order cost (dist/run.js start(), i.e. execa + output piping) can
// be compared with raw child_process.spawn. Prints one JSON line {ms, cpuMs}.
//   node bench/spawn.js <start|spawn-pipe|spawn-ignore> <N> <C>
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { start } from '../dist/run.js';

const [variant, n = '1000', c = '4'] = process.argv.slice(2);
const N = Number(n);
const C = Number(c);
const devnull = () => new Writable({ write: (_chunk, _enc, done) => done() });
const out = devnull();
const err = devnull();

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
  // The same process setup (own group, piped output read to the end), no execa.
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
}[variant];
if (!once) {
  console.error(`usage: node bench/spawn.js <start|spawn-pipe|spawn-ignore> <N> <C>`);
  process.exit(2);
}

let next = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await Promise.all(
  Array.from({ length: C }, async () => {
    while (next < N) await once(next++);
  }),
);
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 }));
