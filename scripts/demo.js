#!/usr/bin/env node
// npm run demo: the seed README's walkthrough (load, deliver with three waiters, status,
// waiters, extract) on a throw-away kitchen, stopped at the end: WAITER_DEMO_KITCHEN if set
// (a MongoDB of the user's, its database waiter-demo, which the demo empties), else a real
// mongod through mongodb-memory-server when one can be had within the tests' time limit,
// else the embedded test server (built with Go on first use). Its first step empties the
// list, so it never uses the WAITER_* settings a user may have exported.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { goAvailable, locateMongod, mongodLookupTimeoutMs, redactUri, startMongod, startTestServer } from '../test/support/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Every line the demo itself prints starts `waiter demo:`. The first says which server it
// runs on (before starting it: a first Go build takes minutes), or, when there is none,
// what to install: one line, no stack. The mongod lookup has the tests' limit (20 s).
const mine = process.env.WAITER_DEMO_KITCHEN;
let server;
try {
  if (mine) {
    console.log(`waiter demo: using WAITER_DEMO_KITCHEN (${redactUri(mine)}), database waiter-demo`);
  } else {
    const limit = mongodLookupTimeoutMs();
    const mongod = await locateMongod(limit);
    const none = `no mongod within the ${limit / 1000} s limit: ${mongod.why}`;
    if (mongod.path) {
      console.log(`waiter demo: using a throw-away mongod (mongodb-memory-server: ${mongod.path})`);
      server = await startMongod(mongod.path);
    } else if (goAvailable()) {
      console.log(`waiter demo: using the embedded FerretDB test server (${none})`);
      server = await startTestServer({ label: 'waiter demo' });
    } else {
      console.error(
        `waiter demo: nothing to run on (${none}; no Go to build the embedded test server): install mongod (MongoDB 5.0 or later, on PATH) or Go (1.22 or later) from https://go.dev/dl/ or your package manager, or set WAITER_DEMO_KITCHEN=<mongodb uri>`,
      );
      process.exit(1);
    }
  }
} catch (err) {
  console.error(`waiter demo: could not start the server: ${err.message.replace(/^waiter demo: /, '').replace(/\s+/g, ' ')}`);
  process.exit(1);
}
const env = { ...process.env, WAITER_KITCHEN: mine || server.uri, WAITER_DB: 'waiter-demo' };
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
