// What /proc says about processes (Linux): one /proc/<pid>/stat per process gives its
// process group, CPU and RSS. Node hands a parent nothing of a child's rusage
// (child_process has no wait4 figures; process.resourceUsage() is this process's own),
// so this is where the figures come from without a native add-on.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

/** Clock ticks per second of /proc's CPU fields: USER_HZ, 100 on every Linux architecture Node runs on. */
export const TICK_MS = 10;

let proc: boolean | undefined;
/** Whether this box has /proc (not macOS): read once. */
export function hasProc(): boolean {
  return (proc ??= existsSync('/proc/self/stat'));
}

/** One process as /proc/<pid>/stat gives it. cpuTicks: utime + stime + cutime + cstime (its own and its waited-for children's). */
export interface ProcStat {
  pid: number;
  pgid: number;
  cpuTicks: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat; undefined for what is not one. The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  // From field 3 (state): pgrp is field 5, utime..cstime 14-17, rss 24.
  const f = text.slice(close + 2).split(' ');
  const n = (i: number) => Number(f[i - 3]);
  const s = { pid, pgid: n(5), cpuTicks: n(14) + n(15) + n(16) + n(17), rssPages: n(24) };
  return Object.values(s).every(Number.isFinite) ? s : undefined;
}

let page: number | undefined;
/** The page size (RSS is in pages): the first mapping's KernelPageSize in /proc/self/smaps, else 4 KiB. */
export function pageSize(): number {
  if (page !== undefined) return page;
  page = 4096;
  try {
    const fd = openSync('/proc/self/smaps', 'r');
    try {
      const b = Buffer.alloc(2048);
      const kb = /KernelPageSize:\s+(\d+) kB/.exec(b.toString('latin1', 0, readSync(fd, b, 0, b.length, 0)));
      if (kb) page = Number(kb[1]) * 1024;
    } finally {
      closeSync(fd);
    }
  } catch {
    // No smaps (a restricted /proc): 4 KiB, the page of x86-64 and most arm64 kernels.
  }
  return page;
}

/** A process group's processes at one look: their CPU (ticks) and RSS summed. */
export interface GroupLook {
  cpuTicks: number;
  rssBytes: number;
}

/** Pids read per slice before the event loop runs again: a read is a few µs (about 100 µs on a slow VM), a slice a few ms at most. */
const SLICE = 32;

/**
 * One look at every process of /proc, summed per process group of `pgids` (a group
 * missing from the answer had no process left). Read one by one in ascending pid order,
 * parents (older, lower pids) before their children: a child reaped by its parent
 * between the two reads is then missed by this look rather than counted twice (its CPU
 * already in the parent's cutime); a pid wrap breaks that order, rarely. Synchronous
 * reads in slices, the event loop running between them: cheaper than a thread-pool
 * round trip per file, and never more than a slice in the way of the orders' output and
 * heartbeats. Processes that left the group (setsid, setpgid) are not seen, as a
 * --timeout kill does not reach them.
 */
export async function lookAt(pgids: ReadonlySet<number>): Promise<Map<number, GroupLook>> {
  const out = new Map<number, GroupLook>();
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return out;
  }
  const pids = names
    .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
    .map(Number)
    .sort((a, b) => a - b);
  const bytes = pageSize();
  for (let i = 0; i < pids.length; i++) {
    if (i > 0 && i % SLICE === 0) await new Promise<void>((r) => setImmediate(r));
    const s = statOf(pids[i]!);
    if (!s || !pgids.has(s.pgid)) continue;
    const g = out.get(s.pgid) ?? { cpuTicks: 0, rssBytes: 0 };
    g.cpuTicks += s.cpuTicks;
    g.rssBytes += s.rssPages * bytes;
    out.set(s.pgid, g);
  }
  return out;
}

const statBuf = Buffer.alloc(1024);
/** /proc/<pid>/stat, parsed; undefined when the process is gone. */
function statOf(pid: number): ProcStat | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
    return parseStat(statBuf.toString('latin1', 0, readSync(fd, statBuf, 0, statBuf.length, 0)));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether any process of group `pgid` is left (one syscall). */
export function groupLeft(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let self: number | undefined;
const buf = Buffer.alloc(1024);
/**
 * This process's cutime + cstime (ticks): the CPU of every child it reaped, each with
 * the children that child waited for. Read once per reap pass (waited.ts), so per order:
 * one pread on a descriptor kept open (a /proc file is regenerated at offset 0) of the
 * main thread's own stat file, whose cutime/cstime are the process's as in
 * /proc/self/stat but which does not sum every thread's CPU first; the two fields found
 * by counting spaces, not by splitting the line. Undefined without /proc.
 */
export function reapedTicks(): number | undefined {
  try {
    self ??= openStat();
    return reapedOf(buf, readSync(self, buf, 0, buf.length, 0));
  } catch {
    return undefined;
  }
}

/** cutime + cstime (fields 16 and 17) of the stat text in b[0..n), counted from field 3 after the name's last ')'. */
export function reapedOf(b: Buffer, n: number): number | undefined {
  let i = b.lastIndexOf(0x29, n - 1);
  if (i < 0) return undefined;
  i += 2;
  for (let field = 3; field < 16; field++) {
    i = b.indexOf(0x20, i) + 1;
    if (i === 0 || i >= n) return undefined;
  }
  let ticks = 0;
  for (let field = 16; field <= 17; field++, i++) {
    const from = i;
    let v = 0;
    for (; i < n && b[i] !== 0x20; i++) {
      const d = b[i]! - 0x30;
      if (d < 0 || d > 9) return undefined;
      v = v * 10 + d;
    }
    if (i === from) return undefined;
    ticks += v;
  }
  return ticks;
}

/** The main thread's stat file (its tid is the pid), else the process's (a /proc without task/). */
function openStat(): number {
  try {
    return openSync(`/proc/self/task/${process.pid}/stat`, 'r');
  } catch {
    return openSync('/proc/self/stat', 'r');
  }
}
