// One attempt of an order's command: start it, keep its lease, stop it for a reason,
// say how it ended. Every way an attempt is cut short (the waiter's kill, the lease
// lost, --timeout, later cancel, hold, a spot notice, --memory-max) is a reason given
// to its Stop (stop.ts); what is then recorded is that reason's row in STOPPED
// (failure.ts), not a flag of this file.
import type { Claimed, JobProgress, Usage } from '../order.js';
import { errorLine, succeeded, type Outcome } from '../order.js';
import type { LiveSink } from '../output/live.js';
import { exitOf, handleFailed, handleStopped, isBoxSpawnFailure, startSafely, STOPPED, type Ran } from './failure.js';
import type { Leases } from './lease.js';
import type { Prepared } from './prepare.js';
import { Stop } from './stop.js';
import type { RunRequest } from '../run.js';
import type { Keeper } from '../checkpoint/keeper.js';
import type { DeliverDeps, DeliverOptions } from './types.js';
import { defined } from '../objects.js';
import { killedText } from '../usage/text.js';
import { sizeText } from '../output/size.js';

/** An order ready to run (prepare.ts said what runs). */
export type Runnable = Extract<Prepared, { file: string }>;

export class Attempts {
  /** Live output of the attempts run and not yet recorded (the loop's record closes each: takeLive). */
  private readonly lives = new Map<Claimed, LiveSink>();

  constructor(
    private readonly opts: DeliverOptions,
    private readonly deps: DeliverDeps,
    private readonly leases: Leases,
    /** The program when every order runs the same one: failing to start it is the box's fault. */
    private readonly program: string | undefined,
  ) {}

  /** The attempt's live output, handed over once to be closed before its result is written. */
  takeLive(c: Claimed): LiveSink | undefined {
    const live = this.lives.get(c);
    this.lives.delete(c);
    return live;
  }

  /** Starts the order's command, keeps its lease alive, and says how it ended. */
  async run(c: Claimed, p: Runnable): Promise<Ran> {
    const { opts, deps } = this;
    const { shutdown } = deps;
    const id = c.id.toHexString();
    const live = deps.output?.(c);
    if (live) this.lives.set(c, live);
    const stop = new Stop();
    // Usage (src/usage/): its looks stop the command over --memory-max as --timeout would.
    const meter = deps.usage?.meter({
      onOver: (rss) => {
        if (stop.stopped) return;
        deps.log(`waiter: order ${id} uses ${sizeText(rss)}, over --memory-max ${sizeText(opts.memoryMax ?? 0)}: stopping its command`);
        stop.stop('memory');
      },
    });
    // Progress (progress.ts): the file the command may write, read at each heartbeat.
    const progressFile = deps.progress?.open(c);
    const req: RunRequest = {
      file: p.file,
      args: p.args,
      shell: opts.shell,
      env: { WAITER_ORDER_ID: id, WAITER_NAME: opts.waiter, WAITER_ATTEMPT: String(c.attempt), ...(progressFile ? { WAITER_PROGRESS: progressFile } : {}), ...p.env },
      ...(deps.inherit ? { inherit: deps.inherit } : {}),
      ...(deps.mask ? { mask: deps.mask } : {}),
      ...defined({ cwd: p.workdir }),
      ...(p.workdir !== undefined && opts.saveOutput ? { saveOutputIn: p.workdir } : {}),
      // run.ts keeps the timer (and the kill that follows); the attempt learns it as its stop reason.
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs, onTimeout: () => stop.stop('timeout') } : {}),
      killAfterMs: opts.killAfterMs,
      ...(opts.concurrency > 1 ? { prefix: `[${id}] ` } : {}),
      stdout: deps.stdout,
      stderr: deps.stderr,
      ...(live ? { onOutput: live.push } : {}),
      ...(meter ? { watch: meter } : {}),
    };
    // --checkpoint (src/checkpoint/): its checkpoint restored first (under the lease), then kept as it runs.
    const keeper = p.workdir !== undefined && deps.checkpoint ? await this.restoring(c, p.workdir, stop) : undefined;
    if (keeper) req.env = { ...req.env, ...keeper.env };
    const first = startSafely(deps.start, req);
    const child = keeper ? keeper.running(first, (env) => startSafely(deps.start, { ...req, env: { ...req.env, ...env } })) : first;

    let exited = false;
    // The stop ends the command while it runs (its deadline: how long until SIGKILL). A
    // lease lost after the command exited (while its files are stored), or after another
    // reason stopped it, still means nothing is recorded (Stop.recordAs).
    stop.on((reason, deadlineMs) => {
      const what = exited ? `recording nothing (files stored so far stay under attempt ${c.attempt})` : 'stopping its command, recording nothing';
      if (reason === 'lost') deps.log(`waiter: lost order ${id} (reset or taken over); ${what}`);
      // The canceller (holder) wrote the order (CANCELLED, HELD; its attempt in history): this waiter only stops the command and goes on.
      if (reason === 'cancel' || reason === 'hold') deps.log(`waiter: order ${id} ${reason === 'cancel' ? 'cancelled' : 'held'} by ${stop.by ?? 'someone'}; ${what}`);
      if (!exited) child.terminate(deadlineMs);
    });
    // The waiter's kill stops only a command still running: one that exited is recorded as it ended.
    // A notice's kill records 'preempt' and gives the command the notice's time (shutdown.ts).
    const unsubscribe = shutdown.onKill((as, deadlineMs) => stop.stop(as, deadlineMs));
    const release = this.leases.keep(c, stop);

    let outcome: Outcome;
    let usage: Usage | undefined;
    let progress: JobProgress | undefined;
    let notKept: string | undefined;
    try {
      try {
        outcome = await child.outcome;
        usage = await meter?.end();
      } finally {
        exited = true;
        unsubscribe();
        // One last read (the command's last word, for history), then the file is removed.
        progress = deps.progress?.close(c);
      }
      // The last checkpoint of an order not finished here is stored before it is handed back; one finished or gone is not.
      if (keeper) await keeper.end(!succeeded(outcome) && stop.gone === undefined, outcome);
      // The lease is kept while the result files are stored: an upload longer than the
      // lease would let another waiter take the order over and run it again.
      const boxFailed = outcome.spawnError !== undefined && isBoxSpawnFailure(outcome.spawnCode, this.program);
      const rule = stop.recordAs === undefined ? undefined : STOPPED[stop.recordAs];
      const collects = !rule || (rule.records && rule.collects);
      if (collects && !boxFailed && p.workdir !== undefined && deps.collect) notKept = await deps.collect(c, p.workdir, succeeded(outcome));
    } finally {
      release();
    }
    const ran = this.ended(c, p, stop, outcome, usage, notKept);
    // The usage and the last progress ride on the finish (one write, as before), whichever way the attempt ended.
    if (ran.finish && usage) ran.finish.usage = usage;
    if (ran.finish && progress) ran.finish.progress = progress;
    if (ran.finish && keeper?.resumed !== undefined) ran.finish.resumed = keeper.resumed;
    if (ran.finish?.status === 'DONE' && keeper?.holds) ran.finish.dropCheckpoint = true;
    return ran;
  }

  /** Restores the order's checkpoint with its lease kept meanwhile (a large set may take longer than a lease). */
  private async restoring(c: Claimed, workdir: string, stop: Stop): Promise<Keeper> {
    const release = this.leases.keep(c, stop);
    try {
      return await this.deps.checkpoint!.begin(c, workdir);
    } finally {
      release();
    }
  }

  /** How the attempt ended, from how its command did. */
  private ended(c: Claimed, p: Runnable, stop: Stop, outcome: Outcome, usage: Usage | undefined, notKept: string | undefined): Ran {
    const { opts } = this;
    const workdir = defined({ workdir: p.workdir });
    if (stop.recordAs !== undefined) {
      const x = { by: this.deps.shutdown.by, timeoutText: opts.timeoutText, ...defined({ peak: usage?.peakRssBytes, memoryMax: opts.memoryMax }) };
      return handleStopped(c, stop.recordAs, x, opts.retry, outcome, p.workdir);
    }
    if (outcome.spawnError !== undefined && isBoxSpawnFailure(outcome.spawnCode, this.program)) {
      return handleFailed(c, { kind: 'box', error: outcome.spawnError, ...workdir }, opts.retry);
    }
    if (!succeeded(outcome)) {
      // Not from this waiter (every kill it sends is a stop reason, above, or --timeout): most often the kernel's OOM killer.
      const error = outcome.signal === 'SIGKILL' && !outcome.timedOut ? killedText(usage) : errorLine(outcome, opts.timeoutText);
      return handleFailed(c, { kind: 'run', error: error ?? 'failed', outcome, ...workdir }, opts.retry);
    }
    if (notKept !== undefined) return handleFailed(c, { kind: 'run', error: notKept, outcome: { ...outcome, spawnError: notKept }, ...workdir }, opts.retry);
    return { c, finish: { status: 'DONE', result: 'DONE', stop: new Date(), output: outcome.output, ...exitOf(outcome), ...workdir } };
  }
}
