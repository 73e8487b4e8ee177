// Where waiter's own CPU per order goes: the real deliver loop (dist/deliver/loop.js)
// run three ways in a fresh process each, timing only the loop (start-up excluded),
// first cold (the first N orders a waiter delivers: V8 has not optimised the code yet),
// then warm (the next N, as in a long run):
//   both     the real kitchen and real processes (what `waiter deliver` does)
//   kitchen  the real kitchen (claim + finish), a process that "ends" at once
//   spawn    real processes, an in-memory list instead of the kitchen
// Prints one JSON line {cold: {ms, cpuMs}, warm: {ms, cpuMs}, orders}. The server's
// time is not in cpuMs.
//   node bench/parts.js <both|kitchen|spawn> <N> <C> <uri> <db> <list>
import { Writable } from 'node:stream';
import { ObjectId } from 'mongodb';
import { options as deliverOptions } from '../dist/commands/deliver.js';
import { deliver } from '../dist/deliver/loop.js';
import { Shutdown } from '../dist/deliver/shutdown.js';
import { Kitchen } from '../dist/kitchen.js';
import { start } from '../dist/run.js';

const [variant, n, c, uri, db, list] = process.argv.slice(2);
const N = Number(n);
const C = Number(c);
if (!['both', 'kitchen', 'spawn'].includes(variant) || !(N > 0) || !(C > 0)) {
  console.error('usage: node bench/parts.js <both|kitchen|spawn> <N> <C> <uri> <db> <list>');
  process.exit(2);
}
const devnull = new Writable({ write: (_chunk, _enc, done) => done() });

/** The list in memory: what the kitchen's claim/finish return, with no server. */
function memoryKitchen() {
  let left = 2 * N;
  return {
    claim: async (waiter, _lease, now, token) =>
      left-- > 0 ? { id: new ObjectId(), token, attempt: 1, waiter, start: now, arguments: [String(left), 'a', 'b'], history: [] } : null,
    heartbeat: async () => 'ours',
    finish: async () => true,
  };
}
const instant = () => ({ outcome: Promise.resolve({ exitCode: 0, output: '' }), terminate: () => undefined });

let kitchen;
if (variant !== 'spawn') {
  kitchen = await Kitchen.open({ uri, db, list });
  await kitchen.orders.deleteMany({});
  for (let i = 0; i < 2 * N; i += 1000) {
    await kitchen.insertOrders(
      Array.from({ length: Math.min(1000, 2 * N - i) }, (_, j) => [String(i + j), 'a', 'b']),
      { due: new Date() },
    );
  }
}

// The options `waiter deliver -x C --max N true` gets: deliver's own parser, its defaults.
const opts = deliverOptions({ concurrency: String(C), max: String(N) }, ['true'], { kitchen: uri, db, list, name: 'bench' });
const deps = {
  kitchen: kitchen ?? memoryKitchen(),
  start: variant === 'kitchen' ? instant : start,
  stdout: devnull,
  stderr: devnull,
  log: (line) => devnull.write(`${line}\n`),
  shutdown: new Shutdown(),
};
const timed = async () => {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r = await deliver(opts, deps);
  const cpu = process.cpuUsage(cpu0);
  if (r.delivered !== N) throw new Error(`delivered ${r.delivered} of ${N}`);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
};
const cold = await timed();
const warm = await timed();
await kitchen?.close();
console.log(JSON.stringify({ cold, warm, orders: N }));
