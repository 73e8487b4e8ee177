// Where waiter gather writes: the -o folder, checked before anything is read, and
// each stored name, checked before any folder is made for it.
// - The -o check never uses mkdir's `recursive` (on /proc/x Node's recursive mkdir
//   retries for ever: the parent exists, the child can never be made): it finds the
//   nearest folder that exists and makes (then removes) an empty folder there, so a
//   read-only file system, /proc and missing permission are found as they are, root's
//   included (permission bits do not stop root; a mkdir there is the honest test).
// - A stored name is refused (that file alone) when it is not text, could leave the
//   folder, is deeper than collect ever walks (MAX_DEPTH) or has a part longer than
//   NAME_MAX bytes, the limit of every common local file system.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { counted, printable } from '../words.js';
import { MAX_DEPTH } from './collect.js';

/** The longest name part (bytes) a local file system holds (ext4, xfs, btrfs, APFS, NTFS in UTF-16 units). */
export const NAME_MAX = 255;

/** The longest path (bytes, its closing NUL included) Linux's system calls take. */
export const PATH_MAX = 4096;

/** Why a folder cannot be made in `at`, from the error's code. */
function why(code: string | undefined, at: string): string {
  if (code === 'EACCES' || code === 'EPERM') return `permission denied in ${at}`;
  if (code === 'EROFS') return `read-only file system at ${at}`;
  if (code === 'ENOSPC') return `no space left at ${at}`;
  if (code === 'EDQUOT') return `disk quota exceeded at ${at}`;
  if (code === 'ENAMETOOLONG') return 'the path is too long';
  if (code === 'ELOOP') return 'too many symlinks on the way';
  return `cannot make a folder in ${at}: ${code ?? 'unknown error'}`;
}

export const failed = (out: string, reason: string) => new UsageError(`-o ${out}: cannot write there (${reason})`);

/** Why writing in `at` cannot go on, for the codes that stop a whole run (a full, over-quota or read-only file system). */
export function fullStop(code: string | undefined, at: string): string | undefined {
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS' ? why(code, at) : undefined;
}

/**
 * Checks that `out` is, or can be made, a folder gather can write in, without making
 * it: its nearest existing part must be a folder in which a folder can be made, found
 * without following a symlink to a missing place (mkdir cannot go through one).
 * Throws a one-line UsageError otherwise, except when `out` itself is a folder that
 * cannot be written in: that error is returned, for the first file that must be
 * written (a complete copy on a read-only disk is still checked, exit 0).
 */
export async function checkFolder(out: string): Promise<UsageError | undefined> {
  let at = resolve(out);
  for (;;) {
    const st = await lstat(at).catch((err: NodeJS.ErrnoException) => err);
    if (!(st instanceof Error)) {
      const to = st.isSymbolicLink() ? await stat(at).catch((err: NodeJS.ErrnoException) => err) : st;
      if (to instanceof Error) throw failed(out, to.code === 'ENOENT' ? `${at} is a symlink to a missing place` : why(to.code, at));
      if (!to.isDirectory()) throw failed(out, `${at} is not a folder`);
      break;
    }
    // ENOTDIR: a part above is a file; going up finds it and says so.
    if (st.code !== 'ENOENT' && st.code !== 'ENOTDIR') throw failed(out, why(st.code, at));
    const up = dirname(at);
    if (up === at) throw failed(out, 'no part of it exists');
    at = up;
  }
  const probe = join(at, `.waiter-${randomBytes(4).toString('hex')}`);
  const cannot = await mkdir(probe).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => failed(out, why(err.code, at)),
  );
  if (!cannot) await rmdir(probe).catch(() => undefined);
  else if (at !== resolve(out)) throw cannot;
  return cannot;
}

/** Makes `out` (checked by checkFolder), one folder at a time; a failure is the same one line. */
export async function makeFolder(out: string): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(out); ; at = dirname(at)) {
    const st = await stat(at).catch(() => undefined);
    if (st?.isDirectory()) break;
    if (st || dirname(at) === at) throw failed(out, `${at} is not a folder`);
    missing.unshift(at);
  }
  for (const at of missing) {
    await mkdir(at).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' && (await stat(at).catch(() => undefined))?.isDirectory()) return;
      throw failed(out, why(err.code, dirname(at)));
    });
  }
}

/** The parts of a stored path, or undefined when it could leave the folder (absolute, '', '.', '..', NUL). */
export function safeParts(name: string): string[] | undefined {
  if (name === '' || name.includes('\0') || name.startsWith('/')) return undefined;
  const parts = name.split('/');
  return parts.some((p) => p === '' || p === '.' || p === '..') ? undefined : parts;
}

/** A stored name's parts, or why it is refused (that file's refusal: nothing made for it). */
export function storedParts(name: unknown): { parts: string[] } | { refused: string } {
  if (typeof name !== 'string') return { refused: 'its stored name is not text' };
  const parts = safeParts(name);
  if (!parts) return { refused: 'not a plain relative path' };
  if (parts.length - 1 > MAX_DEPTH) return { refused: `deeper than ${MAX_DEPTH} folders` };
  if (parts.some((p) => Buffer.byteLength(p) > NAME_MAX)) return { refused: `a name part longer than ${NAME_MAX} bytes` };
  return { parts };
}

/** A stored name for one line on stderr: inert, and cut after 60 characters (with its length) when long. */
export function shownName(name: unknown, quoted = false): string {
  const text = typeof name === 'string' && !quoted ? name : (JSON.stringify(name) ?? String(name));
  const bytes = Buffer.byteLength(text);
  return printable(bytes > 100 ? `${[...text].slice(0, 60).join('')}… (${counted(bytes, 'byte')})` : text);
}
