// load reads its input once, whatever feeds it (issue 25): a pipe, /dev/stdin, <(...) or a
// FIFO gives its bytes only once, and load reads its rows twice (check, then insert).
import { appendFile, lstat, mkdir, mkdtemp, open, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { BIN, ROOT, kitchenEnv, until } from './support/cli.js';
import { useDb } from './support/kitchen.js';

const k = useDb();
const args = async () => (await k.db.collection('orders').find({}).sort({ _id: 1 }).toArray()).map((o) => o.arguments);
const FIVE = [['1'], ['2'], ['3'], ['4'], ['5']];

/** `script` run by bash, with $WAITER the CLI; a load that hangs is killed (and fails the test). */
function sh(script: string, env: Record<string, string> = {}) {
  return execa('bash', ['-c', script], {
    reject: false,
    cwd: ROOT,
    stdin: 'ignore',
    timeout: 90_000,
    env: { ...kitchenEnv(k, env), WAITER: `node ${BIN}` },
  });
}

describe('load reads its input exactly once', () => {
  test('a regular file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-once-'));
    await writeFile(join(dir, 'five.csv'), '1\n2\n3\n4\n5\n');
    const r = await sh(`$WAITER load ${join(dir, 'five.csv')}`);
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'Loaded 5 orders', '']);
    expect(await args()).toEqual(FIVE);
  });

  test('- from a pipe', async () => {
    const r = await sh('seq 5 | $WAITER load -');
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'Loaded 5 orders', '']);
    expect(await args()).toEqual(FIVE);
  });

  test('/dev/stdin from a pipe', async () => {
    const r = await sh('seq 5 | $WAITER load /dev/stdin');
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'Loaded 5 orders', '']);
    expect(await args()).toEqual(FIVE);
  });

  test('process substitution', async () => {
    const r = await sh('$WAITER load <(seq 5)');
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'Loaded 5 orders', '']);
    expect(await args()).toEqual(FIVE);
  });

  test('a FIFO', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-once-'));
    const fifo = join(dir, 'rows');
    await execa('mkfifo', [fifo]);
    const writer = execa('bash', ['-c', `seq 5 > ${fifo}`], { reject: false });
    const r = await sh(`$WAITER load ${fifo}`);
    writer.kill();
    await writer;
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'Loaded 5 orders', '']);
    expect(await args()).toEqual(FIVE);
  });

  test('--header with process substitution', async () => {
    const r = await sh(`$WAITER load --header <(printf 'n\\n1\\n2\\n')`);
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'Loaded 2 orders', '']);
    expect(await args()).toEqual([['1'], ['2']]);
    expect(await k.db.collection('orders').findOne({})).toHaveProperty('columns');
  });

  test('bad input through a pipe writes nothing (exit 4, the line named)', async () => {
    for (const file of ['-', '/dev/stdin']) {
      const r = await sh(`{ seq 3; printf '"open\\n4\\n'; } | $WAITER load ${file}`);
      expect(r.exitCode).toBe(4);
      expect(r.stderr).toBe(`waiter: ${file === '-' ? 'stdin' : file} line 4: unterminated quote`);
    }
    expect(await args()).toEqual([]);
  });

  test('the copy is in $TMPDIR, mode 0600, unlinked at once: a SIGINT leaves nothing', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-once-'));
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const fifo = join(dir, 'rows');
    await execa('mkfifo', [fifo]);
    // The writer keeps the FIFO open (it becomes the sleep), so load is still copying when we look.
    const writer = execa('bash', ['-c', `exec > ${fifo}; seq 5; exec sleep 600`], { reject: false, stdio: 'ignore' });
    const load = execa('node', [BIN, 'load', fifo], { reject: false, cwd: ROOT, stdin: 'ignore', env: kitchenEnv(k, { TMPDIR: tmp }) });
    const copy = await until(
      async () => {
        for (const fd of await readdir(`/proc/${load.pid}/fd`).catch(() => [])) {
          const to = await readlink(`/proc/${load.pid}/fd/${fd}`).catch(() => '');
          if (to.startsWith(`${tmp}/`)) return { fd, to };
        }
        return undefined;
      },
      60_000,
      'the temporary copy',
    );
    expect(copy.to).toMatch(/ \(deleted\)$/);
    expect((await stat(`/proc/${load.pid}/fd/${copy.fd}`)).mode & 0o777).toBe(0o600);
    load.kill('SIGINT');
    const r = await load;
    writer.kill();
    await writer;
    expect(r.exitCode === 130 || r.signal === 'SIGINT').toBe(true);
    expect(await readdir(tmp)).toEqual([]);
    expect(await args()).toEqual([]);
  });

  test('no room for the copy ($TMPDIR missing or not a directory): one line, exit 5, nothing written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-once-'));
    const notDir = join(dir, 'file');
    await writeFile(notDir, '');
    for (const tmp of [join(dir, 'missing'), notDir]) {
      const r = await sh('seq 5 | $WAITER load -', { TMPDIR: tmp });
      expect(r.exitCode).toBe(5);
      expect(r.stderr).toMatch(new RegExp(`^waiter: load: cannot keep a copy of stdin in ${tmp} \\(set TMPDIR .*\\): E[A-Z]+; nothing loaded$`));
      expect((await lstat(dir)).isDirectory()).toBe(true);
    }
    expect(await args()).toEqual([]);
  });
});

describe('a regular file that changes while it is loaded', () => {
  /** A file of `n` rows `row<i>,<i>`, and a load of it started in the background. */
  async function bigLoad(n: number) {
    const dir = await mkdtemp(join(tmpdir(), 'waiter-grow-'));
    const file = join(dir, 'grow.csv');
    await writeFile(file, Array.from({ length: n }, (_, i) => `row${i},${i}\n`).join(''));
    const load = execa('node', [BIN, 'load', '-q', file], { reject: false, cwd: ROOT, stdin: 'ignore', env: kitchenEnv(k) });
    // The check is done and inserting has begun: the second pass is reading the file.
    await until(async () => (await k.db.collection('orders').estimatedDocumentCount()) > 0, 120_000, 'the first insert');
    return { file, load };
  }

  test('rows appended after the check are not loaded (not checked either): each pass ends at the size the file had when opened', { timeout: 240_000 }, async () => {
    const { file, load } = await bigLoad(100_000);
    await appendFile(file, Buffer.concat([Buffer.from('bad\0nul,x\n'), Buffer.from([0xff, 0xfe]), Buffer.from(',y\ngrown,z\n')]));
    const r = await load;
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'Loaded 100,000 orders', '']);
    expect(await k.db.collection('orders').countDocuments({})).toBe(100_000);
    expect(await k.db.collection('orders').countDocuments({ 'arguments.0': { $in: ['bad\0nul', 'grown'] } })).toBe(0);
  });

  test('rewritten in place after the check (other rows, same size): the count differs, exit 4 and the message says how many were loaded', { timeout: 240_000 }, async () => {
    const { file, load } = await bigLoad(100_000);
    // The last 1,400 bytes (about 110 rows) become 700 rows of "x".
    const size = (await stat(file)).size;
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('x\n'.repeat(700)), 0, 1400, size - 1400);
    await fh.close();
    const r = await load;
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/^waiter: .*grow\.csv changed while it was loaded \(more rows than the 100,000 checked\): loaded [\d,]+ of 100,000 orders; the rest not loaded$/);
    const n = await k.db.collection('orders').countDocuments({});
    expect(n).toBeLessThan(100_000);
    expect(r.stderr).toContain(`loaded ${n.toLocaleString('en-US')} of`);
  });
});
