#!/usr/bin/env node
// node scripts/clean-dist.js [DIR]: the first step of `npm run build`. tsc writes dist/
// but never removes from it, so the output of a module since moved or removed (say
// dist/report.js) would stay, be importable and be packed ("files": ["dist"]). This
// removes what tsc writes (.js, .d.ts and their .map) and the folders left empty; the
// package's own single files (waiter.cjs, waiter-linux-x64, the .tgz) stay.
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TSC_OUTPUT = /\.(js|d\.ts)(\.map)?$/;

/** Removes tsc's outputs under `dir`; true when `dir` is left empty. */
function clean(dir) {
  let left = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() ? clean(p) : TSC_OUTPUT.test(e.name)) {
      if (e.isDirectory()) rmdirSync(p);
      else rmSync(p);
    } else left++;
  }
  return left === 0;
}

const dist = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
try {
  clean(dist);
} catch (err) {
  if (err.code !== 'ENOENT') throw err; // no dist/ yet: nothing to remove
}
