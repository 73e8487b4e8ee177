// Whose fault a failure is (issue 15). An order's failure is its attempt, recorded,
// and the waiter goes on; a box's failure (it cannot start the program whatever the
// order, or cannot make folders) puts the order back uncounted and stops this waiter.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { message } from '../errors.js';
import { countedAttempt, nextStatus, retryDelayMs, type Claimed, type Finish, type Outcome, type RetryPolicy } from '../order.js';
import type { RunRequest, Running } from '../run.js';
import type { Template } from '../template.js';
import type { Masker } from '../output/mask.js';
import type { StopReason } from './stop.js';
import { defined } from '../objects.js';
import { overText } from '../usage/text.js';

/** Errors starting a process that say nothing about the order: the box is out of file descriptors. */
const BOX_SPAWN_CODES = new Set(['EMFILE', 'ENFILE']);
/** Errors making an order's folder that say the disk or mount is unusable, not the folder's name. */
const BOX_WORKDIR_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EMFILE', 'ENFILE']);

/**
 * True when failing to start the program is the box's fault: out of file descriptors,
 * or a program the same for every order (no placeholder in it) missing or not executable.
 */
export function isBoxSpawnFailure(code: string | undefined, literalProgram: string | undefined): boolean {
  if (code === undefined) return false;
  if (BOX_SPAWN_CODES.has(code)) return true;
  return literalProgram !== undefined && (code === 'ENOENT' || code === 'EACCES');
}

export function isBoxWorkdirFailure(code: string | undefined): boolean {
  return code !== undefined && BOX_WORKDIR_CODES.has(code);
}

/** The program every order runs, when it is the same for all (no placeholder in it); undefined when an order's fields choose it. */
export function literalProgram(command: string, shell: boolean, template: Template | undefined): string | undefined {
  if (shell) return '/bin/sh';
  if (!template || !template.placeholders) return command;
  const first = template.words[0] ?? [];
  return first.every((p) => typeof p === 'string') ? first.join('') : undefined;
}

/**
 * Before claiming anything: can this box run `program` (a path, or a name on PATH)?
 * The line to print when not (`command not found: ./crunhc.sh`), else undefined.
 */
export async function programProblem(program: string, env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<string | undefined> {
  const candidates = program.includes('/')
    ? [resolve(cwd, program)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(resolve(cwd, dir), program));
  let denied = false;
  for (const path of candidates) {
    const s = await stat(path).catch(() => undefined);
    if (!s || s.isDirectory()) continue;
    if (
      await access(path, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return undefined;
    denied = true;
  }
  return denied ? `permission denied: ${program} (not executable)` : `command not found: ${program}`;
}

/** How one attempt ended, between running it and recording it. */
export interface Ran {
  c: Claimed;
  /** What to write; none when the order was lost (reset or taken over while it ran). */
  finish?: Finish;
  /** The command was started (or tried to be) and failed: counts toward --max-failures-in-a-row. */
  failedRun?: boolean;
  /** This box cannot run orders (the order is put back, uncounted): the waiter stops. */
  boxFailure?: string;
}

/** One way an attempt failed: handleFailed turns each kind into what is written. */
export interface Failure {
  kind: 'box' | 'lost' | 'refused' | 'crashed' | 'run';
  error: string;
  outcome?: Outcome;
  workdir?: string;
}

/**
 * deps.start, with a spawn that throws at once (E2BIG, an argument Node refuses)
 * turned into an outcome like any other spawn error: the order's attempt, not a crash.
 */
export function startSafely(start: (req: RunRequest) => Running, req: RunRequest): Running {
  try {
    return start(req);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'E2BIG' ? 'E2BIG (argument list too long)' : (code ?? message(err));
    const outcome: Outcome = { spawnError: `cannot run ${req.file}: ${why}`, output: '', ...(code ? { spawnCode: code } : {}) };
    return { outcome: Promise.resolve(outcome), terminate: () => undefined };
  }
}

export function exitOf(o: Outcome): Pick<Finish, 'exitCode' | 'signal'> {
  return { ...defined({ exitCode: o.exitCode }), ...(o.signal ? { signal: o.signal } : {}) };
}

/** What is recorded of an attempt, masked: the error may quote the output, a path or a driver message; the folder may be named by an argument. */
export function masked(fin: Finish, mask: Masker): Finish {
  return {
    ...fin,
    output: mask.text(fin.output),
    ...(fin.error !== undefined ? { error: mask.text(fin.error) } : {}),
    ...(fin.workdir !== undefined ? { workdir: mask.text(fin.workdir) } : {}),
  };
}

/** How every failed attempt becomes what is written: the loop's handleFailed. An attempt stopped for a reason (stop.ts) goes by STOPPED below instead. */
export function handleFailed(c: Claimed, f: Failure, retry: RetryPolicy): Ran {
  const stop = new Date();
  const base = { stop, output: f.outcome?.output ?? '', error: f.error, ...(f.outcome ? exitOf(f.outcome) : {}), ...defined({ workdir: f.workdir }) };
  switch (f.kind) {
    case 'box':
      // This box cannot run anything: the order goes back READY, the attempt uncounted, and the waiter stops.
      return { c, boxFailure: f.error, finish: { ...base, status: 'READY', result: 'INTERRUPTED', error: `not run: ${f.error} (on this box; it stopped)`, uncounted: true } };
    case 'lost':
      // Used up its attempts on waiters that died: ERROR, not run again; this attempt, never run, is given back.
      return { c, finish: { ...base, status: 'ERROR', result: 'ERROR', uncounted: true } };
    case 'refused':
      // Cannot run (a placeholder without a value, an argument too long): nothing a retry would change.
      return { c, finish: { ...base, status: 'ERROR', result: 'ERROR' } };
    case 'crashed':
    case 'run': {
      // Ran, or tried to start, and failed: retried or ERROR by the usual rules, by its counted
      // attempts (those given back, a hold, a spot notice, do not use up --max-attempts).
      const counted = countedAttempt(c);
      const status = nextStatus(f.outcome ?? { spawnError: f.error, output: '' }, counted, retry);
      const delay = status === 'READY' ? retryDelayMs(counted, retry) : 0;
      return { c, failedRun: true, finish: { ...base, status, result: 'ERROR', ...(delay > 0 ? { due: new Date(+stop + delay) } : {}) } };
    }
  }
}

/** What a stop's error line may name: what stopped the waiter ("SIGTERM"), the --timeout as written ("30s"), the peak over --memory-max. */
export interface StopContext {
  by?: string;
  timeoutText?: string;
  /** The peak RSS the looks saw (src/usage/) and --memory-max, for a 'memory' stop. */
  peak?: number;
  memoryMax?: number;
}

/** What an attempt stopped for one reason leaves in the kitchen. */
export type StopRule =
  /** Nothing from this waiter: the order is no longer its own (the fence would refuse the write), or whoever stopped it wrote it. Counted as lost. */
  | { records: false }
  | {
      records: true;
      /** 'retry': READY or ERROR by --max-attempts and --retry-on, like any failed run (with --retry-delay). */
      status: 'READY' | 'ERROR' | 'retry';
      result: 'INTERRUPTED' | 'ERROR';
      /** false: the claim's increment of attempts is taken back (not the order's fault). */
      counted: boolean;
      /** Counts toward --max-failures-in-a-row. */
      failedRun: boolean;
      /** --collect stores the attempt's files before it is recorded (the command ran its course, as far as the order goes). */
      collects: boolean;
      error: (x: StopContext) => string;
    };

/**
 * Each stop reason's recording rule, in one place: a new reason to stop an attempt is
 * a row here (and whoever calls Stop.stop with it), nothing in the loop.
 */
export const STOPPED: Readonly<Record<StopReason, StopRule>> = {
  // The waiter's own stop (a second signal, the grace run out): not the order's fault, back READY, the attempt counted as before.
  shutdown: { records: true, status: 'READY', result: 'INTERRUPTED', counted: true, failedRun: false, collects: false, error: (x) => `interrupted by ${x.by ?? 'a signal'}` },
  // Reset or taken over: another holder owns the order now.
  lost: { records: false },
  // The canceller wrote the order's state itself; so did whoever held it.
  cancel: { records: false },
  hold: { records: false },
  // A failed run like any other, retried by the usual rules.
  timeout: { records: true, status: 'retry', result: 'ERROR', counted: true, failedRun: true, collects: true, error: (x) => `timed out after ${x.timeoutText ?? 'the timeout'}` },
  // The box is going away (a spot notice): back READY, the attempt not counted, as for a box failure.
  preempt: {
    records: true,
    status: 'READY',
    result: 'INTERRUPTED',
    counted: false,
    failedRun: false,
    collects: false,
    error: (x) => `interrupted: ${x.by ?? 'this box is going away'}`,
  },
  // The order needs more memory than this box gives it: a retry here would do the same.
  memory: { records: true, status: 'ERROR', result: 'ERROR', counted: true, failedRun: true, collects: true, error: (x) => overText(x.peak, x.memoryMax) },
};

/** What an attempt stopped for `reason` records, by STOPPED: nothing ({c} alone), or its finish. */
export function handleStopped(c: Claimed, reason: StopReason, x: StopContext, retry: RetryPolicy, outcome?: Outcome, workdir?: string): Ran {
  const rule = STOPPED[reason];
  if (!rule.records) return { c };
  const error = rule.error(x);
  const wd = defined({ workdir });
  if (rule.status === 'retry') return handleFailed(c, { kind: 'run', error, ...(outcome ? { outcome } : {}), ...wd }, retry);
  const base = { stop: new Date(), output: outcome?.output ?? '', error, ...(outcome ? exitOf(outcome) : {}), ...wd };
  return {
    c,
    ...(rule.failedRun ? { failedRun: true } : {}),
    finish: { ...base, status: rule.status, result: rule.result, ...(rule.counted ? {} : { uncounted: true }) },
  };
}
