#!/usr/bin/env node
// The last step of `npm run build`: src/ bundled by esbuild into dist/bundle/, which
// bin/waiter.js runs. Why: a command starts in about half the CPU time of the ~130
// modules tsc writes to dist/ plus their dependencies' (`waiter --version`: 0.23 s user
// against 0.54 s on one machine, /usr/bin/time), and every command a user or a script
// types pays that start (the test suite pays it at every one of its CLI calls). ESM with
// code splitting: what a command imports lazily (the server, prom-client, the progress
// bar) is a chunk of its own, loaded only by the commands that use it. tsc's dist/*.js
// stay: the type declarations, and scripts/commands-doc.js reads the CLI from them.
import { dirname, join, resolve } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { optionalAddons, yargsLocales } from './bundle-plugins.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
rmSync(out, { recursive: true, force: true });
let build;
try {
  ({ build } = await import('esbuild'));
} catch (err) {
  // A platform without esbuild's binary still builds: bin/waiter.js then runs tsc's dist/.
  console.log(`no dist/bundle/ (esbuild cannot be loaded: ${err.message.split('\n')[0]}); bin/waiter.js runs dist/cli.js, which starts slower`);
  process.exit(0);
}
await build({
  entryPoints: { cli: join(root, 'src', 'cli.ts') },
  outdir: out,
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  // The CommonJS dependencies (the driver) call require(): ESM output has none of its own.
  banner: { js: "import { createRequire as __waiterRequire } from 'node:module'; const require = __waiterRequire(import.meta.url);" },
  define: { __WAITER_VERSION__: JSON.stringify(pkg.version) },
  plugins: [optionalAddons(root), yargsLocales(root)],
  // Readable stacks: names and lines kept, as tsc's output had them.
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
