#!/usr/bin/env node
// npm run demo: the seed README's walkthrough (load, deliver with three waiters, status,
// waiters, extract) on a throw-away kitchen: the embedded test server (built with Go on
// first use), stopped at the end. Its first step empties the list, so it never uses the
// WAITER_* settings a user may have exported; WAITER_DEMO_KITCHEN names a MongoDB to use
// instead (its database waiter-demo, which the demo empties).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { goAvailable, startTestServer } from '../test/support/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Every line the demo itself prints starts `waiter demo:`; one line, no stack, when it cannot start.
if (!process.env.WAITER_DEMO_KITCHEN && !goAvailable()) {
  console.error('waiter demo: Go (1.22 or later) builds the embedded test server the first time and is not on PATH: install it (https://go.dev/dl/ or your package manager), or set WAITER_DEMO_KITCHEN=<mongodb uri> to run the demo on a MongoDB of yours');
  process.exit(1);
}
let server;
try {
  server = process.env.WAITER_DEMO_KITCHEN ? undefined : await startTestServer({ label: 'waiter demo' });
} catch (err) {
  console.error(`waiter demo: could not start the embedded test server: ${err.message.replace(/^waiter demo: /, '')}`);
  process.exit(1);
}
const env = { ...process.env, WAITER_KITCHEN: process.env.WAITER_DEMO_KITCHEN ?? server.uri, WAITER_DB: 'waiter-demo' };
delete env.WAITER_LIST;
delete env.WAITER_NAME;

function waiter(args, name) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/waiter.js', ...args], {
      cwd: root,
      env: name ? { ...env, WAITER_NAME: name } : env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = name ? `${name} | ` : '';
    for (const s of [child.stdout, child.stderr]) {
      s.on('data', (d) => process.stdout.write(d.toString().replace(/^(?=.)/gm, prefix)));
    }
    child.on('exit', (code) => resolve(code));
  });
}

async function step(args) {
  console.log(`\n$ waiter ${args.join(' ')}`);
  const code = await waiter(args);
  if (code !== 0) throw new Error(`waiter ${args[0]} exited ${code}`);
}

try {
  await step(['clean']);
  await step(['load', 'fixtures/orders.csv']);
  await step(['status']);
  console.log('\n$ waiter deliver ./fixtures/crunch.sh --some-param some-value   # three of them at once');
  const codes = await Promise.all(['waiter-1', 'waiter-2', 'waiter-3'].map((n) => waiter(['deliver', './fixtures/crunch.sh', '--some-param', 'some-value'], n)));
  if (codes.some((c) => c !== 0)) throw new Error(`a waiter exited ${codes.join(', ')}`);
  await step(['status']);
  await step(['waiters']);
  await step(['extract']);
} catch (err) {
  console.error(`waiter demo: failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  await server?.stop();
}
