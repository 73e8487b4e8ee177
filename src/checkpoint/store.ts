// Storing one checkpoint: the files of the order's folder matching --checkpoint are
// uploaded under a new set id, then ONE write fenced by the claim makes that set the
// order's current checkpoint (the flip), then the set it replaced is deleted. So a set
// half stored (a failure, the box gone mid-upload) or stored by an attempt that lost its
// lease is never current, and the previous checkpoint stays valid until the flip.
//
// The set is first copied within the folder (a snapshot, SNAPSHOT), and every file looked
// at again after the copy: a set the command wrote meanwhile is copied again, so what is
// uploaded is the folder as it was at one moment, while the command goes on.
import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ObjectId } from 'mongodb';
import type { CheckpointQueries } from '../kitchen/checkpoints.js';
import type { FileStore } from '../kitchen/files.js';
import type { CheckpointRef, Claimed } from '../order.js';
import { find } from '../output/collect.js';
import { sizeText } from '../output/size.js';
import { until } from '../output/until.js';
import { counted } from '../words.js';
import type { CheckpointOptions } from './options.js';

/** Names waiter keeps in the folder for itself (the marker, the restore's staging folder): never part of a checkpoint. */
export const OWN_PREFIX = '.waiter-checkpoint';

export type StoreQueries = Pick<CheckpointQueries, 'flip' | 'removeSet'> & { files: Pick<FileStore, 'upload' | 'removeFor'> };

/** How a store ended: stored (and current), or why not. Only 'failed' is worth a retry of the same files. */
export type Stored =
  | { stored: CheckpointRef }
  | { skipped: string }
  /** The order is no longer this attempt's: the set was not made current (and is deleted). */
  | { fenced: true }
  | { failed: string };

/** A set that changed while it was copied: not one consistent checkpoint. */
class Changed extends Error {}

/** Where a set is copied before it is uploaded: a snapshot, so the command may go on writing its next one meanwhile. */
export const SNAPSHOT = `${OWN_PREFIX}-snapshot`;
/** Copies tried when the command writes its files while they are copied. */
const COPY_TRIES = 3;

interface Found {
  path: string;
  full: string;
  size: number;
}

/** What says a file was not written again: the same inode (not renamed over), size and mtime. */
const same = (a: Stats, b: Stats | undefined) => b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

/**
 * Copies the set into `into` (file i as `i`): a snapshot of the folder at one moment,
 * checked by looking at every file again after the copy; a set written meanwhile is copied
 * again (COPY_TRIES), then given up (Changed). Symlinks are never followed.
 */
async function snapshot(found: Found[], into: string): Promise<void> {
  for (let tries = 1; ; tries++) {
    await rm(into, { recursive: true, force: true });
    await mkdir(into, { recursive: true });
    const seen: Stats[] = [];
    for (const [i, f] of found.entries()) {
      const fh = await open(f.full, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new Error(`${f.path} is not a regular file`);
        seen.push(st);
        f.size = st.size;
        if (st.size > 0) await pipeline(fh.createReadStream({ start: 0, end: st.size - 1, autoClose: false }), createWriteStream(join(into, String(i)), { flags: 'wx' }));
        else await writeFile(join(into, String(i)), '', { flag: 'wx' });
      } finally {
        await fh.close();
      }
    }
    const now = await Promise.all(found.map((f) => lstat(f.full).catch(() => undefined)));
    if (seen.every((st, i) => same(st, now[i]))) return;
    if (tries >= COPY_TRIES) throw new Changed(`the files changed while they were copied (${COPY_TRIES} times)`);
  }
}

/**
 * Stores the checkpoint in `dir` for attempt `c`; `previous` is the set now current (the
 * one restored, or this attempt's last), deleted once the new one is. Never throws.
 */
export async function storeCheckpoint(q: StoreQueries, c: Pick<Claimed, 'id' | 'token' | 'attempt'>, dir: string, o: CheckpointOptions, previous?: ObjectId): Promise<Stored> {
  let found: Found[];
  try {
    found = (await find(dir, o.globs)).filter((f) => !f.path.startsWith(OWN_PREFIX));
    for (const f of found) f.size = (await lstat(f.full)).size;
  } catch (err) {
    return { failed: `reading the folder: ${firstLine(err)}` };
  }
  if (found.length === 0) return { skipped: `no file matches --checkpoint ${o.globs.join(' ')}` };
  const over = (bytes: number) => ({ skipped: `--checkpoint-max ${sizeText(o.maxBytes)}: ${counted(found.length, 'file')} of ${sizeText(bytes)}; this checkpoint skipped` });
  const sum = () => found.reduce((n, f) => n + f.size, 0);
  if (sum() > o.maxBytes) return over(sum());
  const set = new ObjectId();
  const signal = AbortSignal.timeout(o.timeoutMs);
  const copy = join(dir, SNAPSHOT);
  try {
    await snapshot(found, copy);
    const bytes = sum();
    if (bytes > o.maxBytes) return over(bytes);
    for (const [i, f] of found.entries()) {
      await q.files.upload({ order: c.id, attempt: c.attempt, path: f.path, set }, createReadStream(join(copy, String(i))), signal);
    }
    const ref: CheckpointRef = { set, attempt: c.attempt, at: new Date(), files: found.length, bytes };
    if (!(await until(q.flip(c, ref), signal))) {
      await q.removeSet(c.id, set).catch(() => undefined);
      return { fenced: true };
    }
    // Replaced, not kept: best effort (a set left over goes with the order at clean).
    if (previous && !previous.equals(set)) await q.removeSet(c.id, previous).catch(() => undefined);
    return { stored: ref };
  } catch (err) {
    await until(
      q.removeSet(c.id, set).then(() => undefined),
      AbortSignal.timeout(30_000),
    ).catch(() => undefined);
    if (err instanceof Changed) return { skipped: `${err.message}; this checkpoint skipped` };
    return { failed: signal.aborted ? `took longer than ${Math.round(o.timeoutMs / 1000)} s` : firstLine(err) };
  } finally {
    await rm(copy, { recursive: true, force: true }).catch(() => undefined);
  }
}

function firstLine(err: unknown): string {
  return ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'failed';
}
