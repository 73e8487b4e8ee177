// `npm run package`'s two single files, run the way a box without Node runs them: from a
// temporary folder outside the checkout, with a PATH on which no `node` can be found.
// The executable must need nothing else; dist/waiter.cjs needs a Node and nothing else
// (no node_modules: there are none above the temporary folder).
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FIXTURES, ROOT, until, waiter } from './support/cli.js';
import { gate } from './support/gates.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let tmp = '';
let out = '';
let work = '';
let bin = '';
let packageLog = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'waiter-package-'));
  out = join(tmp, 'out');
  work = join(tmp, 'work');
  bin = join(tmp, 'bin');
  await mkdir(work);
  await mkdir(bin);
  // The only programs on PATH: a shell and sleep, for the orders' scripts. No node, no npm.
  await symlink('/bin/sh', join(bin, 'sh'));
  await symlink('/bin/sleep', join(bin, 'sleep'));
  // dist/ is built by `npm test` (as for every CLI test); this bundles it and makes the executable.
  const r = await execa(process.execPath, [join(ROOT, 'scripts', 'package.js'), '--out', out], { cwd: ROOT, reject: false });
  packageLog = `${r.stdout}\n${r.stderr}`;
  if (r.exitCode !== 0) throw new Error(`scripts/package.js failed:\n${packageLog}`);
}, 280_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Kind = 'executable' | 'bundle';
const KINDS: Kind[] = ['executable', 'bundle'];
// scripts/package.js makes the executable from the Node running it, on linux-x64 only.
const exe = gate(process.platform === 'linux' && process.arch === 'x64', 'the single executable is built on linux-x64 only', { failInCI: false });

/** The program and its leading arguments: the executable alone, or this Node with the bundle. */
function command(kind: Kind): [string, string[]] {
  return kind === 'executable' ? [join(out, 'waiter-linux-x64'), []] : [process.execPath, [join(out, 'waiter.cjs')]];
}

/** An environment of only what is named: PATH without node, the test's kitchen, neutral locale. */
function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: bin, HOME: work, LC_ALL: 'C.UTF-8', WAITER_KITCHEN: k.uri, WAITER_DB: k.name, ...extra };
}

function run(kind: Kind, args: string[], opts: Options = {}): ResultPromise<{ reject: false }> {
  const [file, lead] = command(kind);
  const o = { cwd: work, reject: false, stdin: 'ignore', extendEnv: false, env: bareEnv(), ...opts } as Options;
  return execa(file, [...lead, ...args], o) as unknown as ResultPromise<{ reject: false }>;
}

describe('npm run package', () => {
  test('makes the bundle, the executable and an npm tarball without either', async () => {
    expect(packageLog).toMatch(/waiter\.cjs: [\d.]+ MB/);
    expect(existsSync(join(out, 'waiter-linux-x64'))).toBe(exe.run);
    const tgz = join(out, `waiter-${version}.tgz`);
    const list = (await execa('tar', ['tzf', tgz])).stdout.split('\n');
    expect(list).toEqual(expect.arrayContaining(['package/bin/waiter.js', 'package/dist/bundle/cli.js', 'package/dist/cli.js', 'package/package.json', 'package/README.md']));
    expect(list.filter((f) => /waiter\.cjs|waiter-linux-x64|\.tgz$/.test(f))).toEqual([]);
  });

  test('the tarball holds no dist/ output whose source in src/ is gone (the build empties dist/ of old outputs first)', async () => {
    const list = (await execa('tar', ['tzf', join(out, `waiter-${version}.tgz`)])).stdout.split('\n');
    // dist/bundle/ is esbuild's (made anew by each build), not tsc's: its files have no source of their own.
    const compiled = list.filter((f) => /^package\/dist\/.*\.js(\.map)?$/.test(f) && !f.startsWith('package/dist/bundle/'));
    expect(compiled).toContain('package/dist/cli.js');
    const orphans = compiled.filter((f) => !existsSync(join(ROOT, 'src', f.slice('package/dist/'.length).replace(/\.js(\.map)?$/, '.ts'))));
    expect(orphans).toEqual([]);
  });

  test('no node is reachable on the PATH the single files run with', async () => {
    const r = await execa('/bin/sh', ['-c', 'command -v node || echo none'], { extendEnv: false, env: bareEnv(), cwd: work });
    expect(r.stdout).toBe('none');
  });
});

describe.each(KINDS.filter((kind) => kind === 'bundle' || exe.run))('the %s', (kind) => {
  test('--version, --help and completion print what node bin/waiter.js prints', async () => {
    const v = await run(kind, ['--version']);
    expect([v.exitCode, v.stdout, v.stderr]).toEqual([0, version, '']);
    for (const args of [['--help'], ['deliver', '--help'], ['completion'], ['--get-yargs-completions', 'st']]) {
      const [mine, node] = await Promise.all([run(kind, args), waiter(k, args)]);
      expect({ args, code: mine.exitCode, out: mine.stdout, err: mine.stderr }).toEqual({ args, code: node.exitCode, out: node.stdout, err: node.stderr });
    }
    // yargs' own messages are translated as by node: its locale files are inside.
    const de = { ...bareEnv(), LC_ALL: 'de_DE.UTF-8' };
    const [mine, node] = await Promise.all([run(kind, ['--help'], { env: de }), waiter(k, ['--help'], { env: { LC_ALL: 'de_DE.UTF-8' } })]);
    expect(mine.stdout).toContain('Hilfe anzeigen');
    expect(mine.stdout).toBe(node.stdout);
  });

  test('load, deliver -x 2 and status against the kitchen', async () => {
    await writeFile(join(work, 'jobs.csv'), ['a', 'b', 'c', 'd', 'e', 'f'].join('\n'));
    const job = join(work, 'job.sh');
    await writeFile(job, '#!/bin/sh\necho "did $1"\n');
    await chmod(job, 0o755);

    const load = await run(kind, ['load', 'jobs.csv']);
    expect([load.exitCode, load.stdout, load.stderr]).toEqual([0, 'Loaded 6 orders', '']);
    const deliver = await run(kind, ['-n', `box-${kind}`, 'deliver', '-x', '2', './job.sh']);
    expect(deliver.exitCode).toBe(0);
    // One line per order started, as from node bin/waiter.js; nothing else (no warning, no stack).
    const started = deliver.stderr.split('\n');
    expect(started).toHaveLength(6);
    for (const line of started) expect(line).toMatch(/^waiter: delivering [0-9a-f]{24} \(attempt 1\): \["[a-f]"\]$/);
    const orders = await k.db.collection('orders').find({}).sort({ _id: 1 }).toArray();
    // With -x 2 each output line is prefixed by its order's id.
    const lines = orders.map((o) => `[${o._id.toHexString()}] did ${o.arguments[0]}`);
    expect(deliver.stdout.split('\n').sort()).toEqual(['Done. Delivered 6 orders.', ...lines].sort());
    expect(orders.map((o) => [o.arguments, o.status, o.exitCode, o.waiter])).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((a) => [[a], 'DONE', 0, `box-${kind}`]));
    const status = await run(kind, ['status', '--json']);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ DONE: 6, READY: 0, total: 6 });
  });

  test('a driver add-on left out (kerberos) fails as the driver says, one line, exit 3; no warning', async () => {
    const gssapi = new URL(k.uri);
    gssapi.username = 'someone';
    gssapi.password = '';
    gssapi.search = '?authMechanism=GSSAPI';
    const r = await run(kind, ['status', '--kitchen', gssapi.href]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^waiter: cannot reach the kitchen at \S+: Optional module `kerberos` not found\. Please install it to enable kerberos authentication$/);
  });

  test('serve answers /api/status and /metrics and serves the page node serves', async () => {
    await k.db.collection('orders').insertMany([
      { status: 'READY', arguments: ['x'], attempts: 0 },
      { status: 'DONE', arguments: ['y'], attempts: 1, stop: new Date() },
    ]);
    const [file, lead] = command(kind);
    const served = async (p: ReturnType<typeof execa>) => {
      let text = '';
      p.stdout?.on('data', (d: Buffer) => (text += d.toString()));
      return until(() => /(http:\/\/\S+\/)/.exec(text)?.[1], 30_000, 'serve to print its URL');
    };
    const mine = execa(file, [...lead, 'serve', '--port', '0'], { cwd: work, reject: false, extendEnv: false, env: bareEnv() });
    const node = waiter(k, ['serve', '--port', '0']);
    try {
      const [url, nodeUrl] = await Promise.all([served(mine), served(node)]);
      const res = await fetch(new URL('/api/status', url));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ READY: 1, DONE: 1, total: 2 });
      // prom-client is imported on the first scrape: bundled all the same (no require() of node_modules at run time).
      expect(await (await fetch(new URL('/metrics', url))).text()).toContain('waiter_orders{state="DONE"} 1');
      const [page, nodePage] = await Promise.all([fetch(url).then((r) => r.text()), fetch(nodeUrl).then((r) => r.text())]);
      expect(page).toContain('<html');
      expect(page).toBe(nodePage);
    } finally {
      mine.kill('SIGTERM');
      node.kill('SIGTERM');
      await Promise.all([mine, node]);
    }
  });

  test('load draws its progress bar on a terminal', async () => {
    await writeFile(join(work, 'rows.csv'), Array.from({ length: 300 }, (_, i) => `row${i}`).join('\n'));
    const [file, lead] = command(kind);
    const cmd = 'exec ' + [file, ...lead, 'load', 'rows.csv'].map((a) => `'${a}'`).join(' ');
    // `script` gives it a pseudo-terminal; /usr/bin/script by its path: PATH has no such thing.
    const r = await execa('/usr/bin/script', ['-qfec', cmd, '/dev/null'], { cwd: work, reject: false, extendEnv: false, env: { ...bareEnv(), SHELL: '/bin/sh' } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/loading .*100% \| 300\/300 rows/);
    expect(r.stdout).toContain('Loaded 300 orders');
  });
});

describe.runIf(exe.run)(exe.title('deploy/Containerfile'), () => {
  test('its ENTRYPOINT and CMD, run with the executable outside a container: one order, exit 0', async () => {
    const text = await readFile(join(ROOT, 'deploy', 'Containerfile'), 'utf8');
    const json = (name: string) => JSON.parse(new RegExp(`^${name} (.*)$`, 'm').exec(text)![1]!) as string[];
    const entry = json('ENTRYPOINT');
    const cmd = json('CMD');
    // tini only forwards signals; the job is the repository's file the image copies.
    expect(entry.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    const args = cmd.map((a) => (a === '/opt/jobs/crunch.sh' ? `${FIXTURES}crunch.sh` : a));
    await k.db.collection('orders').insertMany([
      { status: 'READY', arguments: ['first'], attempts: 0 },
      { status: 'READY', arguments: ['second'], attempts: 0 },
    ]);
    const r = await run('executable', args);
    expect([r.exitCode, r.stdout]).toEqual([0, 'Crunching on: first\ndone!\nDone. Delivered 1 order.']);
    const statuses = (await k.db.collection('orders').find({}).sort({ _id: 1 }).toArray()).map((o) => o.status);
    expect(statuses).toEqual(['DONE', 'READY']);
  });
});

describe.runIf(exe.run)(exe.title('bench/package.js'), () => {
  test('runs at toy sizes on the single files built above and writes its figures (no timing asserted)', async () => {
    const file = join(tmp, 'bench.json');
    const r = await execa(process.execPath, [join(ROOT, 'bench', 'package.js'), '--from', out, '--orders', '4', '--rounds', '1', '--starts', '1', '--db', k.name, '--out', file], {
      cwd: ROOT,
      reject: false,
      env: { MONGODB_URI: k.uri },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const res = JSON.parse(await readFile(file, 'utf8'));
    expect(res.package_size_mb.executable).toBeGreaterThan(res.package_size_mb.bundle);
    expect(res.package_start.executable_vs_node_bin).toBeGreaterThan(0);
    expect(res.package_deliver).toMatchObject({ orders: 4, same_results: true });
    expect(res.package_deliver.executable_vs_node_bin).toBeGreaterThan(0);
  });
});
