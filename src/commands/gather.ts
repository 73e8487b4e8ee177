// waiter gather: the result files of orders (deliver --collect) written to
// <dir>/<order id>/<path>, streamed (one GridFS chunk in memory at a time), resumable
// (a file already there with the same length and SHA-256 is skipped), never outside
// <dir>: a stored name that is absolute or has an empty, '.' or '..' part is refused,
// and so is one whose way in <dir> goes through a symlink. A name that is not text, is
// deeper than collect walks or that this file system cannot hold is that file's
// refusal too (src/output/place.ts), and so is one the file system refuses to write
// (EISDIR, EACCES, ...); the run goes on. A full, over-quota or read-only file system
// stops it (exit 2). <dir> is checked before the kitchen is read; ids not in the list
// are refused before anything is written.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { ObjectId } from 'mongodb';
import type { Argv } from 'yargs';
import { InputError, UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import { orderId, type State } from '../order.js';
import { latest, type StoredFile } from '../kitchen/files.js';
import { Parts } from '../output/parts.js';
import { checkFolder, failed, fullStop, makeFolder, PATH_MAX, shownName, storedParts } from '../output/place.js';
import { sizeText } from '../output/size.js';
import { counted } from '../words.js';
import { print, state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Write the result files of orders (deliver --collect) to <dir>/<order id>/<path>; files already there are skipped';

export function builder(y: Argv) {
  return y
    .positional('ids', { type: 'string', array: true, describe: 'Only these orders (24 hex digits each, also comma-separated: "$WAITER_AFTER"); default: every order with files' })
    .option('out', { alias: 'o', type: 'string', describe: 'The folder to write into (default: the current one)' })
    .option('status', { type: 'string', describe: 'Only orders in this state (READY, RUNNING, DONE, ERROR)' });
}

export interface GatherOptions {
  out: string;
  ids?: ObjectId[];
  status?: State;
}

export function options(argv: Record<string, unknown>): GatherOptions {
  // Comma-separated too, so a dependant's `waiter gather "$WAITER_AFTER"` fetches its inputs' files. Quoted:
  // an empty value is then refused; unquoted, the shell drops it and gather gets no ids (every order).
  const given = [argv.ids ?? []].flat().map((s) => String(s));
  const ids = given.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  if (given.length > 0 && ids.length === 0) throw new UsageError('gather: the order ids given are empty (an empty $WAITER_AFTER?); give none to gather every order');
  const o: GatherOptions = { out: argv.out === undefined ? '.' : String(argv.out) };
  if (o.out === '') throw new UsageError('--out: empty');
  if (argv.status !== undefined) o.status = state('status', argv.status);
  if (ids.length > 0) {
    if (o.status) throw new UsageError('gather: give order ids or --status, not both');
    o.ids = ids.map((s) => {
      try {
        return orderId(s);
      } catch (err) {
        throw err instanceof InputError ? new InputError(`gather: ${err.message}`) : err;
      }
    });
  }
  return o;
}

interface Tally {
  written: number;
  bytes: number;
  skipped: number;
  refused: number;
  orders: number;
}

export async function run(g: Globals, o: GatherOptions, io: IO): Promise<CommandResult> {
  // Before the kitchen is read: an -o that cannot be a folder is the user's option (exit 2).
  // An -o that is a folder gather cannot write in: an error kept for the first file not already there.
  const unwritable = await checkFolder(o.out);
  const root = resolve(o.out);
  // '/' ends with its separator already.
  const inside = root.endsWith(sep) ? root : root + sep;
  const parts = new Parts(root, o.out);
  const t: Tally = { written: 0, bytes: 0, skipped: 0, refused: 0, orders: 0 };
  const line = progressLine(io.stderr, t);
  const warn = (s: string) => {
    line.clear();
    io.stderr.write(`waiter: gather: ${s}\n`);
  };
  const refuse = (id: string, name: unknown, why: string, quoted = false) => {
    t.refused++;
    warn(`refused ${id}/${shownName(name, quoted)}: ${why}`);
  };
  let without: ObjectId[] = [];
  try {
    await withKitchen(g, async (k) => {
      if (o.ids) {
        const missing = [...new Set((await k.pipeline.missing(o.ids)).map((id) => id.toHexString()))];
        if (missing.length > 0) throw new InputError(`gather: not in the list '${g.list}': ${listed(missing)} (nothing gathered)`);
      }
      if (!unwritable) await makeFolder(o.out);
      const seen = new Set<string>();
      for await (const group of groups(k, o)) {
        t.orders++;
        for (const f of latest(group)) {
          const id = f.metadata.order.toHexString();
          seen.add(id);
          const name: unknown = f.metadata.path ?? f.filename;
          const checked = storedParts(name);
          const steps = 'parts' in checked ? checked.parts : undefined;
          const target = steps ? join(root, id, ...steps) : undefined;
          if (!target || !target.startsWith(inside)) {
            const why = 'refused' in checked ? checked.refused : 'not a plain relative path';
            refuse(id, name, `${why} (nothing written)`, why === 'not a plain relative path');
            continue;
          }
          // Checked before any folder is made for it (PATH_MAX counts the closing NUL).
          if (Buffer.byteLength(target) >= PATH_MAX) {
            refuse(id, name, `its path in ${o.out} would be longer than ${(PATH_MAX - 1).toLocaleString('en-US')} bytes (nothing written)`);
            continue;
          }
          try {
            const way = await folders(root, [id, ...steps!.slice(0, -1)], !unwritable);
            if (way === 'missing') throw stopped(unwritable!, t);
            if (!way) {
              refuse(id, name, `a folder on its way in ${o.out} is a symlink or not a folder`);
              continue;
            }
            if (await same(target, f)) t.skipped++;
            else {
              if (unwritable) throw stopped(unwritable, t);
              const bad = await fetch(k, f, target, await parts.path());
              if (bad) {
                refuse(id, name, `${bad} (nothing written)`);
                continue;
              }
              t.written++;
              t.bytes += f.length;
            }
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            // A full, over-quota or read-only file system: no further file can be written either.
            const full = fullStop(code, dirname(target));
            if (full) throw stopped(failed(o.out, full), t);
            // A name this file system cannot hold (bytes it refuses), or a place it will not write: this file's refusal.
            if (code === 'ENAMETOOLONG' || code === 'EILSEQ') {
              refuse(id, name, `the local file system cannot hold this name (${code}) (nothing written)`);
              continue;
            }
            if (!code || !REFUSED.has(code)) throw err;
            refuse(id, name, `the local file system refused to write it (${code}: ${REFUSED.get(code)}) (nothing written)`);
            continue;
          }
          line.draw();
        }
      }
      without = o.ids?.filter((id) => !seen.has(id.toHexString())) ?? [];
    });
  } finally {
    line.clear();
    await parts.close();
  }
  const none = [...new Set(without.map((id) => id.toHexString()))];
  if (none.length > 0) warn(`no result files: ${listed(none)}`);
  const also = [t.refused ? `; ${t.refused} refused` : '', none.length ? `; ${counted(none.length, 'order')} without files` : ''].join('');
  print(io.stdout, `Gathered ${counted(t.written, 'file')} (${sizeText(t.bytes)}) of ${counted(t.orders, 'order')} into ${o.out}; ${t.skipped} already there${also}.`);
  return t.refused ? { failedOrders: true } : {};
}

/** Write errors that are one file's refusal (the next file may well be written), and what they mean here. */
const REFUSED = new Map([
  ['EISDIR', 'a folder is in its place'],
  ['ENOTEMPTY', 'a folder is in its place'],
  ['EEXIST', 'something is in its place'],
  ['ENOTDIR', 'a file is where a folder must be'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'operation not permitted'],
  ['EFBIG', 'too large for this file system'],
  // Its folder is another file system mounted inside <dir>: the temporary cannot be renamed there.
  ['EXDEV', 'its folder is on another file system than .waiter-parts'],
]);

/** The one line that ends a run that cannot go on, with what it did so far. */
function stopped(err: UsageError, t: Tally): UsageError {
  return new UsageError(`${err.message}; gather stopped: ${counted(t.written, 'file')} (${sizeText(t.bytes)}) written, ${t.skipped} already there, ${t.refused} refused`);
}

/** Ids for one line: the first 10, then how many more. */
function listed(ids: string[]): string {
  return ids.length <= 10 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')} and ${(ids.length - 10).toLocaleString('en-US')} more`;
}

/** The files, one order at a time (an order's every attempt together; latest() picks). */
async function* groups(k: Kitchen, o: GatherOptions): AsyncGenerator<StoredFile[]> {
  const byOrder = function* (files: StoredFile[]) {
    const m = new Map<string, StoredFile[]>();
    for (const f of files) {
      const id = f.metadata.order.toHexString();
      const group = m.get(id);
      if (group) group.push(f);
      else m.set(id, [f]);
    }
    yield* m.values();
  };
  if (o.ids) {
    yield* byOrder(await k.files.of(o.ids));
    return;
  }
  if (o.status) {
    // Pages of ids (no cursor held open while files are written: it would time out).
    for (let after: ObjectId | undefined; ;) {
      const page = await k.idsIn(o.status, after, 500);
      if (page.length === 0) return;
      yield* byOrder(await k.files.of(page));
      after = page.at(-1);
    }
  }
  // Every file: pages of the files collection, ranges of its index (no cursor held while files are written).
  let after: ObjectId | undefined;
  for (;;) {
    const page = await k.files.page(after, 1000);
    if (page.length === 0) return;
    const last = page.at(-1)!.metadata.order;
    // The page's last order may go on in the next page: read it whole.
    const whole = page.length === 1000 ? [...page.filter((f) => !f.metadata.order.equals(last)), ...(await k.files.of([last]))] : page;
    yield* byOrder(whole);
    after = last;
  }
}

/**
 * Makes the folders below root one at a time, none through a symlink: false when one
 * on the way is a symlink (even one pointing inside) or not a folder. So nothing is
 * made or written outside root, whatever was left in it. With make false, a missing
 * one is 'missing' (root cannot be written in).
 */
async function folders(root: string, parts: string[], make: boolean): Promise<boolean | 'missing'> {
  let cur = root;
  for (const p of parts) {
    cur = join(cur, p);
    const st = await lstat(cur).catch(() => undefined);
    if (!st) {
      if (!make) return 'missing';
      await mkdir(cur).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      if ((await lstat(cur)).isDirectory()) continue;
      return false;
    }
    if (!st.isDirectory()) return false;
  }
  return true;
}

/** Already there: a regular file (not a link) of the same length and SHA-256. */
async function same(target: string, f: StoredFile): Promise<boolean> {
  const st = await lstat(target).catch(() => undefined);
  if (!st?.isFile() || st.size !== f.length || !f.metadata.sha256) return false;
  const h = createHash('sha256');
  for await (const b of createReadStream(target)) h.update(b as Buffer);
  return h.digest('hex') === f.metadata.sha256;
}

/**
 * Streams one file to `part` (src/output/parts.ts), checks its SHA-256, then renames it
 * into place. A file whose content does not match its SHA-256 is not written: the reason is
 * returned (one file's refusal; the others are still gathered).
 */
async function fetch(k: Kitchen, f: StoredFile, target: string, part: string): Promise<string | undefined> {
  const h = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk);
      done(null, chunk);
    },
  });
  try {
    // A left-over part (or a symlink by that name) goes first; 'wx' then creates it anew, following no link.
    await rm(part, { force: true });
    await pipeline(k.files.open(f), hashing, createWriteStream(part, { flags: 'wx' }));
    const got = h.digest('hex');
    if (f.metadata.sha256 && got !== f.metadata.sha256) {
      await rm(part, { force: true });
      return `its stored content does not match its SHA-256 (${got} vs ${f.metadata.sha256})`;
    }
    await rename(part, target);
    return undefined;
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
}

/** One line on a terminal, redrawn at most 10 times a second: files written, bytes, skipped. */
function progressLine(out: Writable & { isTTY?: boolean }, t: Tally) {
  let last = 0;
  let shown = false;
  return {
    draw() {
      if (!out.isTTY || Date.now() - last < 100) return;
      last = Date.now();
      shown = true;
      out.write(`\r\u001b[Kgather: ${counted(t.written, 'file')} (${sizeText(t.bytes)}) written, ${t.skipped} skipped, ${counted(t.orders, 'order')}`);
    },
    clear() {
      if (shown) out.write('\r\u001b[K');
      shown = false;
    },
  };
}
