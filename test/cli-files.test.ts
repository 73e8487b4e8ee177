// Result files (issue 17): deliver --collect stores an order's files in GridFS, gather
// writes them back byte-exact (resumable, never outside its folder), show and the API
// list and serve them, clean leaves no chunk behind. Real server, real processes.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { Binary, GridFSBucket, ObjectId } from 'mongodb';
import { describe, expect, test } from 'vitest';
import { collect, find, MAX_DEPTH } from '../src/output/collect.js';
import { FileStore } from '../src/kitchen/files.js';
import { until, waiter } from './support/cli.js';
import { useDb } from './support/kitchen.js';
import { serve } from './support/serve.js';
import { addOrders, byId, tempDir } from './support/recovery.js';

const k = useDb();
const files = () => k.db.collection('orders.results.files');
const chunks = () => k.db.collection('orders.results.chunks');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every file below dir, relative path -> content. */
async function tree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const full = join(e.parentPath, e.name);
      out.set(full.slice(dir.length + 1), await readFile(full));
    }
  }
  return out;
}

// The order's command: three CSVs in out/ (one ~20 MB of random bytes, names with a
// space and unicode), a symlink to a file outside its folder, and files the glob leaves.
const MAKE = [
  'mkdir -p out/sub',
  'printf "a,b\\n1,2\\n" > "out/a b.csv"',
  'printf "ü,ñ\\n" > "out/ünï cödé ✓.csv"',
  'head -c 20000000 /dev/urandom > out/big.csv',
  'printf x > out/sub/deep.csv',
  'printf x > out/notes.txt',
  'ln -s "$SECRET" out/link.csv',
  'ln -s /etc out/etc.csv',
].join(' && ');

describe('deliver --collect and waiter gather', () => {
  test('round-trips the matching files byte-exact (20 MB, spaces, unicode), never a symlink; a second gather skips them; show, status and the API see them; clean --outputs frees them', async () => {
    const dir = await tempDir('collect');
    const secret = join(dir, 'secret.csv');
    await writeFile(secret, 'not to be collected\n');
    const [id] = await addOrders(k.db, [['x']]);
    const hex = id!.toHexString();
    const d = await waiter(k, ['deliver', '--workdir', join(dir, 'runs', '{hash}'), '--collect', 'out/*.csv', '--shell', MAKE], { env: { SECRET: secret } });
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stderr).toMatch(new RegExp(`collected 3 files \\(19\\.\\d MiB\\) of ${hex}`));
    const workdir = (await byId(k.db, id!)).workdir!;
    const made = await tree(workdir);

    const out = join(dir, 'gathered');
    const g = await waiter(k, ['gather', '-o', out]);
    expect([g.exitCode, g.stdout], g.stderr).toEqual([0, `Gathered 3 files (19.1 MiB) of 1 order into ${out}; 0 already there.`]);
    const got = await tree(join(out, hex));
    expect([...got.keys()].sort()).toEqual(['out/a b.csv', 'out/big.csv', 'out/ünï cödé ✓.csv']);
    for (const [path, content] of got) expect(sha(content), path).toBe(sha(made.get(path)!));
    expect(got.get('out/big.csv')!.length).toBe(20_000_000);

    // Resumed: the same files are there, nothing is fetched again; a changed one is.
    await writeFile(join(out, hex, 'out/a b.csv'), 'a,b\n1,3\n');
    const again = await waiter(k, ['gather', '-o', out, hex]);
    expect(again.stdout).toBe(`Gathered 1 file (8 B) of 1 order into ${out}; 2 already there.`);
    expect(await readFile(join(out, hex, 'out/a b.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect((await waiter(k, ['gather', '-o', out, '--status', 'ERROR'])).stdout).toBe(`Gathered 0 files (0 B) of 0 orders into ${out}; 0 already there.`);

    const show = (await waiter(k, ['show', hex])).stdout;
    expect(show).toContain("files (3; waiter gather writes the newest attempt's):");
    expect(show).toMatch(/ {2}out\/big\.csv +19\.1 MiB {2}#1/);
    expect((await waiter(k, ['status'])).stdout).toMatch(
      /stored {3}.* of live output \(\d+ documents?\), [\d.]+ MiB in 3 result files \(the server's data size; [\d.]+ MiB on disk\)/,
    );
    // The server's size of the two collections: the 20 MB and what GridFS adds to it
    // (MongoDB: ~20.0 MB of BSON; FerretDB v1 keeps binary as base64 in JSON: ~26.7 MB).
    const { storage } = JSON.parse((await waiter(k, ['status', '--json'])).stdout);
    expect(storage.files).toBe(3);
    expect(storage.fileBytes).toBeGreaterThanOrEqual(20_000_014);
    expect(storage.fileBytes).toBeLessThan(28_000_000);

    const s = await serve(k, ['--token', 'correct-horse-battery']);
    const token = 'correct-horse-battery';
    expect((await s.call(`/api/orders/${hex}/files`)).status).toBe(401); // the token rules of every read
    const list = await s.call(`/api/orders/${hex}/files`, { token });
    expect(list.body.files.map((f: { path: string; size: number; attempt: number }) => [f.path, f.size, f.attempt])).toEqual([
      ['out/a b.csv', 8, 1],
      ['out/big.csv', 20_000_000, 1],
      ['out/ünï cödé ✓.csv', 6, 1],
    ]);
    const one = await s.call(`/api/orders/${hex}/files/out/${encodeURIComponent('ünï cödé ✓.csv')}`, { token });
    expect([one.status, one.text, one.headers.get('content-type')]).toEqual([200, 'ü,ñ\n', 'application/octet-stream']);
    const big = await fetch(new URL(`/api/orders/${hex}/files/out/big.csv`, s.url), { headers: { authorization: `Bearer ${token}` } });
    expect(sha(Buffer.from(await big.arrayBuffer()))).toBe(sha(made.get('out/big.csv')!));
    expect((await s.call(`/api/orders/${hex}/files/out/nope.csv`, { token })).status).toBe(404);

    expect((await waiter(k, ['clean', '--outputs'])).stdout).toMatch(/and 3 result files; the orders are kept\.$/);
    expect([await files().countDocuments(), await chunks().countDocuments(), await k.db.collection('orders').countDocuments()]).toEqual([0, 0, 1]);
  });

  test("a stored name '../../etc/x' or an absolute path is refused (exit 1), nothing written outside -o; the good file is written", async () => {
    const dir = await tempDir('names');
    const [id] = await addOrders(k.db, [['x']]);
    const bucket = new GridFSBucket(k.db, { bucketName: 'orders.results' });
    const put = async (path: string, text: string) => {
      const body = Buffer.from(text);
      await pipeline(Readable.from([body]), bucket.openUploadStream(path, { metadata: { order: id, attempt: 1, path, sha256: sha(body) } }));
    };
    await put('../../etc/x', 'evil');
    await put(join(dir, 'abs'), 'evil');
    await put('a/./b', 'evil');
    await put('ok/fine.txt', 'fine');
    await put('link/x.txt', 'evil');
    await put('link/deeper/y.txt', 'evil');
    const out = join(dir, 'd', 'e');
    // A folder inside -o that is a symlink out of it (left by someone, or an earlier run).
    await mkdir(join(out, id!.toHexString()), { recursive: true });
    await mkdir(join(dir, 'outside'));
    await symlink(join(dir, 'outside'), join(out, id!.toHexString(), 'link'));
    const g = await waiter(k, ['gather', '-o', out]);
    expect(g.exitCode).toBe(1);
    expect(g.stdout).toBe(`Gathered 1 file (4 B) of 1 order into ${out}; 0 already there; 5 refused.`);
    expect(g.stderr).toContain(`waiter: gather: refused ${id!.toHexString()}/"../../etc/x": not a plain relative path (nothing written)`);
    expect(g.stderr).toContain(`waiter: gather: refused ${id!.toHexString()}/link/deeper/y.txt: a folder on its way in ${out} is a symlink or not a folder`);
    expect([...(await tree(join(dir, 'd'))).keys()]).toEqual([`e/${id!.toHexString()}/ok/fine.txt`]);
    expect(await readdir(join(dir, 'outside'))).toEqual([]);
    expect(existsSync(join(dir, 'abs'))).toBe(false);
    expect(existsSync(join(out, '..', '..', 'etc'))).toBe(false);
  });

  test('a file whose stored content does not match its SHA-256 is refused alone: the others are gathered (gather --status DONE), exit 1', async () => {
    const dir = await tempDir('sha');
    const ids = await addOrders(k.db, [['a'], ['b'], ['c']]);
    await k.db.collection('orders').updateMany({}, { $set: { status: 'DONE' } });
    const bucket = new GridFSBucket(k.db, { bucketName: 'orders.results' });
    for (const [i, id] of ids.entries()) {
      const body = Buffer.from(`file ${i}`);
      // The second order's file was stored with the SHA-256 of other bytes (it changed while it was read).
      await pipeline(
        Readable.from([body]),
        bucket.openUploadStream('r.txt', { metadata: { order: id, attempt: 1, path: 'r.txt', sha256: sha(i === 1 ? Buffer.from('other') : body) } }),
      );
    }
    const out = join(dir, 'out');
    const g = await waiter(k, ['gather', '-o', out, '--status', 'DONE']);
    expect(g.exitCode).toBe(1);
    expect(g.stdout).toBe(`Gathered 2 files (12 B) of 3 orders into ${out}; 0 already there; 1 refused.`);
    expect(g.stderr).toContain(`waiter: gather: refused ${ids[1]!.toHexString()}/r.txt: its stored content does not match its SHA-256`);
    expect([...(await tree(out)).keys()].sort()).toEqual([`${ids[0]!.toHexString()}/r.txt`, `${ids[2]!.toHexString()}/r.txt`]);
  });

  test('--collect-max: over it the attempt fails and nothing is stored; clean removes the files of the orders it removes, no orphan chunks', async () => {
    const dir = await tempDir('cap');
    const [small, large] = await addOrders(k.db, [['500'], ['3000']]);
    const d = await waiter(k, ['deliver', '--workdir', join(dir, '{hash}'), '--collect', '*.bin', '--collect-max', '2KiB', '--shell', 'head -c "$1" /dev/zero > a.bin']);
    expect(d.exitCode).toBe(1);
    const failed = await byId(k.db, large!);
    expect([failed.status, failed.error]).toEqual(['ERROR', '--collect-max 2 KiB: 1 matching file of 2.9 KiB in all; none collected']);
    expect(await files().countDocuments({ 'metadata.order': large })).toBe(0);
    expect([(await byId(k.db, small!)).status, await files().countDocuments({ 'metadata.order': small })]).toEqual(['DONE', 1]);
    expect(await chunks().countDocuments()).toBe(1);

    expect((await waiter(k, ['clean', '--status', 'DONE'])).stdout).toBe('Cleaned 1 order.');
    expect([await files().countDocuments(), await chunks().countDocuments()]).toEqual([0, 0]);
  });

  test('a box whose every collect fails (--collect-max too small) stops itself after --max-failures-in-a-row (exit 6); each attempt records why', async () => {
    const dir = await tempDir('breaker');
    const ids = await addOrders(k.db, [['1'], ['2'], ['3'], ['4'], ['5']]);
    const d = await waiter(k, [
      '-n',
      'tight',
      'deliver',
      '--workdir',
      join(dir, '{hash}'),
      '--collect',
      '*.bin',
      '--collect-max',
      '10',
      '--max-failures-in-a-row',
      '3',
      '--shell',
      'head -c 100 /dev/zero > a.bin',
    ]);
    expect(d.exitCode, d.stderr).toBe(6);
    expect(d.stderr).toContain('waiter: 3 failures in a row: stopping this box');
    const orders = await Promise.all(ids.map((id) => byId(k.db, id)));
    const why = '--collect-max 10 B: 1 matching file of 100 B in all; none collected';
    expect(orders.map((o) => [o.status, o.error ?? null])).toEqual([
      ['ERROR', why],
      ['ERROR', why],
      ['ERROR', why],
      ['READY', null],
      ['READY', null],
    ]);
    for (const o of orders.slice(0, 3)) expect(o.history!.map((a) => [a.attempt, a.result, a.error, a.waiter.startsWith('tight')])).toEqual([[1, 'ERROR', why, true]]);
    expect(await files().countDocuments()).toBe(0);
    const reg = await k.db.collection('orders.waiters').findOne({});
    expect(reg?.reason).toBe('3 failures in a row: stopping this box');
  });

  test("status's stored figure is what the collections hold, as the server counts it (no sum of what the documents claim)", async () => {
    const [id] = await addOrders(k.db, [['x']]);
    const hex = id!.toHexString();
    // Documents that claim far more than they hold: a file of 1 TiB without its chunks,
    // an output slot said to span 1 TiB that holds two bytes.
    await files().insertOne({
      length: 2 ** 40,
      chunkSize: 261_120,
      uploadDate: new Date(),
      filename: 'huge.bin',
      metadata: { order: id, attempt: 1, path: 'huge.bin', sha256: '0'.repeat(64) },
    });
    await k.db
      .collection('orders.output')
      .insertOne({ _id: `${hex}:1:h0` as never, order: id, attempt: 1, from: 0, to: 2 ** 40, at: new Date(), chunks: [{ s: 'out', d: new Binary(Buffer.from('hi')) }] });
    const s = await waiter(k, ['status', '--json']);
    expect(s.exitCode, s.stderr).toBe(0);
    const { storage } = JSON.parse(s.stdout);
    expect([storage.files, storage.outputDocuments]).toEqual([1, 1]);
    for (const key of ['fileBytes', 'outputBytes', 'fileDiskBytes', 'outputDiskBytes']) {
      expect(storage[key], key).toBeGreaterThan(0);
      expect(storage[key], key).toBeLessThan(1024 * 1024);
    }
    // A list whose collections were never made: nothing stored, no error.
    const none = await waiter(k, ['--list', 'fresh', 'status']);
    expect([none.exitCode, none.stdout.split('\n').find((l) => l.startsWith('stored'))]).toEqual([
      0,
      "stored   0 B of live output (0 documents), 0 B in 0 result files (the server's data size; 0 B on disk)",
    ]);
  });

  test('--collect-on always also collects after a failed run, whose own error stands; gather takes the newest attempt that has files', async () => {
    const dir = await tempDir('always');
    const [id] = await addOrders(k.db, [['x']]);
    const run = (attempt: string) =>
      waiter(k, [
        'deliver',
        '--max-attempts',
        '2',
        '--workdir',
        join(dir, '{hash}'),
        '--collect',
        '*.txt',
        '--collect-on',
        'always',
        '--shell',
        `printf ${attempt} > "$WAITER_ATTEMPT.txt"; printf ${attempt} > last.txt; exit 3`,
      ]);
    expect((await run('one')).exitCode).toBe(1);
    const order = await byId(k.db, id!);
    expect([order.status, order.error, order.attempts]).toEqual(['ERROR', 'exit code 3', 2]);
    expect(
      (
        await files()
          .find({}, { sort: { 'metadata.attempt': 1, filename: 1 } })
          .toArray()
      ).map((f) => [f.metadata.attempt, f.filename]),
    ).toEqual([
      [1, '1.txt'],
      [1, 'last.txt'],
      [2, '1.txt'], // the folder is the same for both attempts
      [2, '2.txt'],
      [2, 'last.txt'],
    ]);
    const out = join(dir, 'd');
    expect((await waiter(k, ['gather', '-o', out, id!.toHexString()])).stdout).toBe(`Gathered 3 files (9 B) of 1 order into ${out}; 0 already there.`);

    // show --json lists them as show does: every attempt's, with size and checksum.
    const shown = JSON.parse((await waiter(k, ['show', '--json', id!.toHexString()])).stdout);
    expect(shown.files.map((f: { path: string; size: number; attempt: number; sha256: string }) => [f.path, f.size, f.attempt, f.sha256])).toEqual([
      ['1.txt', 3, 1, sha(Buffer.from('one'))],
      ['last.txt', 3, 1, sha(Buffer.from('one'))],
      ['1.txt', 3, 2, sha(Buffer.from('one'))],
      ['2.txt', 3, 2, sha(Buffer.from('one'))],
      ['last.txt', 3, 2, sha(Buffer.from('one'))],
    ]);
    expect(Date.parse(shown.files[0].uploaded)).toBeGreaterThan(0);
    const [other] = await addOrders(k.db, [['none']]);
    expect(JSON.parse((await waiter(k, ['show', '--json', other!.toHexString()])).stdout)).not.toHaveProperty('files'); // as the API's order view, which has none
  });

  test('--collect needs --workdir; a glob leaving the folder is refused at the door (exit 2, naming the option)', async () => {
    const r = await waiter(k, ['deliver', '--collect', 'out/*', './x.sh']);
    expect([r.exitCode, r.stderr]).toEqual([2, "waiter: --collect needs --workdir (the files are collected from the order's folder)"]);
    const up = await waiter(k, ['deliver', '--workdir', '/tmp/w', '--collect', '../*', './x.sh']);
    expect([up.exitCode, up.stderr]).toEqual([2, "waiter: --collect: '../*' leaves the order's folder ('..'); globs match only below it"]);
    expect((await waiter(k, ['gather', 'nothex'])).exitCode).toBe(4);
  });
});

describe('the upload (FileStore, collect): what is stored is what was read', () => {
  test('an upload whose source fails midway leaves no chunk and no file behind; the source is destroyed', async () => {
    const store = new FileStore(k.db, 'orders');
    const order = new ObjectId();
    // 600,000 bytes (two full 255 KiB chunks and a part), then a read error once both chunks are stored.
    const source = Readable.from(
      (async function* () {
        yield randomBytes(600_000);
        await until(async () => (await chunks().countDocuments()) >= 2, 20_000, 'two chunks stored');
        throw new Error('read error midway');
      })(),
    );
    await expect(store.upload({ order, attempt: 1, path: 'half.bin' }, source)).rejects.toThrow('read error midway');
    expect([await chunks().countDocuments(), await files().countDocuments()]).toEqual([0, 0]);
    expect(source.destroyed).toBe(true);
  });

  test('a file that changes while it is collected is stored as read (up to the size counted) with the SHA-256 of the bytes stored; one whose SHA-256 is not written yet no reader sees (show, the API, gather)', async () => {
    const dir = await tempDir('changing');
    const log = join(dir, 'log.txt');
    await writeFile(log, 'before\n');
    const real = new FileStore(k.db, 'orders');
    const order = new ObjectId();
    // A detached child of the order still writing its log: the file changes (and grows) once collect has opened it.
    const store: Pick<FileStore, 'upload' | 'removeFor'> = {
      removeFor: (orders, attempt) => real.removeFor(orders, attempt),
      upload: async (meta, content) => {
        await writeFile(log, 'after!\nand more\n');
        return real.upload(meta, content);
      },
    };
    await collect(store, order, 1, dir, { globs: ['*.txt'], maxBytes: 1000, on: 'done', timeoutMs: 60_000 }, () => undefined);
    const [f] = await real.of([order]);
    const stored = await buffer(real.open(f!));
    // Read once, up to the 7 bytes counted against --collect-max; hashed as stored.
    expect([stored.toString(), f!.length, f!.metadata.sha256]).toEqual(['after!\n', 7, sha(stored)]);

    // Stopped between its last chunk and its SHA-256: GridFS wrote the document, the hash never came.
    const bucket = new GridFSBucket(k.db, { bucketName: 'orders.results' });
    await pipeline(Readable.from([Buffer.from('half')]), bucket.openUploadStream('late.txt', { metadata: { order, attempt: 1, path: 'late.txt' } }));
    expect((await real.of([order])).map((x) => x.filename)).toEqual(['log.txt']);
    expect((await real.page(undefined, 10)).map((x) => x.filename)).toEqual(['log.txt']);
    expect(await real.one(order, 'late.txt')).toBeNull();
    const out = join(dir, 'd');
    expect((await waiter(k, ['gather', '-o', out])).stdout).toBe(`Gathered 1 file (7 B) of 1 order into ${out}; 0 already there.`);
    // A retry of the attempt (removeFor) still finds it and deletes it, chunks first.
    expect(await real.removeFor([order], 1)).toBe(2);
    expect([await files().countDocuments(), await chunks().countDocuments()]).toEqual([0, 0]);
  });

  test('collect walks only where a glob can match: a cache deeper than 32 folders beside the results fails nothing; ** still walks below its base; symlinks are not followed', async () => {
    const dir = await tempDir('walk');
    await mkdir(join(dir, 'out', 'sub'), { recursive: true });
    await writeFile(join(dir, 'result.json'), '{}');
    await writeFile(join(dir, 'out', 'a.csv'), 'a');
    await writeFile(join(dir, 'out', 'sub', 'b.csv'), 'b');
    const deep = join(dir, 'cache', ...Array.from({ length: 40 }, (_, i) => `d${i}`));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'x.csv'), 'x');
    const outside = await tempDir('walk-outside');
    await writeFile(join(outside, 'secret.csv'), 's');
    await symlink(outside, join(dir, 'linked'));
    await symlink(outside, join(dir, 'out', 'link'));
    await symlink(join(outside, 'secret.csv'), join(dir, 'out', 'l.csv'));
    const paths = async (globs: string[]) => (await find(dir, globs)).map((f) => f.path);
    expect(await paths(['result.json'])).toEqual(['result.json']);
    expect(await paths(['out/*.csv'])).toEqual(['out/a.csv']);
    expect(await paths(['*/*.csv'])).toEqual(['out/a.csv']);
    expect(await paths(['out/**/*.csv', 'result.json'])).toEqual(['out/a.csv', 'out/sub/b.csv', 'result.json']);
    expect(await paths(['linked/*.csv', 'out/link/*.csv', 'out/link/secret.csv', 'linked/secret.csv', 'out/l.csv'])).toEqual([]);
    // Where a glob does reach, the walk is still bounded.
    await expect(find(dir, ['cache/**/*.csv'])).rejects.toThrow(`collecting files: deeper than ${MAX_DEPTH} folders`);
    await expect(find(dir, ['**/nothing'])).rejects.toThrow(`collecting files: deeper than ${MAX_DEPTH} folders`);
  });
});
