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

// A fresh clone after `npm ci` (its own node_modules, no test server built in it) with a PATH
// that has node and no go, and none of MONGODB_URI, WAITER_DEMO_KITCHEN, MONGOMS_SYSTEM_BINARY:
// the demo runs on a mongod when mongodb-memory-server can get one within its stated limit;
// where it cannot (here the download fails: ENOTFOUND), one line says what to install and
// names that limit. The limit is the one the tests use; this test's own timeout is the guard.
const limitS = MONGOD_LOOKUP_TIMEOUT_MS / 1000;
test(
  `without Go and without a server, the demo runs on mongod or says in one line what to install, naming its ${limitS} s mongod limit`,
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
      const r = await execa(join(bin, 'node'), [join(dir, 'scripts', 'demo.js')], { cwd: dir, reject: false, env: { ...unset, PATH: bin } });
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
