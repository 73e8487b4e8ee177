// Runs one command as an argv (never through a shell unless asked), streams its
// output through, keeps the tail, and kills its whole process group on demand.
//
// Why node:child_process and not execa here: this is the per-order hot path, and
// execa's own machinery cost ~1.1 ms CPU per spawn on top of spawn itself (2.1 s vs
// 0.95 s CPU for 1,000 × `true`, 4 at a time: bench/README.md). We used little of
// it anyway: the process-group kill, timeout, output tail and prefixing are ours.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Outcome } from './order.js';
import type { Masker } from './output/mask.js';
import { MAX_TIMER_MS } from './values.js';
import { defined } from './objects.js';

export const OUTPUT_TAIL_BYTES = 4096;

/**
 * A kill deadline, in ms: how long a command stopped now may take to exit. SIGTERM goes
 * to its whole process group at once, SIGKILL this long after. Clamped by timerMs. A
 * later, shorter one brings a pending SIGKILL forward (a spot notice during a timeout's
 * --kill-after); a later, longer one changes nothing. (The waiter's own drain deadline,
 * before running orders are stopped at all, is DrainDeadlineMs in deliver/shutdown.ts.)
 */
export type KillDeadlineMs = number;

/** A delay a timer can wait: NaN and negatives are 0 (now), more than MAX_TIMER_MS (Node would fire it after 1 ms) is MAX_TIMER_MS. */
export function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, 0), MAX_TIMER_MS);
}

export interface RunRequest {
  file: string;
  args: readonly string[];
  /** Run `file` as a `sh -c` snippet; `args` become "$@". */
  shell?: boolean;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** The environment the command inherits (default: this process's). */
  inherit?: NodeJS.ProcessEnv;
  /** Secrets replaced by *** in the output, before anything reads it (tail, live output, the terminal, saved files). */
  mask?: Masker;
  /** Run in this folder (it exists). */
  cwd?: string;
  /** Also write the full stdout and stderr to the files `stdout` and `stderr` in this folder (truncated first). */
  saveOutputIn?: string;
  timeoutMs?: number;
  /** Called when timeoutMs runs out, before the group is terminated (deliver: the attempt's stop reason). */
  onTimeout?: () => void;
  /** The kill deadline of a timeout, and of terminate() given none (--kill-after). */
  killAfterMs: KillDeadlineMs;
  /** Prefix for each output line (used when several orders run at once). */
  prefix?: string;
  stdout: Writable;
  stderr: Writable;
  /** Also gets every chunk of output, as it comes, marked by stream (live output, src/output/). */
  onOutput?: (stream: 'out' | 'err', chunk: Buffer) => void;
  /** Told the command's pid (its process group) right after the spawn, and its exit in the exit callback itself (usage, src/usage/). */
  watch?: ProcessWatch;
}

/** Who hears of the command's start and exit as they happen: both synchronous, in the same tick as the spawn and the reap. */
export interface ProcessWatch {
  spawned(pid: number): void;
  exited(): void;
}

export interface Running {
  readonly outcome: Promise<Outcome>;
  /** SIGTERM the whole process group now, SIGKILL it after `deadlineMs` (default: the request's killAfterMs). A later call only brings the SIGKILL forward. */
  terminate(deadlineMs?: KillDeadlineMs): void;
}

export function start(req: RunRequest): Running {
  const [file, args] = req.shell ? ['/bin/sh', ['-c', req.file, 'sh', ...req.args]] : [req.file, req.args];
  // detached: the child leads its own process group, so a timeout or a second
  // Ctrl-C can kill everything it spawned, and a first Ctrl-C in the terminal
  // does not reach it (the waiter decides what happens).
  const sub = spawn(file, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: req.env ? { ...(req.inherit ?? process.env), ...req.env } : (req.inherit ?? process.env),
    ...defined({ cwd: req.cwd }),
  });
  const watch = req.watch;
  if (watch && sub.pid !== undefined) {
    watch.spawned(sub.pid);
    sub.once('exit', () => watch.exited());
  }
  const closed = new Promise<void>((resolve) => sub.once('close', () => resolve()));
  const tail = new Tail(OUTPUT_TAIL_BYTES);
  const out = source(sub.stdout, req.mask);
  const err = source(sub.stderr, req.mask);
  const saved = req.saveOutputIn !== undefined ? [save(out, join(req.saveOutputIn, 'stdout')), save(err, join(req.saveOutputIn, 'stderr'))] : [];
  const onOutput = req.onOutput;
  if (onOutput) {
    out.on((c) => onOutput('out', c));
    err.on((c) => onOutput('err', c));
  }
  pipe(out, req.stdout, tail, req.prefix);
  pipe(err, req.stderr, tail, req.prefix);

  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  let terminating = false;
  /** When the pending SIGKILL is due (epoch ms). */
  let killAt = 0;
  const terminate = (ms?: KillDeadlineMs) => {
    if (terminating && ms === undefined) return;
    const wait = timerMs(ms ?? req.killAfterMs);
    if (terminating && Date.now() + wait >= killAt) return;
    if (!terminating) killGroup(sub.pid, 'SIGTERM');
    terminating = true;
    killAt = Date.now() + wait;
    clearTimeout(killTimer);
    killTimer = setTimeout(() => killGroup(sub.pid, 'SIGKILL'), wait);
  };
  const timeout = req.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        req.onTimeout?.();
        terminate();
      }, req.timeoutMs)
    : undefined;

  const outcome = (async (): Promise<Outcome> => {
    const exit = await exited(sub);
    clearTimeout(timeout);
    if (terminating) await groupGone(sub.pid, Math.max(0, killAt - Date.now()));
    clearTimeout(killTimer);
    if (exit.spawnError)
      return { spawnError: spawnErrorLine(req.file, exit.spawnError), ...(exit.spawnError.code ? { spawnCode: exit.spawnError.code } : {}), output: tail.text() };
    // Output still held open by a grandchild must not keep the order RUNNING.
    await Promise.race([closed, delay(100)]);
    sub.stdout?.destroy();
    sub.stderr?.destroy();
    // What masking held back (a stream destroyed above never ends by itself).
    out.end();
    err.end();
    await Promise.all(saved.map((close) => close()));
    return {
      ...(exit.code !== null ? { exitCode: exit.code } : {}),
      ...(exit.signal ? { signal: exit.signal } : {}),
      ...(timedOut ? { timedOut } : {}),
      output: tail.text(),
    };
  })();

  return { outcome, terminate };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: NodeJS.ErrnoException;
}

function exited(sub: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    sub.once('exit', (code, signal) => resolve({ code, signal }));
    sub.once('error', (err: NodeJS.ErrnoException) => {
      if (sub.pid === undefined) resolve({ code: null, signal: null, spawnError: err });
    });
  });
}

function spawnErrorLine(file: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `command not found: ${file}`;
    case 'EACCES':
      return `permission denied: ${file}`;
    default:
      return `cannot run ${file}: ${err.code ?? err.message}`;
  }
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** After a terminate: wait until every process of the group is gone (SIGKILL comes at killAfterMs). */
async function groupGone(pid: number | undefined, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs + 1000;
  while (groupAlive(pid) && Date.now() < deadline) await delay(20);
  killGroup(pid, 'SIGKILL');
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A child's stream as its readers see it: masked when there are secrets, ended once (by the stream's end or end()). */
interface Source {
  on(listener: (chunk: Buffer) => void): void;
  end(): void;
  onEnd(listener: () => void): void;
}

function source(from: NodeJS.ReadableStream | null, masker: Masker | undefined): Source {
  const listeners: ((chunk: Buffer) => void)[] = [];
  const enders: (() => void)[] = [];
  const mask = masker && !masker.empty ? masker.stream() : undefined;
  const emit = (chunk: Buffer) => {
    if (chunk.length) for (const l of listeners) l(chunk);
  };
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    if (mask) emit(mask.end());
    for (const e of enders) e();
  };
  from?.on('data', mask ? (c: Buffer) => emit(mask.push(c)) : emit);
  from?.on('end', end);
  return { on: (l) => listeners.push(l), end, onEnd: (e) => enders.push(e) };
}

function pipe(from: Source, to: Writable, tail: Tail, prefix?: string): void {
  let partial = '';
  from.on((chunk: Buffer) => {
    tail.push(chunk);
    if (!prefix) {
      to.write(chunk);
      return;
    }
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    if (lines.length) to.write(lines.map((l) => `${prefix}${l}\n`).join(''));
  });
  from.onEnd(() => {
    if (prefix && partial) to.write(`${prefix}${partial}\n`);
  });
}

/** Copies a stream to a file; returns a function that ends the file and waits until it is written (never throws). */
function save(from: Source, path: string): () => Promise<void> {
  const file = createWriteStream(path);
  file.on('error', () => undefined); // a full disk must not end the waiter; the tail is still kept on the order
  from.on((chunk: Buffer) => file.write(chunk));
  return () =>
    new Promise<void>((resolve) => {
      if (file.destroyed) return resolve();
      file.end(() => resolve());
      file.once('error', () => resolve());
    });
}

/** The last `limit` bytes of everything pushed. */
export class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    // Cutting may split a UTF-8 sequence; the replacement char marks it.
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}
