#!/usr/bin/env node
// node bench/merge.js <section-run.json> "<command that produced it>" ["note"]
//
// A full `npm run bench` takes ~30 min, so single sections are often re-run on their
// own (`--only X --out /tmp/x.json`). This copies the figures such a run measured
// (its non-null keys, not its metadata) into bench/results.json and records where they
// came from in `later_sections`, so every figure in the file names its command and time.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [from, command, note] = process.argv.slice(2);
if (!from || !command) {
  console.error('usage: node bench/merge.js <section-run.json> "<command>" ["note"]');
  process.exit(2);
}
const META = new Set(['server', 'measured_at', 'params', 'medians_ms', 'missing_tools', 'peak_rss_mb', 'later_sections', 'stale']);
const target = join(dirname(fileURLToPath(import.meta.url)), 'results.json');
const run = JSON.parse(readFileSync(from, 'utf8'));
const results = JSON.parse(readFileSync(target, 'utf8'));
const keys = Object.keys(run).filter((k) => !META.has(k) && run[k] !== null);
if (keys.length === 0) {
  console.error(`${from}: no measured figures in it`);
  process.exit(1);
}
for (const k of keys) results[k] = run[k];
// `stale` marks figures known to be out of date (and where the newer one is): measured again, they are not.
if (results.stale) {
  for (const k of keys) delete results.stale[k];
  if (Object.keys(results.stale).length === 0) delete results.stale;
}
results.later_sections = [
  // A key measured again replaces its earlier record.
  ...(results.later_sections ?? []).map((s) => ({ ...s, keys: s.keys.filter((k) => !keys.includes(k)) })).filter((s) => s.keys.length),
  { keys, command, measured_at: run.measured_at, server: run.server, ...(note ? { note } : {}) },
];
writeFileSync(target, `${JSON.stringify(results, null, 2)}\n`);
console.log(`bench/results.json: ${keys.join(', ')} from ${from} (${run.measured_at})`);
