// The deliver loop's options, its injected I/O and its result: types only, shared by
// the loop (loop.ts), the preparation of an order (prepare.ts) and the command, so none
// of them imports another for its types.
import type { Writable } from 'node:stream';
import type { Kitchen } from '../kitchen.js';
import type { Claimed } from '../order.js';
import type { RetryPolicy } from '../order.js';
import type { LiveSink } from '../output/live.js';
import type { Masker } from '../output/mask.js';
import type { Releaser } from '../pipeline/release.js';
import type { RunRequest, Running } from '../run.js';
import type { Template } from '../template.js';
import type { Registry } from './registry.js';
import type { Shutdown } from './shutdown.js';
import type { Pause } from './steer.js';
import type { Sampler } from '../usage/sampler.js';
import type { Checkpointer } from '../checkpoint/keeper.js';
import type { ProgressFiles } from './progress.js';

export interface DeliverOptions {
  command: string;
  commandArgs: string[];
  shell: boolean;
  concurrency: number;
  /** Deliver at most this many orders (--max; --once is 1). */
  max?: number;
  /** Keep polling when the list is empty. */
  wait: boolean;
  /** --leave-early: without --wait, leave as soon as nothing can be claimed, not after the orders running on other waiters (src/deliver/tail.ts). */
  leaveEarly?: boolean;
  pollMs: number;
  waiter: string;
  leaseMs: number;
  heartbeatMs: number;
  timeoutMs?: number;
  /** How the timeout reads in an error line, e.g. "30s". */
  timeoutText?: string;
  killAfterMs: number;
  retry: RetryPolicy;
  /** --max-failures-in-a-row: stop this waiter after this many failed runs in a row (0 or absent: never). */
  maxFailuresInARow?: number;
  /** The command with its placeholders, parsed once (made from command and commandArgs if not given; unused with shell). */
  template?: Template;
  /** --workdir: each order runs in this folder (expanded per order, created if missing). */
  workdir?: Template;
  /** --save-output: the command's full stdout/stderr go to files in the workdir. */
  saveOutput?: boolean;
  /** --memory-max, bytes: an order's process group over it is stopped ('memory'); the sampler (deps.usage) watches. */
  memoryMax?: number;
}

export interface DeliverDeps {
  kitchen: Pick<Kitchen, 'claim' | 'heartbeat' | 'finish'> & Partial<Pick<Kitchen, 'columns' | 'tail'>>;
  start: (req: RunRequest) => Running;
  stdout: Writable;
  stderr: Writable;
  log: (line: string) => void;
  shutdown: Shutdown;
  /** The waiter registry: started before the first claim (its first write and the pause's read awaited), ended last. Optional (tests). */
  registry?: Pick<Registry, 'start' | 'end'>;
  /** The list's pause as the registry's writes last read it (steer.ts): slots wait on it before each claim. Optional. */
  pause?: Pick<Pause, 'paused' | 'until' | 'wake'>;
  /** Live output (src/output/): a sink per attempt, closed before the attempt is recorded. Optional. */
  output?: (c: Claimed) => LiveSink | undefined;
  /** Result files (src/output/collect.ts): stores the attempt's files before it is recorded; the error that fails it, if any. Optional. */
  collect?: (c: Claimed, workdir: string, ok: boolean) => Promise<string | undefined>;
  /** Checkpoints (src/checkpoint/): restored before an attempt's command starts, kept while it runs. Optional. */
  checkpoint?: Pick<Checkpointer, 'begin' | 'dropped' | 'drain'>;
  /** Pipelines (src/pipeline/release.ts): releases after a finish, the checks when nothing is due. Optional. */
  pipeline?: Pick<Releaser, 'finished' | 'checks' | 'drain'>;
  /** The environment orders inherit (jobenv.ts; default: this process's) and the secrets masked in their output and records. */
  inherit?: NodeJS.ProcessEnv;
  mask?: Masker;
  /** Usage per attempt (src/usage/): a meter per command, its figures recorded with the attempt. Optional (tests). */
  usage?: Pick<Sampler, 'meter'>;
  /** Progress (progress.ts): a WAITER_PROGRESS file per attempt, read at each heartbeat and sent with it. Optional (tests). */
  progress?: Pick<ProgressFiles, 'open' | 'read' | 'last' | 'close'>;
}

/** Why a waiter stopped itself: its box cannot run orders, or too many failed in a row. */
export interface BoxStop {
  kind: 'box' | 'breaker';
  reason: string;
}

export interface DeliverResult {
  /** Orders whose result this waiter recorded (DONE, ERROR, or READY for a retry). */
  delivered: number;
  /** Of those, the ones left in ERROR (a failed attempt that will be retried is not a failure yet). */
  failed: number;
  /** Orders taken away while running (reset or lease lost): result not recorded. */
  lost: number;
  /** Orders put back READY because the waiter was stopped (by a signal, or its box failing). */
  interrupted: number;
  /** Set when the waiter stopped itself (exit codes 5 and 6). */
  stopped?: BoxStop;
}
