// `npm run demo` (the README's first command) works end to end, and on its own
// throw-away server: it empties its list first, so a user's exported WAITER_* settings
// must never point it at their kitchen.
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { ROOT, kitchenEnv } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { needsGo } from './support/gates.js';

const k = useDb();

const go = needsGo();
test.runIf(go.run)(go.title('npm run demo delivers the walkthrough on its own server, whatever WAITER_* says'), async () => {
  await k.db.collection('mine').insertOne({ status: 'READY', arguments: ['precious'], attempts: 0 });
  const databases = async () => (await k.client.db().admin().listDatabases()).databases.map((d) => d.name);
  expect(await databases()).not.toContain('waiter-demo');
  const r = await execa('node', ['scripts/demo.js'], { cwd: ROOT, reject: false, env: kitchenEnv(k, { WAITER_LIST: 'mine' }) });
  expect(r.exitCode, r.stderr).toBe(0);
  for (const step of ['$ waiter clean', '$ waiter load fixtures/orders.csv', '$ waiter waiters', '$ waiter extract']) expect(r.stdout).toContain(step);
  expect(r.stdout).toMatch(/DONE +12/);
  expect(await k.db.collection('mine').countDocuments()).toBe(1);
  expect(await k.db.listCollections({ name: 'orders' }).toArray()).toEqual([]);
  // Its own server: nothing at all on the user's (WAITER_KITCHEN), not even its own database.
  expect(await databases()).not.toContain('waiter-demo');
}, 120_000);

test('without Go (and no test server built yet) the demo says in one line what to install or set, as `waiter demo:`', async () => {
  // A copy of the demo and its server helper whose build cache is empty, run with a PATH without go.
  const { cp, mkdir, mkdtemp, symlink } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join, dirname } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'waiter-nogo-'));
  for (const f of ['scripts/demo.js', 'test/support/server.js', 'test/server/go.mod', 'test/server/go.sum', 'test/server/main.go']) {
    await mkdir(join(dir, dirname(f)), { recursive: true });
    await cp(join(ROOT, f), join(dir, f));
  }
  const bin = join(dir, 'bin-without-go');
  await mkdir(bin);
  await symlink(process.execPath, join(bin, 'node'));
  const r = await execa(join(bin, 'node'), [join(dir, 'scripts', 'demo.js')], { reject: false, env: { PATH: bin, WAITER_DEMO_KITCHEN: '' } });
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^waiter demo: Go \(1\.22 or later\) builds the embedded test server .*WAITER_DEMO_KITCHEN=<mongodb uri>.*$/);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
});
