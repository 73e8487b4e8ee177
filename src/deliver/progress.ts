// An order's progress (issue 28): its command writes `42` or `42 decoding frame 1,204`
// to the file named by WAITER_PROGRESS; the waiter reads it at each heartbeat and sends
// what it read with that heartbeat's write (no round trip of its own), and once more as
// the attempt ends, for its line in history. The file is the command's to write: what
// is in it is never trusted. Read without following a symlink, only if a regular file
// (a FIFO would block the read), only its last PROGRESS_READ_BYTES; anything that does
// not parse is ignored (the last good reading stays), never the order's failure.
// The files live in the deliver's private folder (jobenv.ts), removed when deliver ends.
import { closeSync, constants, fstatSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Claimed, JobProgress } from '../order.js';

/** How much of the file is read: its end (the last line of an appended file). */
export const PROGRESS_READ_BYTES = 200;
/** How long a read may take before the heartbeat goes without it (a local file: never, unless the box is in trouble). */
const READ_WAIT_MS = 200;

/**
 * The last non-empty line (lines end at \n or \r: a progress bar's redraws count as
 * lines) of what was read: a number 0-100 (decimals and a `%` allowed), then optional
 * text. Undefined when it is not that: an empty file, a number out of range, a word.
 */
export function parseProgress(raw: string): JobProgress | undefined {
  const line = raw
    .split(/[\r\n]/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  if (line === undefined) return undefined;
  const m = /^(\d{1,3}(?:\.\d+)?)\s*%?(?:\s+(.*))?$/s.exec(line);
  if (!m) return undefined;
  const percent = Number(m[1]);
  if (!(percent >= 0 && percent <= 100)) return undefined;
  // Kept as written (show, logs and the page make it inert where they print it), less its own whitespace.
  const text = m[2]?.trim();
  return text ? { percent: Math.round(percent * 10) / 10, text } : { percent: Math.round(percent * 10) / 10 };
}

/** The file's progress, or undefined (missing, not a regular file, a symlink, garbled, a read error). */
export async function readProgress(file: string): Promise<JobProgress | undefined> {
  let h;
  try {
    h = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = await h.stat();
    if (!st.isFile() || st.size === 0) return undefined;
    const from = Math.max(0, st.size - PROGRESS_READ_BYTES);
    const buf = Buffer.alloc(Math.min(st.size, PROGRESS_READ_BYTES));
    const { bytesRead } = await h.read(buf, 0, buf.length, from);
    // A character cut at the start of the window is a replacement character in a line before the last.
    return parseProgress(buf.subarray(0, bytesRead).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    await h.close().catch(() => undefined);
  }
}

/** `42% decoding frame 1,204`: as show, waiters and logs -f say it (raw: each prints it inert). */
export function progressText(p: JobProgress): string {
  return `${p.percent}%${p.text ? ` ${p.text}` : ''}`;
}

/**
 * readProgress done synchronously, for the attempt's last read: on the order's path (its
 * result waits for it), where the four round trips of the thread pool cost more than the
 * read itself (~0.6 ms against ~30 µs here). Same guards; a local file's read does not block.
 */
export function readProgressSync(file: string): JobProgress | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size === 0) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, PROGRESS_READ_BYTES));
    const n = readSync(fd, buf, 0, buf.length, Math.max(0, st.size - PROGRESS_READ_BYTES));
    return parseProgress(buf.subarray(0, n).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export function sameProgress(a: JobProgress | undefined, b: JobProgress | undefined): boolean {
  return a?.percent === b?.percent && a?.text === b?.text;
}

/**
 * The progress files of one deliver process: one per attempt, in its private folder
 * (jobenv.ts: mode 0700, removed when deliver ends), created empty before the command
 * starts and removed after the attempt. Remembers the last good reading of each.
 */
export class ProgressFiles {
  private readonly files = new Map<Claimed, { path: string; last?: JobProgress }>();

  constructor(
    /** The deliver's private folder (jobenv.ts); undefined: no progress (WAITER_PROGRESS not set). */
    private readonly dir: string | undefined,
    /** Secrets out of the text (the kitchen's password, --mask): as the job's output. */
    private readonly mask: ((text: string) => string) | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** Creates the attempt's file, empty; its path for WAITER_PROGRESS, or undefined (not made: the order runs without). */
  open(c: Claimed): string | undefined {
    if (this.dir === undefined) return undefined;
    const path = join(this.dir, `progress-${c.id.toHexString()}-${c.attempt}`);
    try {
      writeFileSync(path, '', { mode: 0o600 });
    } catch (err) {
      this.log(`waiter: order ${c.id.toHexString()} runs without WAITER_PROGRESS: cannot create ${path}: ${(err as Error).message}`);
      return undefined;
    }
    this.files.set(c, { path });
    return path;
  }

  /** Reads the attempt's file (heartbeat time): the last good reading, this one if it parsed. */
  async read(c: Claimed): Promise<JobProgress | undefined> {
    const f = this.files.get(c);
    if (!f) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), READ_WAIT_MS);
    });
    const got = await Promise.race([readProgress(f.path), late]);
    clearTimeout(timer);
    if (got) f.last = this.masked(got);
    return f.last;
  }

  /** The last good reading of an order running now (the registry's view), by claim. */
  last(c: Claimed): JobProgress | undefined {
    return this.files.get(c)?.last;
  }

  /** The attempt ended: one last read (for its line in history), then the file is removed. */
  close(c: Claimed): JobProgress | undefined {
    const f = this.files.get(c);
    if (!f) return undefined;
    this.files.delete(c);
    const got = readProgressSync(f.path);
    remove(f.path);
    return got ? this.masked(got) : f.last;
  }

  private masked(p: JobProgress): JobProgress {
    return this.mask && p.text !== undefined ? { ...p, text: this.mask(p.text) } : p;
  }
}

/** Recursive: the command may have made a folder of its file. A failure leaves it to the private folder's removal. */
function remove(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // removed with the deliver's private folder
  }
}
