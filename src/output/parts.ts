// Where waiter gather writes a file before renaming it into place: a folder of the
// run's own, <dir>/.waiter-parts/<host>-<pid>/. No stored name can be there (each sits
// below a 24-hex order id), two gathers into one <dir> never share a temporary, and it
// is on the same file system as the targets (rename works). Made at the first file
// written (a complete copy on a read-only disk needs none), removed when the run ends;
// a run also removes the folders that runs on this host no longer running left behind.
import { lstat, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { failed } from './place.js';

export const PARTS = '.waiter-parts';

/** This host's name as a file name part. */
const host = () => hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host';

/** Whether process `pid` of this host still runs (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Parts {
  private folder?: string;

  constructor(
    private readonly root: string,
    private readonly out: string,
  ) {}

  /** The temporary file's path (one file is written at a time), making the folders at the first call. */
  async path(): Promise<string> {
    this.folder ??= await this.make();
    return join(this.folder, 'part');
  }

  private async make(): Promise<string> {
    const top = join(this.root, PARTS);
    await mkdir(top).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    // Never through a symlink: what is written there must stay inside <dir>.
    if (!(await lstat(top)).isDirectory()) throw failed(this.out, `${top} is a symlink or not a folder`);
    const mine = `${host()}-${process.pid}`;
    for (const name of await readdir(top)) {
      const m = /^(.+)-(\d+)$/.exec(name);
      if (name !== mine && m?.[1] === host() && !alive(Number(m[2]))) await rm(join(top, name), { recursive: true, force: true });
    }
    const folder = join(top, mine);
    await mkdir(folder).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    if (!(await lstat(folder)).isDirectory()) throw failed(this.out, `${folder} is a symlink or not a folder`);
    return folder;
  }

  /** Removes this run's folder, and .waiter-parts when nothing else is in it. */
  async close(): Promise<void> {
    if (!this.folder) return;
    await rm(this.folder, { recursive: true, force: true }).catch(() => undefined);
    await rmdir(join(this.root, PARTS)).catch(() => undefined);
  }
}
