// `npm run demo` (the README's first command) works end to end, and on its own
// throw-away server: it empties its list first, so a user's exported WAITER_* settings
// must never point it at their kitchen.
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { ROOT, kitchenEnv } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { needsGo } from './support/gates.js';
import { MONGOD_LOOKUP_TIMEOUT_MS } from './support/server.js';

const k = useDb();

const go = needsGo();
test.runIf(go.run)(
  go.title('npm run demo delivers the walkthrough on its own server, whatever WAITER_* says'),
  async () => {
    await k.db.collection('mine').insertOne({ status: 'READY', arguments: ['precious'], attempts: 0 });
    const databases = async () => (await k.client.db().admin().listDatabases()).databases.map((d) => d.name);
    expect(await databases()).not.toContain('waiter-demo');
    const r = await execa('node', ['scripts/demo.js'], { cwd: ROOT, reject: false, env: kitchenEnv(k, { WAITER_LIST: 'mine' }) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^waiter demo: using (a throw-away mongod|the embedded FerretDB test server) \(/); // which server, first
    for (const step of ['$ waiter clean', '$ waiter load fixtures/orders.csv', '$ waiter waiters', '$ waiter extract']) expect(r.stdout).toContain(step);
    expect(r.stdout).toMatch(/DONE +12/);
    expect(await k.db.collection('mine').countDocuments()).toBe(1);
    expect(await k.db.listCollections({ name: 'orders' }).toArray()).toEqual([]);
    // Its own server: nothing at all on the user's (WAITER_KITCHEN), not even its own database.
    expect(await databases()).not.toContain('waiter-demo');
  },
  120_000,
);

// WAITER_DEMO_KITCHEN: the user's own MongoDB (here the tests' server), its database
// waiter-demo, which the demo empties; the WAITER_* settings exported beside it are left alone.
test('with WAITER_DEMO_KITCHEN the demo says so first and runs there, in its database waiter-demo', async () => {
  await k.db.collection('mine').insertOne({ status: 'READY', arguments: ['precious'], attempts: 0 });
  const demo = k.client.db('waiter-demo');
  try {
    const r = await execa('node', ['scripts/demo.js'], { cwd: ROOT, reject: false, env: kitchenEnv(k, { WAITER_LIST: 'mine', WAITER_DEMO_KITCHEN: k.uri }) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`waiter demo: using WAITER_DEMO_KITCHEN (${k.uri}), database waiter-demo`);
    for (const step of ['$ waiter clean', '$ waiter load fixtures/orders.csv', '$ waiter waiters', '$ waiter extract']) expect(r.stdout).toContain(step);
    expect(r.stdout).toMatch(/DONE +12/);
    // There, not on a server of its own: the orders it delivered are in waiter-demo.
    expect(await demo.collection('orders').countDocuments({ status: 'DONE' })).toBe(12);
    expect(await k.db.collection('mine').countDocuments()).toBe(1);
  } finally {
    await demo.dropDatabase();
  }
}, 120_000);

// A fresh clone after `npm ci` (its own node_modules, no test server built in it) with a PATH
// that has node and no go, and none of MONGODB_URI, WAITER_DEMO_KITCHEN, MONGOMS_SYSTEM_BINARY:
// the demo runs on a mongod when mongodb-memory-server can get one within its stated limit;
// where it cannot (here the download fails: ENOTFOUND), one line says what to install and
// names that limit. Either first line comes within that limit plus a margin for Node's
// start-up on a loaded machine (a bound, not a benchmark).
const limitS = MONGOD_LOOKUP_TIMEOUT_MS / 1000;
const START_UP_MARGIN_MS = 20_000;
test(
  `without Go and without a server, the demo runs on mongod or says in one line what to install, naming its ${limitS} s mongod limit, within it`,
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-nogo-'));
    try {
      for (const f of ['scripts/demo.js', 'test/support/server.js', 'test/server/go.mod', 'test/server/go.sum', 'test/server/main.go']) {
        await mkdir(join(dir, dirname(f)), { recursive: true });
        await cp(join(ROOT, f), join(dir, f));
      }
      for (const f of ['package.json', 'bin', 'dist', 'fixtures']) await symlink(join(ROOT, f), join(dir, f));
      await mkdir(join(dir, 'node_modules'));
      for (const m of await readdir(join(ROOT, 'node_modules'))) {
        if (m !== '.cache') await symlink(join(ROOT, 'node_modules', m), join(dir, 'node_modules', m));
      }
      const bin = join(dir, 'bin-without-go');
      await mkdir(bin);
      await symlink(process.execPath, join(bin, 'node'));
      const unset = { MONGODB_URI: undefined, WAITER_DEMO_KITCHEN: undefined, WAITER_MONGOD_TIMEOUT_MS: undefined, MONGOMS_SYSTEM_BINARY: undefined };
      const started = Date.now();
      const p = execa(join(bin, 'node'), [join(dir, 'scripts', 'demo.js')], { cwd: dir, reject: false, env: { ...unset, PATH: bin } });
      // Its first line, on either stream: which server, or what to install.
      let firstLineMs = Infinity;
      for (const s of [p.stdout, p.stderr]) s.once('data', () => (firstLineMs = Math.min(firstLineMs, Date.now() - started)));
      const r = await p;
      expect(firstLineMs, 'its first line within the stated limit (plus start-up)').toBeLessThan(MONGOD_LOOKUP_TIMEOUT_MS + START_UP_MARGIN_MS);
      if (r.stdout.startsWith('waiter demo: using a throw-away mongod')) {
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/DONE +12/);
        return;
      }
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^waiter demo: nothing to run on \\(no mongod within the ${limitS} s limit: .+; no Go to build the embedded test server\\): install mongod .* or Go \\(1\\.22 or later\\) .*, or set WAITER_DEMO_KITCHEN=<mongodb uri>$`,
        ),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  MONGOD_LOOKUP_TIMEOUT_MS + 120_000,
);
