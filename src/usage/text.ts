// How an attempt's usage reads: in show, and in the error of an order killed for its
// memory (issue 28: "killed, said plainly").
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { span } from '../fleet.js';
import type { Usage } from '../order.js';
import { sizeText } from '../output/size.js';

/** A peak this close to the box's memory (or its cgroup's limit) makes a SIGKILL "likely out of memory": a look is up to a second old. */
export const NEAR_FULL = 0.8;

const HOW: Record<Usage['measured'], string> = {
  'proc-sample+wait': "CPU: the kernel's count for the command and what it waited for; peak: /proc looks each second",
  'proc-sample': '/proc looks each second: the last second may be missing',
  wall: 'wall time only: no /proc on that box, or it ended before a look, reaped with another order',
};

/** `wall 2.3s, cpu 2.1s, peak 301.2 MiB`: what was measured. */
export function usageShort(u: Usage): string {
  const parts = [`wall ${span(u.wallMs)}`];
  if (u.cpuMs !== undefined) parts.push(`cpu ${span(u.cpuMs)}`);
  if (u.peakRssBytes !== undefined) parts.push(`peak ${sizeText(u.peakRssBytes)}`);
  else if (u.measured !== 'wall') parts.push('peak not seen (it ended before a look)');
  return parts.join(', ');
}

/** show's usage line: the figures and how they were measured. */
export function usageLine(u: Usage): string {
  return `${usageShort(u)} (${HOW[u.measured] ?? u.measured})`;
}

/** The error of an attempt stopped by --memory-max: `over --memory-max (peak 301.2 MiB, more than 256 MiB)`. */
export function overText(peak: number | undefined, max: number | undefined): string {
  if (peak === undefined || max === undefined) return 'over --memory-max';
  return `over --memory-max (peak ${sizeText(peak)}, more than ${sizeText(max)})`;
}

/**
 * The error of a command that died of a SIGKILL this waiter did not send: with the
 * peak seen, and "likely out of memory" when that peak was near what the box (or the
 * waiter's cgroup) holds, the kernel's OOM killer being the usual sender.
 */
export function killedText(u: Usage | undefined, box = boxMemory()): string {
  const peak = u?.peakRssBytes;
  if (peak === undefined) return 'killed (SIGKILL, not sent by waiter)';
  const oom = peak >= NEAR_FULL * box ? ': likely out of memory' : '';
  return `killed (SIGKILL, not sent by waiter; peak ${sizeText(peak)} of ${sizeText(box)} on this box${oom})`;
}

/** The memory a process here may use: the box's, or less when this process's cgroup (v2 or v1) is limited. */
export function boxMemory(): number {
  let limit = totalmem();
  for (const line of read('/proc/self/cgroup')?.split('\n') ?? []) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    const v2 = controllers === '';
    if (!v2 && !controllers?.split(',').includes('memory')) continue;
    // "max" (v2) or a huge number (v1) when unlimited: either is not below the box's.
    const n = Number(read(v2 ? `/sys/fs/cgroup${path}/memory.max` : `/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`));
    if (Number.isFinite(n) && n > 0) limit = Math.min(limit, n);
  }
  return limit;
}

/** A small file's text, trimmed; undefined when it cannot be read (macOS, a restricted /sys). */
function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
