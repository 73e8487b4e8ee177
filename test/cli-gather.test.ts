// waiter gather at its edges (issues 25 and 31): ids not in the list, an -o that cannot
// be a folder, names the local file system cannot hold, malformed stored names, paths
// deeper than collect allows. Real server, real processes.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { addOrders, tempDir } from './recovery-support.js';

const k = useDb();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Stores one file for an order as deliver --collect does (GridFS, with its SHA-256). */
async function put(order: ObjectId, path: string, text: string): Promise<void> {
  const body = Buffer.from(text);
  const bucket = new GridFSBucket(k.db, { bucketName: 'orders.results' });
  await pipeline(Readable.from([body]), bucket.openUploadStream(path, { metadata: { order, attempt: 1, path, sha256: sha(body) } }));
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

  test('a read-only folder (the folder itself, or the one it would be made in): run as nobody when the tests run as root, whom permission bits do not stop', async () => {
    const dir = await tempDir('gather-ro');
    await chmod(dir, 0o755);
    const ro = join(dir, 'ro');
    await mkdir(ro, { mode: 0o555 });
    await chmod(ro, 0o555);
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    for (const out of [ro, join(ro, 'new', 'deeper')]) {
      const g = await gather(out, as);
      expect([g.exitCode, g.timedOut, g.stdout], `${out}: ${g.stderr}`).toEqual([2, false, '']);
      expect(g.stderr).toBe(`waiter: -o ${out}: cannot write there (permission denied in ${ro})`);
    }
    expect(await readdir(ro)).toEqual([]);
  });
});

describe('waiter gather: one file it cannot write is that file refused, never the end of the run', () => {
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

  test('a non-string stored name, a 3,000-level path, a 256-byte name part, a path over PATH_MAX: each refused on one line, counted, exit 1; no folder made for the first three; the next order is gathered', async () => {
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
        `^waiter: gather: refused ${tooLong!.toHexString()}/0p+… \\(5,025 bytes\\): the local file system cannot hold this name \\(ENAMETOOLONG\\) \\(nothing written\\)$`,
      ),
    );
    for (const id of [num, obj, deep, wide]) expect(existsSync(join(out, id!.toHexString())), id!.toHexString()).toBe(false);
    expect(await readFile(join(out, good!.toHexString(), 'fine.txt'), 'utf8')).toBe('fine');
  });
});
