// Restoring an order's current checkpoint into the folder of a new attempt, before its
// command starts. All or nothing: the files are downloaded into a staging folder and
// checked (the number of files the flip recorded, each file's length and SHA-256) before
// any is moved into place; a set that does not check out is not restored at all, and the
// command starts from scratch (without WAITER_RESUMED).
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { CheckpointQueries } from '../kitchen/checkpoints.js';
import type { FileStore, StoredFile } from '../kitchen/files.js';
import type { CheckpointRef, Claimed } from '../order.js';
import { OWN_PREFIX } from './store.js';

export type RestoreQueries = Pick<CheckpointQueries, 'setFiles' | 'resumed'> & { files: Pick<FileStore, 'open'> };

/** Where the files are staged in the folder until all are checked. */
export const STAGING = `${OWN_PREFIX}-restore`;

/** Whether a stored path may be written below the folder: relative, no `..`, not one of waiter's own names. */
export function safePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false;
  const parts = path.split('/');
  return !parts.some((p) => p === '' || p === '.' || p === '..') && !path.startsWith(OWN_PREFIX);
}

/** What the files of a set lack against the flip that made it current; undefined when it checks out. */
export function incomplete(ref: Pick<CheckpointRef, 'files' | 'bytes'>, files: readonly Pick<StoredFile, 'length' | 'metadata'>[]): string | undefined {
  if (files.length !== ref.files) return `${files.length} of its ${ref.files} files stored`;
  const bytes = files.reduce((n, f) => n + f.length, 0);
  if (bytes !== ref.bytes) return `${bytes} of its ${ref.bytes} bytes stored`;
  const bad = files.find((f) => !safePath(f.metadata.path));
  return bad ? `a file named ${JSON.stringify(bad.metadata.path)} cannot be restored in the folder` : undefined;
}

/**
 * Restores c's checkpoint into `dir`: the attempt it came from, or undefined when the
 * order has none, or it did not check out (`log` says why). Throws only for the kitchen
 * (the caller retries or gives up).
 */
export async function restoreCheckpoint(q: RestoreQueries, c: Pick<Claimed, 'id' | 'token' | 'checkpoint'>, dir: string, log: (line: string) => void): Promise<number | undefined> {
  const ref = c.checkpoint;
  if (!ref) return undefined;
  const id = c.id.toHexString();
  const files = await q.setFiles(c.id, ref.set);
  const lacks = incomplete(ref, files);
  if (lacks !== undefined) {
    log(`waiter: the checkpoint of ${id} (attempt ${ref.attempt}) is not complete (${lacks}): not restored; the command starts from scratch`);
    return undefined;
  }
  const staging = join(dir, STAGING);
  await rm(staging, { recursive: true, force: true });
  try {
    await mkdir(staging, { recursive: true });
    for (const [i, f] of files.entries()) {
      const hash = createHash('sha256');
      let length = 0;
      const fh = await open(join(staging, String(i)), 'wx');
      try {
        const out = fh.createWriteStream();
        const hashing = new Writable({
          write(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            length += chunk.length;
            out.write(chunk, cb);
          },
          final(cb) {
            out.end(cb);
          },
        });
        await pipeline(q.files.open(f), hashing);
      } finally {
        await fh.close().catch(() => undefined);
      }
      const sha256 = hash.digest('hex');
      if (length !== f.length || sha256 !== f.metadata.sha256) {
        log(`waiter: the checkpoint of ${id} (attempt ${ref.attempt}) is corrupt (${f.metadata.path} does not match its SHA-256): not restored; the command starts from scratch`);
        return undefined;
      }
    }
    // Every file checked: now into place (a rename each, within the folder).
    for (const [i, f] of files.entries()) {
      const target = join(dir, f.metadata.path);
      await mkdir(dirname(target), { recursive: true });
      await rename(join(staging, String(i)), target);
    }
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
  // Said on the RUNNING order for show; refused only when the order is no longer ours, which the heartbeat will find.
  await q.resumed(c, ref.attempt);
  return ref.attempt;
}
