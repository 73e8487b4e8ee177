#!/usr/bin/env node
// npm run package [-- --out DIR --no-sea --no-pack]
//
// From the sources in src/ (and the lockfile's node_modules), builds into DIR (default dist/):
//   waiter.cjs        every dependency bundled; runs with any Node >= 20.19: node waiter.cjs …
//   waiter-linux-x64  Node's single executable application: that bundle inside this Node
//                     binary, run with no Node installed (built on linux-x64 only)
//   waiter-V.tgz      the npm tarball (npm pack), which installs the usual way
// `npm run package` runs `npm run build` first (the tarball holds dist/*.js).
//
// esbuild bundles (0.2-0.5 s for the whole CLI, one npm package with its platform binary,
// no plugins needed beyond the one below); postject (Node's own tool for SEA) injects.
// The driver's optional native add-ons stay outside: the driver require()s them in a
// try/catch and says what to install when a feature needs one, so the bundle works without
// them. Next to waiter.cjs they can be installed with npm; the executable cannot load
// them (its require() only knows Node's built-in modules): see docs/running-a-fleet.md, "Install on a box".
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { optionalAddons, yargsLocales } from './bundle-plugins.js';
import { stale } from './page.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'dist') },
    'no-sea': { type: 'boolean', default: false },
    'no-pack': { type: 'boolean', default: false },
  },
});
const out = resolve(opt.out);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(out, { recursive: true });

const t0 = performance.now();
// The bundle takes the committed page: one not made from the sources beside it is refused, as
// `npm test` refuses it, not rewritten (into src/, where tests may be reading it, whatever --out says).
if (await stale()) fail('src/serve/page.generated.ts is not current with src/serve/page/: npm run page');
const bundle = join(out, 'waiter.cjs');
const result = await build({
  stdin: {
    contents: "import { runMain } from './src/cli.ts';\nvoid runMain();\n",
    resolveDir: root,
    sourcefile: 'waiter-main.ts',
    loader: 'ts',
  },
  outfile: bundle,
  bundle: true,
  platform: 'node',
  // CommonJS: Node 20's single executable applications run a CommonJS main script.
  format: 'cjs',
  target: 'node20.19',
  // import() becomes require(): the executable's main script has no dynamic import (Node 20
  // says "A dynamic import callback was not specified"), and the driver imports 'os' so.
  supported: { 'dynamic-import': false },
  // Whitespace and syntax only: identifiers keep their names (errors are named after their
  // class, and a stack from a user should be readable).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  define: {
    __WAITER_VERSION__: JSON.stringify(pkg.version),
    // ESM-only dependencies (yargs) read import.meta.url, which CommonJS output lacks.
    'import.meta.url': '__waiter_import_meta_url',
  },
  inject: [join(root, 'scripts', 'package-shim.js')],
  plugins: [optionalAddons(root), yargsLocales(root)],
  logLevel: 'warning',
  metafile: true,
});
chmodSync(bundle, 0o755);
const bundled = Object.keys(result.metafile.inputs).length;
console.log(`${rel(bundle)}: ${mb(bundle)} MB, ${bundled} modules (${ms(t0)} ms)`);

if (!opt['no-sea']) {
  if (process.platform === 'linux' && process.arch === 'x64') sea();
  else console.log(`no single executable: this is ${process.platform}-${process.arch}, waiter builds it for linux-x64 only`);
}
if (!opt['no-pack']) {
  const t = performance.now();
  // Scripts off: `npm run package` built dist/ already (prepare would build it again).
  const r = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) fail(`npm pack failed:\n${r.stderr}`);
  const [{ filename, size, entryCount }] = JSON.parse(r.stdout);
  console.log(`${rel(join(out, filename))}: ${(size / 1e6).toFixed(2)} MB, ${entryCount} files (${ms(t)} ms)`);
}

/** Node's SEA recipe: a preparation blob from a config, copied node binary, blob injected under the fuse. */
function sea() {
  const t = performance.now();
  const exe = join(out, 'waiter-linux-x64');
  const blob = join(out, 'waiter.blob');
  const config = join(out, 'sea-config.json');
  // useCodeCache: V8's compiled code travels in the blob (start-up, measured in bench/package.js).
  writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  const r = spawnSync(process.execPath, ['--experimental-sea-config', config], { encoding: 'utf8' });
  if (r.status !== 0) fail(`node --experimental-sea-config failed:\n${r.stderr}`);
  rmSync(exe, { force: true });
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  const p = spawnSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { encoding: 'utf8' });
  if (p.status !== 0) fail(`postject failed (does ${process.execPath} have the SEA fuse?):\n${p.stderr || p.stdout}`);
  rmSync(blob);
  rmSync(config);
  console.log(`${rel(exe)}: ${mb(exe)} MB, Node ${process.version} inside (${ms(t)} ms)`);
}

function fail(msg) {
  console.error(`npm run package: ${msg}`);
  process.exit(1);
}
function rel(p) {
  return p.startsWith(root) ? p.slice(root.length + 1) : p;
}
function mb(p) {
  return (statSync(p).size / 1e6).toFixed(1);
}
function ms(t) {
  return Math.round(performance.now() - t);
}
