// deliver --collect <glob>...: after an attempt, the files under the order's folder
// that match are stored in the kitchen (src/kitchen/files.ts), before the attempt's
// result is recorded, so an order seen DONE has its files there.
//
// - The walk is our own and bounded (MAX_ENTRIES, MAX_DEPTH): it never follows a
//   symlink (a directory link is not entered, a file link not read), and a file is
//   opened with O_NOFOLLOW, so a link swapped in after the walk is not read either.
//   Nothing outside the folder can be reached: globs are relative, `..` is refused at
//   the door, and the walk only goes down.
// - Matching is picomatch's (the glob engine of micromatch, fast-glob, tinyglobby).
// - --collect-max bounds the bytes per attempt: the sizes are summed first; over
//   the cap nothing is stored and the attempt fails with that error. A file is read
//   once, up to that size (a log still growing is stored as it was then), and its
//   SHA-256 is the hash of the bytes stored (FileStore.upload).
import { constants, type Stats } from 'node:fs';
import { lstat, open, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import picomatch from 'picomatch';
import type { ObjectId } from 'mongodb';
import { UsageError } from '../errors.js';
import { retrying } from '../deliver/retry.js';
import type { FileStore } from '../kitchen/files.js';
import { sizeText } from './size.js';
import { until } from './until.js';
import { counted } from '../words.js';
import { span } from '../fleet.js';

/** Default --collect-max per attempt (docs/outputs.md, "Result files"). */
export const DEFAULT_COLLECT_MAX = 100 * 1024 * 1024;
/** Default --collect-timeout: 100 MiB at ~170 KiB/s. A box whose uploads hang must not hold its order (the lease is kept meanwhile) for ever. */
export const DEFAULT_COLLECT_TIMEOUT_MS = 10 * 60_000;
/** The walk gives up past this many directory entries or this depth (a folder of millions is a mistake, not results). */
export const MAX_ENTRIES = 100_000;
export const MAX_DEPTH = 32;

export type CollectOn = 'done' | 'always';

export interface CollectOptions {
  globs: string[];
  maxBytes: number;
  on: CollectOn;
  /** --collect-timeout: storing one attempt's files ends within this, outages included. */
  timeoutMs: number;
  /** Secrets out of the stored file names (src/output/mask.ts). */
  mask?: (name: string) => string;
}

/** Checks the globs at the door: relative, not leaving the folder. */
export function checkGlobs(globs: string[]): string[] {
  for (const g of globs) {
    if (g.trim() === '') throw new UsageError('--collect: an empty glob');
    if (g.startsWith('/') || /^[A-Za-z]:/.test(g)) throw new UsageError(`--collect: '${g}' is absolute; globs are relative to the order's --workdir folder`);
    if (g.split(/[\\/]/).includes('..')) throw new UsageError(`--collect: '${g}' leaves the order's folder ('..'); globs match only below it`);
  }
  return globs;
}

interface Found {
  path: string;
  full: string;
  size: number;
}

/**
 * Where one glob can match: below its static base folder (picomatch.scan), exactly
 * `depth` levels down (the number of its pattern's segments; Infinity with `**`, braces
 * or extglobs, which may span a '/'). A plain path is its own base, depth 0. A negated
 * glob, or a base with an escape in it, can match anywhere: the whole folder.
 */
interface Reach {
  base: string[];
  depth: number;
}

function reachOf(glob: string): Reach {
  const s = picomatch.scan(glob);
  if (s.negated || s.base.includes('\\')) return { base: [], depth: Infinity };
  const base = s.base.split('/').filter((p) => p !== '' && p !== '.');
  if (!s.isGlob) return { base, depth: 0 };
  return { base, depth: /\*\*|[{(]/.test(s.glob) ? Infinity : s.glob.split('/').length };
}

/** Whether a match of `r` can lie below the folder `parts`: on the way to its base, or inside it and less than `depth` down. */
function reaches(parts: string[], r: Reach): boolean {
  for (let i = 0; i < Math.min(parts.length, r.base.length); i++) if (parts[i] !== r.base[i]) return false;
  return parts.length - r.base.length < r.depth;
}

/**
 * The regular files below `dir` whose relative posix path matches; symlinks neither
 * entered nor listed. Only folders where a glob can match are entered, and only their
 * entries count against MAX_ENTRIES: a folder that is only on the way to every base
 * left is not listed, the next folder of each base is looked up by name (lstat).
 */
export async function find(dir: string, globs: string[]): Promise<Found[]> {
  const match = picomatch(globs);
  const out: Found[] = [];
  let entries = 0;
  const walk = async (full: string, parts: string[], within: Reach[]): Promise<void> => {
    const rel = parts.join('/');
    if (parts.length > MAX_DEPTH) throw new Error(`collecting files: deeper than ${MAX_DEPTH} folders at ${rel}`);
    // A promise only for a folder entered: a file costs no await.
    const seen = (name: string, isDir: boolean, isFile: boolean): Promise<void> | undefined => {
      if (++entries > MAX_ENTRIES) throw new Error(`collecting files: more than ${MAX_ENTRIES} entries in the folder`);
      const path = rel ? `${rel}/${name}` : name;
      if (isDir) {
        const next = [...parts, name];
        const inner = within.filter((r) => reaches(next, r));
        return inner.length > 0 ? walk(join(full, name), next, inner) : undefined;
      }
      if (isFile && match(path)) out.push({ path, full: join(full, name), size: 0 });
      return undefined;
    };
    if (within.every((r) => r.base.length > parts.length)) {
      for (const name of new Set(within.map((r) => r.base[parts.length]!))) {
        const st = await lstat(join(full, name)).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        });
        // lstat: a symlink is neither a folder nor a file.
        if (st) await seen(name, st.isDirectory(), st.isFile());
      }
      return;
    }
    // Dirent types come from the entry itself (lstat's view): a symlink is neither.
    for await (const e of await opendir(full)) {
      const sub = seen(e.name, e.isDirectory(), e.isFile());
      if (sub) await sub;
    }
  };
  await walk(dir, [], globs.map(reachOf));
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Opens a file for reading without following a symlink, and checks it is a regular file. */
async function openPlain(full: string): Promise<{ fh: Awaited<ReturnType<typeof open>>; st: Stats }> {
  const fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new Error(`collecting files: ${full} is not a regular file`);
  }
  return { fh, st };
}

export interface Collected {
  files: number;
  bytes: number;
}

/**
 * Collects one attempt's files. Throws a one-line Error (the attempt's error) when the
 * files are over the cap or cannot be read or stored; a kitchen outage is ridden out
 * (retried up to a minute: the attempt's earlier files are deleted first, so a retry
 * stores each once).
 */
export async function collect(
  store: Pick<FileStore, 'upload' | 'removeFor'>,
  order: ObjectId,
  attempt: number,
  dir: string,
  o: CollectOptions,
  log: (line: string) => void,
): Promise<Collected> {
  const found = await find(dir, o.globs);
  for (const f of found) {
    const { fh, st } = await openPlain(f.full);
    await fh.close();
    f.size = st.size;
  }
  const bytes = found.reduce((n, f) => n + f.size, 0);
  if (bytes > o.maxBytes) {
    throw new Error(`--collect-max ${sizeText(o.maxBytes)}: ${counted(found.length, 'matching file')} of ${sizeText(bytes)} in all; none collected`);
  }
  const signal = AbortSignal.timeout(o.timeoutMs);
  const store1 = async () => {
    await until(store.removeFor([order], attempt), signal);
    for (const f of found) {
      signal.throwIfAborted();
      const { fh } = await openPlain(f.full);
      let content = Readable.from([]);
      if (f.size > 0) content = fh.createReadStream({ start: 0, end: f.size - 1 });
      else await fh.close();
      await store.upload({ order, attempt, path: o.mask ? o.mask(f.path) : f.path }, content, signal);
    }
  };
  try {
    await retrying(store1, { what: `storing the files of ${order.toHexString()}`, log, limitMs: Math.min(60_000, o.timeoutMs) });
  } catch (err) {
    if (signal.aborted)
      throw new Error(`--collect-timeout ${span(o.timeoutMs)}: storing ${counted(found.length, 'file')} of ${sizeText(bytes)} took longer; none kept`, { cause: err });
    throw err;
  }
  return { files: found.length, bytes };
}
