// What waiter draws only on a terminal, run in a real pseudo-terminal (`script`):
// status --watch redrawing in place until Ctrl-C, and the load/extract progress bar;
// and what it prints instead when piped. Plus --watch through a kitchen outage.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { BIN, ROOT, kitchenEnv, until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { needsGo } from './support/gates.js';
import { restartablePort, startTestServer, type TestServer } from './support/server.js';

const k = useDb();

/** `waiter <args>` with a pseudo-terminal for stdin, stdout and stderr; its output (both) as it comes. */
function inTerminal(args: string[], env: Record<string, string> = {}) {
  // `exec`: the shell `script` starts must not stay in the terminal's process group, or
  // Ctrl-C kills it too and `script` reports 130 (dash, CI's /bin/sh, does not exec a
  // last command by itself). SHELL is pinned to /bin/sh so every machine runs what CI runs.
  const cmd = 'exec ' + ['node', BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const p = execa('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, reject: false, env: { ...kitchenEnv(k), SHELL: '/bin/sh', ...env }, stdin: 'pipe' });
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return { p, out: () => out };
}

// readline.moveCursor(up n) then clearScreenDown: ESC [ n A, ESC [ 0 J.
const REDRAW = /\u001b\[\d+A\u001b\[0J/g;

describe('status --watch', () => {
  test('on a terminal: redraws in place until Ctrl-C, then exits 0', async () => {
    await k.db.collection('orders').insertMany([{ status: 'READY', arguments: ['a'], attempts: 0 }]);
    const t = inTerminal(['status', '--watch', '200ms']);
    await until(() => (t.out().match(REDRAW) ?? []).length >= 2, 30_000, 'two redraws');
    t.p.stdin?.write('\u0003'); // Ctrl-C, through the terminal: SIGINT to the foreground process
    const r = await t.p;
    expect(r.exitCode).toBe(0);
    const frames = t.out().split(REDRAW);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(frames[1]).toMatch(/^every 200ms · \S+Z · Ctrl-C to stop\r\n\r\nREADY {4}1\r\n/);
    expect(frames[1]).toContain('ETA      no live waiters');
  });

  test('piped: one line per refresh; SIGINT exits 0', async () => {
    const p = waiter(k, ['status', '--watch', '200ms']);
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    // Past a dozen refreshes: nothing may pile up per refresh (Node warns on stderr at 11 listeners).
    await until(() => out.split('\n').length > 13, 30_000, 'thirteen lines');
    p.kill('SIGINT');
    const r = await p;
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    for (const line of r.stdout.split('\n')) {
      expect(line).toMatch(/^\S+Z READY 0 RUNNING 0 DONE 0 ERROR 0 total 0 stale 0 \| pace 0\/min \(1m\) 0\/min \(10m\) \| median - \| waiters 0 \| ETA nothing READY$/);
    }
    expect(r.stdout).not.toMatch(/\u001b/);
  });

  const go = needsGo();
  test.runIf(go.run)(go.title('rides out a kitchen outage: "kitchen unreachable, retrying", then counts again'), async () => {
    const data = await mkdtemp(join(tmpdir(), 'waiter-watch-'));
    const port = await restartablePort(); // restarted below on the same port
    let server: TestServer | undefined = await startTestServer({ port, data });
    try {
      // Short enough to see the outage soon, long enough for a loaded machine to connect.
      const uri = `${server.uri}?serverSelectionTimeoutMS=2000&connectTimeoutMS=2000`;
      const p = waiter({ uri, name: 'watch' }, ['status', '--watch', '200ms']);
      let out = '';
      p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      const saw = (what: string, re: RegExp, from = 0) =>
        until(() => re.test(out.slice(from)), 30_000, what).catch((err: Error) => {
          throw new Error(`${err.message}; output so far:\n${out.slice(-2000)}`);
        });
      await saw('a first report', /READY 0/);
      await server.stop();
      server = undefined;
      await saw('the outage to show', /kitchen unreachable, retrying/);
      server = await startTestServer({ port, data });
      await saw('reports again', /READY 0/, out.length);
      p.kill('SIGINT');
      expect((await p).exitCode).toBe(0);
    } finally {
      await server?.stop();
      await rm(data, { recursive: true, force: true });
    }
  });
});

test('a kitchen down from the start: retried every interval (not one line and out), SIGINT exits 0', async () => {
  const p = waiter({ uri: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300', name: 'down' }, ['status', '--watch', '200ms']);
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => (out.match(/kitchen unreachable, retrying/g) ?? []).length >= 3, 30_000, 'three tries');
  p.kill('SIGINT');
  const r = await p;
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/^\S+Z kitchen unreachable, retrying: cannot reach the kitchen at 127\.0\.0\.1:1\/down/);
});

describe('progress bar', () => {
  test('load and extract draw one on a terminal (coloured unless NO_COLOR), never when piped or --quiet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-bar-'));
    const csv = join(dir, 'rows.csv');
    await writeFile(csv, Array.from({ length: 500 }, (_, i) => `row${i}`).join('\n'));
    try {
      const load = inTerminal(['load', csv]);
      expect((await load.p).exitCode).toBe(0);
      expect(load.out()).toMatch(/checking .*100% \| \d+\/\d+ KiB/);
      expect(load.out()).toMatch(/loading .*100% \| 500\/500 rows \| \d+k? rows\/s \| ETA/);
      expect(load.out()).toContain('\u001b[32m'); // the bar in green
      expect(load.out()).toContain('Loaded 500 orders');

      const plain = inTerminal(['load', csv], { NO_COLOR: '1' });
      expect((await plain.p).exitCode).toBe(0);
      expect(plain.out()).toMatch(/loading .*100%/);
      expect(plain.out()).not.toContain('\u001b[32m');

      const quiet = inTerminal(['load', '--quiet', csv]);
      expect((await quiet.p).exitCode).toBe(0);
      expect(quiet.out()).toBe('Loaded 500 orders\r\n');

      const piped = await waiter(k, ['load', csv]);
      expect([piped.stdout, piped.stderr]).toEqual(['Loaded 500 orders', '']);

      const extract = inTerminal(['extract', '-o', join(dir, 'out.csv')]);
      expect((await extract.p).exitCode).toBe(0);
      expect(extract.out()).toMatch(/extract .*100% \| 2000\/2000 orders/);
      const extractPiped = await waiter(k, ['extract', '-o', join(dir, 'out2.csv')]);
      expect(extractPiped.stderr).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
