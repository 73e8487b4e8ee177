// waiter gather at its edges (issues 25 and 31): ids not in the list, an -o that cannot
// be a folder, names the local file system cannot hold, malformed stored names, paths
// deeper than collect allows. Real server, real processes.
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { GridFSBucket, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, kitchenEnv, ROOT, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, tempDir } from './support/recovery.js';

const k = useDb();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Stores one file for an order as deliver --collect does (GridFS, with its SHA-256). */
async function put(order: ObjectId, path: string, text: string): Promise<void> {
  const body = Buffer.from(text);
  const bucket = new GridFSBucket(k.db, { bucketName: 'orders.results' });
  await pipeline(Readable.from([body]), bucket.openUploadStream(path, { metadata: { order, attempt: 1, path, sha256: sha(body) } }));
}

/** As nobody when the tests run as root (permission bits do not stop root). */
const asNobody = () => (process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {});

// nobody must reach the CLI: a clone inside a folder only root may enter (mktemp -d makes
// one) gets search permission for others on those folders while this file runs.
const opened: [string, number][] = [];
beforeAll(async () => {
  if (process.getuid?.() !== 0) return;
  for (let at = dirname(ROOT); at !== dirname(at); at = dirname(at)) {
    const mode = (await stat(at)).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      opened.push([at, mode]);
      await chmod(at, mode | 0o001);
    }
  }
});
afterAll(async () => {
  for (const [at, mode] of opened.splice(0)) await chmod(at, mode);
});

/**
 * `waiter <args>` in a mount namespace of its own (unshare: no root needed, nothing left
 * mounted when it ends), after the shell lines `setup`; `after` runs once it exits (its
 * exit code kept), e.g. to list what is left on a file system only that namespace sees.
 */
function isolated(setup: string, args: string[], after = 'true', prefix = '') {
  return execa('unshare', ['-rm', 'sh', '-c', `set -e; ${setup}; set +e; ${prefix} node "$0" "$@"; rc=$?; ${after}; exit $rc`, BIN, ...args], {
    reject: false,
    cwd: ROOT,
    stdin: 'ignore',
    env: kitchenEnv(k),
    timeout: 120_000,
  });
}

/** A files document written by hand (no chunks: length 0), whatever its metadata.path is. */
async function putRaw(order: ObjectId, path: unknown): Promise<void> {
  await k.db.collection('orders.results.files').insertOne({
    length: 0,
    chunkSize: 261_120,
    uploadDate: new Date(),
    filename: typeof path === 'string' ? path : 'x',
    metadata: { order, attempt: 1, path, sha256: sha(Buffer.alloc(0)) },
  });
}

describe('waiter gather: which orders', () => {
  test('ids not in the list are an error naming them (exit 4), nothing written; ids in the list without files are named on stderr and counted (exit 0)', async () => {
    const dir = await tempDir('gather-ids');
    const [withFiles, without] = await addOrders(k.db, [['a'], ['b']]);
    await put(withFiles!, 'r.txt', 'result');
    const ghost = new ObjectId();
    const out = join(dir, 'out');

    const g = await waiter(k, ['gather', '-o', out, withFiles!.toHexString(), ghost.toHexString()]);
    expect([g.exitCode, g.stdout, g.stderr]).toEqual([4, '', `waiter: gather: not in the list 'orders': ${ghost.toHexString()} (nothing gathered)`]);
    expect(existsSync(out)).toBe(false);

    const ok = await waiter(k, ['gather', '-o', out, `${withFiles!.toHexString()},${without!.toHexString()}`]);
    expect([ok.exitCode, ok.stdout], ok.stderr).toEqual([0, `Gathered 1 file (6 B) of 1 order into ${out}; 0 already there; 1 order without files.`]);
    expect(ok.stderr).toBe(`waiter: gather: no result files: ${without!.toHexString()}`);
    expect(await readFile(join(out, withFiles!.toHexString(), 'r.txt'), 'utf8')).toBe('result');
  });
});

describe('waiter gather -o: a place that cannot be a folder is one line, exit 2, before the kitchen is read', () => {
  // An unreachable kitchen (the discard port): the check comes first, so the answer is 2, not 3.
  const gather = (out: string, opts: Parameters<typeof waiter>[2] = {}) => waiter(k, ['-k', 'mongodb://127.0.0.1:9', 'gather', '-o', out], { timeout: 60_000, ...opts });

  test('a file, a path under a file, /dev/null/x, /proc/x', async () => {
    const dir = await tempDir('gather-out');
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    for (const [out, why] of [
      [file, 'not a folder'],
      [join(file, 'x'), 'not a folder'],
      ['/dev/null/x', 'not a folder'],
      ['/proc/x', 'cannot make a folder in /proc'],
    ] as const) {
      const g = await gather(out);
      expect([g.exitCode, g.timedOut, g.stdout], out).toEqual([2, false, '']);
      expect(g.stderr.split('\n'), out).toHaveLength(1);
      expect(g.stderr, out).toMatch(new RegExp(`^waiter: -o ${out.replace(/[/.]/g, '\\$&')}: cannot write there \\(.*${why}.*\\)$`));
    }
    expect(await readFile(file, 'utf8')).toBe('x');
  });

  test('a symlink to a missing place, or a path under one (mkdir cannot go through it)', async () => {
    const dir = await tempDir('gather-dangling');
    const link = join(dir, 'link');
    await symlink(join(dir, 'missing'), link);
    for (const out of [link, join(link, 'sub')]) {
      const g = await gather(out);
      expect([g.exitCode, g.timedOut, g.stdout], `${out}: ${g.stderr}`).toEqual([2, false, '']);
      expect(g.stderr).toBe(`waiter: -o ${out}: cannot write there (${link} is a symlink to a missing place)`);
    }
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  test('a folder to be made in a read-only folder: run as nobody when the tests run as root, whom permission bits do not stop', async () => {
    const dir = await tempDir('gather-ro');
    await chmod(dir, 0o755);
    const ro = join(dir, 'ro');
    await mkdir(ro, { mode: 0o555 });
    await chmod(ro, 0o555);
    for (const out of [join(ro, 'new'), join(ro, 'new', 'deeper')]) {
      const g = await gather(out, asNobody());
      expect([g.exitCode, g.timedOut, g.stdout], `${out}: ${g.stderr}`).toEqual([2, false, '']);
      expect(g.stderr).toBe(`waiter: -o ${out}: cannot write there (permission denied in ${ro})`);
    }
    expect(await readdir(ro)).toEqual([]);
  });
});

describe("waiter gather into a folder it cannot write in (read-only, or another user's)", () => {
  test('a complete copy is checked, exit 0; the first file not already there stops the run, one line, exit 2, nothing written', async () => {
    const dir = await tempDir('gather-copy');
    await chmod(dir, 0o755);
    const [first] = await addOrders(k.db, [['1']]);
    await put(first!, 'r.txt', 'result');
    const out = join(dir, 'out');
    const made = await waiter(k, ['gather', '-o', out]);
    expect(made.exitCode, made.stderr).toBe(0);
    await chmod(out, 0o555);

    const again = await waiter(k, ['gather', '-o', out], asNobody());
    expect([again.exitCode, again.stdout, again.stderr]).toEqual([0, `Gathered 0 files (0 B) of 1 order into ${out}; 1 already there.`, '']);

    const [second] = await addOrders(k.db, [['2']]);
    await put(second!, 's.txt', 'more');
    const stop = await waiter(k, ['gather', '-o', out], asNobody());
    expect([stop.exitCode, stop.stdout, stop.stderr]).toEqual([
      2,
      '',
      `waiter: -o ${out}: cannot write there (permission denied in ${out}); gather stopped: 0 files (0 B) written, 1 already there, 0 refused`,
    ]);
    expect(await readdir(out)).toEqual([first!.toHexString()]);
  });
});

describe('waiter gather: one file it cannot write is that file refused, never the end of the run', () => {
  test('a folder where the file goes (EISDIR), a folder it may not write in (EACCES): each refused on one line, exit 1; the other order is gathered, no temporary left', async () => {
    const dir = await tempDir('gather-refused');
    await chmod(dir, 0o755);
    const [dirThere, locked, good] = await addOrders(k.db, [['1'], ['2'], ['3']]);
    await put(dirThere!, 'r.txt', 'one');
    await put(locked!, 'r.txt', 'two');
    await put(good!, 'r.txt', 'three');
    const out = join(dir, 'out');
    // As if attempt 1 collected r.txt/inner and attempt 2 a file r.txt.
    await mkdir(join(out, dirThere!.toHexString(), 'r.txt', 'inner'), { recursive: true });
    await mkdir(join(out, locked!.toHexString()));
    await chmod(join(out, locked!.toHexString()), 0o555);
    await chmod(join(out, dirThere!.toHexString()), 0o777);
    await chmod(out, 0o777);
    const g = await waiter(k, ['gather', '-o', out], asNobody());
    expect([g.exitCode, g.stdout], g.stderr).toEqual([1, `Gathered 1 file (5 B) of 3 orders into ${out}; 0 already there; 2 refused.`]);
    expect(g.stderr.split('\n')).toEqual([
      `waiter: gather: refused ${dirThere!.toHexString()}/r.txt: the local file system refused to write it (EISDIR: a folder is in its place) (nothing written)`,
      `waiter: gather: refused ${locked!.toHexString()}/r.txt: the local file system refused to write it (EACCES: permission denied) (nothing written)`,
    ]);
    expect(await readFile(join(out, good!.toHexString(), 'r.txt'), 'utf8')).toBe('three');
    expect(await readdir(join(out, dirThere!.toHexString(), 'r.txt'))).toEqual(['inner']);
    expect(await readdir(join(out, locked!.toHexString()))).toEqual([]);
    expect((await readdir(out)).sort()).toEqual([dirThere, locked, good].map((id) => id!.toHexString()).sort());
  });

  test('a file system that fills up (ENOSPC) or turns out read-only (EROFS) while gather writes stops the run: one line, exit 2, no temporary left', async () => {
    const dir = await tempDir('gather-full');
    const [big, after] = await addOrders(k.db, [['1'], ['2']]);
    await put(big!, 'big.bin', 'x'.repeat(300_000));
    await put(after!, 'r.txt', 'after');
    const out = join(dir, 'out');
    await mkdir(out);
    const left = join(dir, 'left');
    const full = await isolated(`mount -t tmpfs -o size=64k tmpfs '${out}'`, ['gather', '-o', out], `find '${out}' > '${left}'`);
    expect([full.exitCode, full.stdout, full.stderr]).toEqual([
      2,
      '',
      `waiter: -o ${out}: cannot write there (no space left at ${join(out, big!.toHexString())}); gather stopped: 0 files (0 B) written, 0 already there, 0 refused`,
    ]);
    expect((await readFile(left, 'utf8')).trim().split('\n')).toEqual([out, join(out, big!.toHexString())]);

    // A read-only file system mounted on an order's folder: its sub-folder cannot be made.
    const [ro] = await addOrders(k.db, [['3']]);
    await put(ro!, 'sub/r.txt', 'ro');
    const roDir = join(out, ro!.toHexString());
    await mkdir(roDir);
    const g = await isolated(`mount -t tmpfs tmpfs '${roDir}'; mount -o remount,ro '${roDir}'`, ['gather', '-o', out, ro!.toHexString()], `find '${out}' > '${left}'`);
    expect([g.exitCode, g.stdout, g.stderr]).toEqual([
      2,
      '',
      `waiter: -o ${out}: cannot write there (read-only file system at ${join(roDir, 'sub')}); gather stopped: 0 files (0 B) written, 0 already there, 0 refused`,
    ]);
    expect((await readFile(left, 'utf8')).trim().split('\n')).toEqual([out, roDir]);

    // A (writable) file system mounted on an order's folder: its file is refused, not a crash.
    const mounted = await isolated(`mount -t tmpfs tmpfs '${roDir}'`, ['gather', '-o', out, ro!.toHexString()]);
    expect([mounted.exitCode, mounted.stdout, mounted.stderr]).toEqual([
      1,
      `Gathered 0 files (0 B) of 1 order into ${out}; 0 already there; 1 refused.`,
      `waiter: gather: refused ${ro!.toHexString()}/sub/r.txt: the local file system refused to write it (EXDEV: its folder is on another file system than .waiter-parts) (nothing written)`,
    ]);
  });

  test('a legal 254-byte name collected by deliver --collect is gathered (the temporary name does not push it past 255 bytes)', async () => {
    const dir = await tempDir('gather-long');
    const name = `${'ü'.repeat(125)}.txt`; // 254 bytes in UTF-8
    expect(Buffer.byteLength(name)).toBe(254);
    const [id] = await addOrders(k.db, [[name]]);
    const d = await waiter(k, ['deliver', '--workdir', join(dir, 'runs', '{hash}'), '--collect', '*.txt', '--shell', 'printf long > "$1"']);
    expect(d.exitCode, d.stderr).toBe(0);
    const out = join(dir, 'out');
    const g = await waiter(k, ['gather', '-o', out]);
    expect([g.exitCode, g.stdout, g.stderr]).toEqual([0, `Gathered 1 file (4 B) of 1 order into ${out}; 0 already there.`, '']);
    expect(await readdir(join(out, id!.toHexString()))).toEqual([name]);
    expect(await readFile(join(out, id!.toHexString(), name), 'utf8')).toBe('long');
  });

  test('a non-string stored name, a 3,000-level path, a 256-byte name part, a path over PATH_MAX: each refused on one line, counted, exit 1; no folder made for any; the next order is gathered', async () => {
    const dir = await tempDir('gather-bad');
    const [num, obj, deep, wide, tooLong, good] = await addOrders(k.db, [['1'], ['2'], ['3'], ['4'], ['5'], ['6']]);
    await putRaw(num!, 42);
    await putRaw(obj!, { a: 1 });
    await putRaw(deep!, `${'d/'.repeat(3000)}x.txt`);
    await putRaw(wide!, `${'w'.repeat(256)}/x.txt`);
    await putRaw(tooLong!, `${Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(250, 'p')).join('/')}/x.txt`); // ~5,000 bytes
    await put(good!, 'fine.txt', 'fine');
    const out = join(dir, 'out');
    const g = await waiter(k, ['gather', '-o', out], { timeout: 120_000 });
    expect([g.exitCode, g.stdout], g.stderr).toEqual([1, `Gathered 1 file (4 B) of 6 orders into ${out}; 0 already there; 5 refused.`]);
    const lines = g.stderr.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(`waiter: gather: refused ${num!.toHexString()}/42: its stored name is not text (nothing written)`);
    expect(lines[1]).toBe(`waiter: gather: refused ${obj!.toHexString()}/{"a":1}: its stored name is not text (nothing written)`);
    expect(lines[2]).toMatch(new RegExp(`^waiter: gather: refused ${deep!.toHexString()}/(d/)+… \\(6,005 bytes\\): deeper than 32 folders \\(nothing written\\)$`));
    expect(lines[3]).toMatch(new RegExp(`^waiter: gather: refused ${wide!.toHexString()}/w+… \\(262 bytes\\): a name part longer than 255 bytes \\(nothing written\\)$`));
    expect(lines[4]).toMatch(
      new RegExp(
        `^waiter: gather: refused ${tooLong!.toHexString()}/0p+… \\(5,025 bytes\\): its path in ${out.replace(/[/.]/g, '\\$&')} would be longer than 4,095 bytes \\(nothing written\\)$`,
      ),
    );
    for (const id of [num, obj, deep, wide, tooLong]) expect(existsSync(join(out, id!.toHexString())), id!.toHexString()).toBe(false);
    expect(await readFile(join(out, good!.toHexString(), 'fine.txt'), 'utf8')).toBe('fine');
  });
});

describe('waiter gather: its temporaries', () => {
  test('a stored name never meets one: an order storing r.txt and .waiter-<8 hex>.part (the old temporary of r.txt) gets both; what a dead run on this host left is removed', async () => {
    const dir = await tempDir('gather-parts');
    const [id] = await addOrders(k.db, [['1']]);
    const partLike = `.waiter-${sha(Buffer.from('r.txt')).slice(0, 8)}.part`;
    await put(id!, partLike, 'stored too');
    await put(id!, 'r.txt', 'result');
    const out = join(dir, 'out');
    const dead = join(out, '.waiter-parts', `${hostname()}-2147483646`); // no such process
    await mkdir(dead, { recursive: true });
    await writeFile(join(dead, 'part'), 'left by a killed run');
    const g = await waiter(k, ['gather', '-o', out]);
    expect([g.exitCode, g.stdout, g.stderr]).toEqual([0, `Gathered 2 files (16 B) of 1 order into ${out}; 0 already there.`, '']);
    expect(await readFile(join(out, id!.toHexString(), partLike), 'utf8')).toBe('stored too');
    expect(await readFile(join(out, id!.toHexString(), 'r.txt'), 'utf8')).toBe('result');
    expect(await readdir(out)).toEqual([id!.toHexString()]);
  });

  test('two gathers into one folder at once both end well, every file whole (each run writes its own temporaries)', async () => {
    const dir = await tempDir('gather-two');
    const ids = await addOrders(
      k.db,
      Array.from({ length: 6 }, (_, i) => [`${i}`]),
    );
    for (const id of ids) await put(id, 'r.bin', id.toHexString().repeat(40_000)); // 960 KB each
    const out = join(dir, 'out');
    const runs = await Promise.all([1, 2].map(() => waiter(k, ['gather', '-o', out], { timeout: 120_000 })));
    for (const g of runs) {
      expect([g.exitCode, g.stderr]).toEqual([0, '']);
      expect(g.stdout).toMatch(/^Gathered \d files \(.+\) of 6 orders into .*; \d already there\.$/);
    }
    for (const id of ids) expect(await readFile(join(out, id.toHexString(), 'r.bin'), 'utf8')).toBe(id.toHexString().repeat(40_000));
    expect((await readdir(out)).sort()).toEqual(ids.map((id) => id.toHexString()).sort());
  });
});

describe('waiter gather -o /', () => {
  test('writes below / (its separator is not doubled): run in a chroot on a throw-away file system', async () => {
    const dir = await tempDir('gather-root');
    const [id] = await addOrders(k.db, [['1']]);
    await put(id!, 'r.txt', 'at the root');
    const top = join(dir, 'top');
    await mkdir(top);
    // What node, waiter and its modules need, bound into the new root.
    const binds = ['/usr', '/etc', '/dev', ROOT, realpathSync(join(ROOT, 'node_modules')), dirname(realpathSync(process.execPath))];
    const setup = [
      `mount -t tmpfs tmpfs '${top}'`,
      ...binds.map((d) => `mkdir -p '${top}${d}'; mount --rbind '${d}' '${top}${d}'`),
      `for d in bin lib lib64 sbin; do if [ -L /$d ]; then ln -s "$(readlink /$d)" '${top}'/$d; elif [ -d /$d ]; then mkdir '${top}'/$d; mount --rbind /$d '${top}'/$d; fi; done`,
    ].join('; ');
    const got = join(dir, 'got');
    const g = await isolated(setup, ['gather', '-o', '/'], `cat '${top}/${id!.toHexString()}/r.txt' > '${got}'; ls -A '${top}' > '${got}.ls'`, `chroot '${top}'`);
    expect([g.exitCode, g.stdout, g.stderr]).toEqual([0, 'Gathered 1 file (11 B) of 1 order into /; 0 already there.', '']);
    expect(await readFile(got, 'utf8')).toBe('at the root');
    expect((await readFile(`${got}.ls`, 'utf8')).split('\n')).not.toContain('.waiter-parts');
  });
});
