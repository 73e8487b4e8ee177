// The waiter loop: claim -> run -> record, `concurrency` at a time. I/O is injected
// (kitchen, process starter, output streams, log, shutdown) so tests can drive it.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { MongoError } from 'mongodb';
import { KitchenError } from '../errors.js';
import type { Claimed, Finish, Kitchen } from '../kitchen.js';
import { errorLine, nextStatus, retryDelayMs, succeeded, type Outcome, type RetryPolicy } from '../order.js';
import type { RunRequest, Running } from '../run.js';
import type { Registry } from './registry.js';
import { columnEnv, expand, expandWord, parseTemplate, type Fields, type Template } from '../template.js';
import { retrying } from './retry.js';
import type { Shutdown } from './shutdown.js';

export interface DeliverOptions {
  command: string;
  commandArgs: string[];
  shell: boolean;
  concurrency: number;
  /** Deliver at most this many orders (--max; --once is 1). */
  max?: number;
  /** Keep polling when the list is empty. */
  wait: boolean;
  pollMs: number;
  waiter: string;
  leaseMs: number;
  heartbeatMs: number;
  timeoutMs?: number;
  /** How the timeout reads in an error line, e.g. "30s". */
  timeoutText?: string;
  killAfterMs: number;
  retry: RetryPolicy;
  /** The command with its placeholders, parsed once (made from command and commandArgs if not given; unused with shell). */
  template?: Template;
  /** --workdir: each order runs in this folder (expanded per order, created if missing). */
  workdir?: Template;
  /** --save-output: the command's full stdout/stderr go to files in the workdir. */
  saveOutput?: boolean;
}

export interface DeliverDeps {
  kitchen: Pick<Kitchen, 'claim' | 'heartbeat' | 'finish'> & Partial<Pick<Kitchen, 'columns'>>;
  start: (req: RunRequest) => Running;
  stdout: Writable;
  stderr: Writable;
  log: (line: string) => void;
  shutdown: Shutdown;
  /** The waiter registry: started with the first claim (not awaited), ended last. Optional (tests). */
  registry?: Pick<Registry, 'start' | 'end'>;
}

export interface DeliverResult {
  /** Orders whose result this waiter recorded (DONE, ERROR, or READY for a retry). */
  delivered: number;
  /** Of those, the ones left in ERROR (a failed attempt that will be retried is not a failure yet). */
  failed: number;
  /** Orders taken away while running (reset or lease lost): result not recorded. */
  lost: number;
  /** Orders put back READY because the waiter was stopped. */
  interrupted: number;
}

export async function deliver(opts: DeliverOptions, deps: DeliverDeps): Promise<DeliverResult> {
  const result: DeliverResult = { delivered: 0, failed: 0, lost: 0, interrupted: 0 };
  const { shutdown, log } = deps;
  let claimed = 0;
  /** Orders running now, id -> arguments: the registry's timer reads it, nothing waits on it. */
  const running = new Map<string, string[]>();
  /** An order was not claimed because --max was reached. */
  let maxReached = false;
  /**
   * This waiter's own failed orders put back READY with a later `due` (--retry-delay),
   * by id: without --wait, an empty list does not end the run while one may still come
   * due. Forgotten once its time has passed and a claim found nothing (someone took it).
   */
  const retries = new Map<string, Date>();
  let toldRetries = 0;
  /** Set when a slot fails: the others stop claiming, finish what they run, then deliver() throws. */
  let failed = false;

  const claimNext = async (): Promise<Claimed | null | 'stop'> => {
    let idle = Math.min(100, opts.pollMs);
    for (;;) {
      if (shutdown.stopping || failed) return 'stop';
      // One token for all tries of this claim: a retry after a lost answer finds the
      // order the first try took instead of taking a second one.
      const token = randomUUID();
      let tries = 0;
      let at = new Date();
      const c = await retrying(() => deps.kitchen.claim(opts.waiter, opts.leaseMs, (at = new Date()), token, tries++ > 0), {
        what: 'claim',
        log,
        shutdown,
      });
      if (c === 'stopped') return 'stop';
      if (c) return c;
      if (opts.wait) {
        await shutdown.sleep(idle);
        idle = Math.min(idle * 2, opts.pollMs);
        continue;
      }
      for (const [id, due] of retries) if (due <= at) retries.delete(id);
      if (retries.size === 0) return null;
      const next = Math.min(...[...retries.values()].map(Number));
      if (next !== toldRetries) {
        toldRetries = next;
        log(`waiter: nothing due now; waiting for ${retries.size} retry(ies) of mine, the next at ${new Date(next).toISOString()}`);
      }
      await shutdown.sleep(Math.max(0, next - Date.now()) + 5);
    }
  };

  // A slot records an order while it claims the next: the finish round trip is off
  // the critical path (per order, one round trip instead of two). At most two of its
  // records are in flight. A record that puts the order back READY (a retry, an
  // interrupt) is awaited first, so this waiter can take that order again and does
  // not find the list empty while it is still RUNNING.
  const slot = async (): Promise<void> => {
    let recording: Promise<void> = Promise.resolve();
    let recordFailure: { err: unknown } | undefined;
    try {
      while (!recordFailure) {
        if (opts.max !== undefined && claimed >= opts.max) {
          maxReached = true;
          break;
        }
        claimed++; // reserve before awaiting, so slots never claim more than --max together
        const c = await claimNext();
        if (!c || c === 'stop') {
          claimed--;
          break;
        }
        const id = c.id.toHexString();
        running.set(id, c.arguments);
        let ran: Ran;
        try {
          ran = await runOne(c);
        } finally {
          running.delete(id);
        }
        const previous = recording;
        // Never left unhandled: a failure stops the other slots claiming and is thrown below.
        recording = record(ran).catch((err: unknown) => {
          failed = true;
          recordFailure ??= { err };
        });
        await previous;
        if (ran.finish?.status === 'READY') await recording;
      }
    } finally {
      await recording;
    }
    if (recordFailure) throw recordFailure.err;
  };

  const template = templateOf(opts);
  const prepare = preparer(opts, template, deps, log, shutdown);

  /** Runs the order's command to its end; says how the attempt ended (nothing if the order was lost). */
  const runOne = async (c: Claimed): Promise<Ran> => {
    const id = c.id.toHexString();
    log(`waiter: delivering ${id} (attempt ${c.attempt}): ${JSON.stringify(c.arguments)}`);
    const prepared = prepare(c);
    // No columns and no --workdir: ready at once, no await on the hot path.
    const p = prepared instanceof Promise ? await prepared : prepared;
    if (p.interrupted) {
      // Stopped before it could run (reading its column names): back READY, as a run stopped by the signal.
      return { c, finish: { status: 'READY', result: 'INTERRUPTED', stop: new Date(), output: '', error: p.error } };
    }
    if (p.error !== undefined) {
      // Not run: nothing a retry would change. The order ends in ERROR and the waiter goes on.
      const finish: Finish = { status: 'ERROR', result: 'ERROR', stop: new Date(), output: '', error: p.error };
      if (p.workdir !== undefined) finish.workdir = p.workdir;
      return { c, finish };
    }
    const child = deps.start({
      file: p.file,
      args: p.args,
      shell: opts.shell,
      env: { WAITER_ORDER_ID: id, WAITER_NAME: opts.waiter, WAITER_ATTEMPT: String(c.attempt), ...p.env },
      ...(p.workdir !== undefined ? { cwd: p.workdir } : {}),
      ...(p.workdir !== undefined && opts.saveOutput ? { saveOutputIn: p.workdir } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      killAfterMs: opts.killAfterMs,
      ...(opts.concurrency > 1 ? { prefix: `[${id}] ` } : {}),
      stdout: deps.stdout,
      stderr: deps.stderr,
    });

    let lost = false;
    let interrupted = false;
    let ended = false;
    const unsubscribe = shutdown.onKill(() => {
      interrupted = true;
      child.terminate();
    });
    const beat = setInterval(() => {
      deps.kitchen.heartbeat(c, opts.leaseMs).then(
        (ours) => {
          // A heartbeat answered after the command ended (and perhaps after finish()
          // recorded it) says nothing about the attempt: ignore it.
          if (!ours && !lost && !ended) {
            lost = true;
            log(`waiter: lost order ${id} (reset or taken over); stopping its command, recording nothing`);
            child.terminate();
          }
        },
        (err: unknown) => log(`waiter: heartbeat for ${id} failed, will retry: ${message(err)}`),
      );
    }, opts.heartbeatMs);

    let outcome: Outcome;
    try {
      outcome = await child.outcome;
    } finally {
      ended = true;
      clearInterval(beat);
      unsubscribe();
    }
    if (lost) return { c };
    const ok = succeeded(outcome);
    const status = interrupted ? 'READY' : nextStatus(outcome, c.attempt, opts.retry);
    const stop = new Date();
    const delay = !interrupted && status === 'READY' ? retryDelayMs(c.attempt, opts.retry) : 0;
    const finish: Finish = {
      status,
      result: interrupted ? 'INTERRUPTED' : ok ? 'DONE' : 'ERROR',
      stop,
      output: outcome.output,
      ...(delay > 0 ? { due: new Date(+stop + delay) } : {}),
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
      ...(outcome.signal ? { signal: outcome.signal } : {}),
    };
    const error = interrupted ? `interrupted by ${shutdown.signal ?? 'a signal'}` : errorLine(outcome, opts.timeoutText);
    if (error) finish.error = error;
    if (p.workdir !== undefined) finish.workdir = p.workdir;
    return { c, finish };
  };

  /** Writes how the attempt ended (fenced by the claim) and counts it. */
  const record = async ({ c, finish: fin }: Ran): Promise<void> => {
    const id = c.id.toHexString();
    if (!fin) {
      result.lost++;
      return;
    }
    let tries = 0;
    const recorded = await retrying(() => deps.kitchen.finish(c, fin, tries++ > 0), { what: `recording ${id}`, log, limitMs: opts.leaseMs + 60_000 });
    if (!recorded) {
      result.lost++;
      log(`waiter: order ${id} was reset or taken over while it ran; its result was not recorded`);
      return;
    }
    if (fin.result === 'INTERRUPTED') {
      result.interrupted++;
      log(`waiter: ${id} put back READY (interrupted)`);
      return;
    }
    result.delivered++;
    if (fin.due) retries.set(id, fin.due);
    if (fin.result !== 'DONE') {
      if (fin.status === 'ERROR') result.failed++;
      const retry = fin.due ? ` (will retry after ${fin.due.toISOString()})` : ' (will retry)';
      log(`waiter: ${id} failed: ${fin.error ?? ''}${fin.status === 'READY' ? retry : ''}`);
    }
  };

  deps.shutdown.describe = () => `${running.size} running order(s)`;
  deps.registry?.start(() => ({
    running: [...running].map(([id, args]) => ({ id, arguments: args })),
    delivered: result.delivered,
    failed: result.failed,
  }));
  // If a slot fails, the others must not run on with a kitchen about to be closed:
  // they stop claiming, finish (and record) what they run, then the error is thrown.
  const settled = await Promise.allSettled(
    Array.from({ length: opts.concurrency }, () =>
      slot().catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    ),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  await deps.registry?.end(
    failure
      ? `${failure.reason instanceof MongoError || failure.reason instanceof KitchenError ? 'kitchen error' : 'error'}: ${message(failure.reason)}`
      : shutdown.signal
        ? `signal ${shutdown.signal}`
        : maxReached
          ? `--max ${opts.max} reached`
          : 'empty list',
  );
  if (failure) throw failure.reason;
  return result;
}

/** How one attempt ended, between running it and recording it; no `finish` when the order was lost. */
interface Ran {
  c: Claimed;
  finish?: Finish;
}

/** What runs for one order: the program, its arguments, extra environment, its folder; or why it cannot run. */
export type Prepared =
  | { file: string; args: string[]; env: Record<string, string>; workdir?: string; error?: undefined; interrupted?: undefined }
  /** `interrupted`: a signal stopped the preparation (not the order's fault): the order goes back READY. */
  | { error: string; workdir?: string; interrupted?: boolean };

/**
 * Per order: names of its columns (one read per columns document per waiter, then
 * cached), the expanded argv, WAITER_ARG_ variables, and the folder, created.
 * Without placeholders, columns or --workdir this is the old append, no I/O.
 */
export function preparer(opts: DeliverOptions, template: Template | undefined, deps: Pick<DeliverDeps, 'kitchen'>, log: (line: string) => void, shutdown?: Shutdown, dryRun = false) {
  const cache = new Map<string, Promise<readonly string[] | undefined | 'stopped'>>();
  /** The names (undefined: no such document), or 'stopped' when a signal ended the retries: then nothing is cached. */
  const namesOf = (columns: string): Promise<readonly string[] | undefined | 'stopped'> => {
    const read = deps.kitchen.columns;
    if (!read) return Promise.resolve(undefined);
    let names = cache.get(columns);
    if (!names) {
      names = retrying(() => read.call(deps.kitchen, columns), { what: 'reading column names', log, ...(shutdown ? { shutdown } : {}) }).then((n) => {
        if (n === 'stopped') cache.delete(columns);
        return n ?? undefined;
      });
      names.catch(() => cache.delete(columns));
      cache.set(columns, names);
    }
    return names;
  };

  const withNames = (c: Claimed, names: readonly string[] | undefined): Prepared | Promise<Prepared> => {
    const fields: Fields = { arguments: c.arguments, names, id: c.id.toHexString(), attempt: c.attempt, waiter: opts.waiter };
    let file = opts.command;
    let args: string[];
    if (template) {
      const e = expand(template, fields);
      if (e.error !== undefined) return { error: e.error };
      [file, ...args] = e.argv as [string, ...string[]];
    } else {
      args = [...opts.commandArgs, ...c.arguments];
    }
    const env = columnEnv(names, c.arguments);
    if (!opts.workdir) return { file, args, env };
    return inWorkdir(opts.workdir, fields, file, args, env);
  };
  const inWorkdir = async (workdirTemplate: Template, fields: Fields, file: string, args: string[], env: Record<string, string>): Promise<Prepared> => {
    const w = expandWord(workdirTemplate, fields);
    if (w.error !== undefined) return { error: `--workdir ${w.error}` };
    const workdir = resolve(w.text);
    try {
      if (!dryRun) await mkdir(workdir, { recursive: true });
    } catch (err) {
      return { error: `cannot create the workdir ${workdir}: ${(err as NodeJS.ErrnoException).code ?? message(err)}`, workdir };
    }
    // The command runs in the folder; a relative program path (./crunch.sh) still means the one next to the waiter.
    if (!opts.shell && file.includes('/')) file = resolve(file);
    env.WAITER_WORKDIR = workdir;
    return { file, args, env, workdir };
  };

  const stopped = (): Prepared => ({ error: `interrupted by ${shutdown?.signal ?? 'a signal'}`, interrupted: true });
  return (c: Claimed): Prepared | Promise<Prepared> =>
    c.columns ? namesOf(c.columns).then((names) => (names === 'stopped' ? stopped() : withNames(c, names))) : withNames(c, undefined);
}

export function templateOf(opts: DeliverOptions): Template | undefined {
  return opts.shell ? undefined : (opts.template ?? parseTemplate([opts.command, ...opts.commandArgs]));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
