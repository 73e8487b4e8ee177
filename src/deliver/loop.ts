// The waiter loop: claim -> run -> record, `concurrency` slots at a time, as named
// units over one explicit waiter state (the shape of BullMQ's Worker: getNextOrder /
// processOrder / handleFailed / record). I/O is injected (kitchen, process starter,
// output streams, log, shutdown) so tests can drive it.
//
// The rule every branch below keeps: whatever goes wrong with one order is that
// order's attempt, recorded, and the waiter goes on. A waiter stops only for reasons
// of its own: a signal, --max, an empty list, the kitchen failing past its retries,
// a failure of the box itself, or --max-failures-in-a-row.
import { randomUUID } from 'node:crypto';
import { MongoError } from 'mongodb';
import { KitchenError, message } from '../errors.js';
import { countedAttempt, type Claimed } from '../order.js';
import { roomBeside, startProblem } from '../limits.js';
import { Attempts } from './attempt.js';
import { handleFailed, handleStopped, isBoxWorkdirFailure, literalProgram, masked, type Failure, type Ran } from './failure.js';
import { preparer, templateOf, type Prepared } from './prepare.js';
import { Leases } from './lease.js';
import { OwnRetries } from './retries.js';
import { retrying } from './retry.js';
import { Board, LoopEvents, logLines, releaseAfter } from './events.js';
import type { IdleChecks } from '../pipeline/release.js';
import { Tail } from './tail.js';
import type { DeliverDeps, DeliverOptions, DeliverResult } from './types.js';
import { defined } from '../objects.js';

export { preparer, templateOf, type Prepared } from './prepare.js';
export type { BoxStop, DeliverDeps, DeliverOptions, DeliverResult } from './types.js';

/**
 * A stale order is run again after a lost attempt while its attempts stay under
 * --max-attempts, but at least once more whatever --max-attempts says: a box that
 * vanishes (a spot instance reclaimed) is the everyday case and its work must be
 * re-run with default settings; losing the same order twice is what a poison order
 * (one that kills its waiter) looks like.
 */
export const MIN_LOST_LIMIT = 2;

export async function deliver(opts: DeliverOptions, deps: DeliverDeps): Promise<DeliverResult> {
  return new Waiter(opts, deps).run();
}

/** Why the waiter stops claiming; the first one wins. A signal is the shutdown's own. */
type Stopping = { why: 'max' } | { why: 'box' | 'breaker'; reason: string } | { why: 'error'; err: unknown };

class Waiter {
  // ---- The waiter's state: the units below read and change only this. -------------
  private readonly result: DeliverResult = { delivered: 0, failed: 0, lost: 0, interrupted: 0 };
  /** Claims made, or reserved by a slot about to claim (so slots never exceed --max together). */
  private claimed = 0;
  /** What each order goes through (events.ts): the registry's view, the log lines and the pipeline releases follow it. */
  private readonly events: LoopEvents;
  /** What runs and what is being written, kept from the events: the registry's timer reads it, nothing waits on it. */
  private readonly board: Board;
  /** This waiter's own failed orders due again later (--retry-delay). */
  private readonly retries: OwnRetries;
  private readonly leases: Leases;
  private readonly attempts: Attempts;
  /** Runs that failed one after another (--max-failures-in-a-row); a success resets it. */
  private failuresInARow = 0;
  /** Orders claimed and not yet recorded: still RUNNING in the kitchen, but not on another waiter. */
  private readonly held = new Set<Claimed>();
  /** Without --wait: waits for orders running on other waiters before leaving (absent with --leave-early). */
  private readonly tail: Tail | undefined;
  private stopping?: Stopping;

  private readonly log: (line: string) => void;
  private readonly prepare: (c: Claimed) => Prepared | Promise<Prepared>;
  /** What the inherited environment leaves of ARG_MAX for an order's argv and variables. */
  private readonly room: number;

  constructor(
    private readonly opts: DeliverOptions,
    private readonly deps: DeliverDeps,
  ) {
    this.log = deps.log;
    this.events = new LoopEvents(deps.log);
    this.board = new Board(this.events, deps.progress ? (c) => deps.progress!.last(c) : undefined);
    this.room = roomBeside(deps.inherit ?? process.env);
    this.retries = new OwnRetries(deps.log);
    this.leases = new Leases(deps.kitchen, opts.leaseMs, opts.heartbeatMs, deps.log, deps.progress);
    const template = templateOf(opts);
    this.prepare = preparer(opts, template, deps, deps.log, deps.shutdown);
    this.attempts = new Attempts(opts, deps, this.leases, literalProgram(opts.command, opts.shell, template));
    if (!opts.wait && !opts.leaveEarly && deps.kitchen.tail) this.tail = new Tail(deps.kitchen.tail, opts.pollMs, deps.log);
    this.events.on('claimed', (c) => this.held.add(c));
    logLines(this.events, deps.log);
    if (deps.pipeline) releaseAfter(this.events, deps.pipeline);
    // A DONE order's checkpoint is of no more use (src/checkpoint/): its files go once that is recorded.
    const checkpoint = deps.checkpoint;
    if (checkpoint) this.events.on('finished', (c, fin) => void (fin.dropCheckpoint && checkpoint.dropped(c)));
  }

  async run(): Promise<DeliverResult> {
    const { deps, result } = this;
    deps.shutdown.describe = () => `${this.board.running.size} running order(s)`;
    // The first registry write and the read of the list's pause come before the first
    // claim (a waiter started on a paused list claims nothing); the indexes do not.
    await deps.registry?.start(() => this.board.view(result), deps.shutdown);
    // If a slot fails, the others must not run on with a kitchen about to be closed:
    // they stop claiming, finish (and record) what they run, then the error is thrown.
    await Promise.all(Array.from({ length: this.opts.concurrency }, () => this.slot().catch((err: unknown) => this.stop({ why: 'error', err }))));
    await deps.pipeline?.drain();
    await deps.checkpoint?.drain();
    const s = this.stopping;
    await deps.registry?.end(this.endReason());
    if (s?.why === 'error') throw s.err;
    if (s?.why === 'box' || s?.why === 'breaker') result.stopped = { kind: s.why, reason: s.reason };
    return result;
  }

  private stop(s: Stopping): void {
    this.stopping ??= s;
    // A slot asleep at the pause gate hears only a resume or a shutdown: without this, a
    // record failing while the list is paused would leave run() waiting forever.
    this.deps.pause?.wake();
  }

  private endReason(): string {
    const s = this.stopping;
    if (s?.why === 'error') return `${s.err instanceof MongoError || s.err instanceof KitchenError ? 'kitchen error' : 'error'}: ${message(s.err)}`;
    if (s?.why === 'box' || s?.why === 'breaker') return s.reason;
    if (this.deps.shutdown.reason !== undefined) return this.deps.shutdown.reason;
    if (s?.why === 'max') return `--max ${this.opts.max} reached`;
    return 'empty list';
  }

  /**
   * One slot: claim, run, record, again. It records an order while it claims the
   * next: the finish round trip is off the critical path (per order, one round trip
   * instead of two), at most two records in flight. A record that puts the order back
   * READY (a retry, an interrupt) is awaited first, so this waiter can take that order
   * again and does not find the list empty while it is still RUNNING.
   */
  private async slot(): Promise<void> {
    let recording: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        const c = await this.getNextOrder();
        if (!c) break;
        const ran = await this.processOrder(c);
        this.events.emit('ended', c, ran);
        this.judge(ran);
        const previous = recording;
        // Never left unhandled: a failure stops every slot claiming and is thrown by run().
        recording = this.record(ran)
          .catch((err: unknown) => this.stop({ why: 'error', err }))
          .finally(() => this.held.delete(c));
        await previous;
        // Awaited too when the lease is near its end (slow heartbeats): the next claim,
        // which takes stale orders first, must not take this one over from ourselves.
        if (ran.finish?.status === 'READY' || this.leases.left(c) < this.opts.leaseMs / 2) await recording;
      }
    } finally {
      await recording;
    }
  }

  // ---- getNextOrder: one claim, or null when this waiter is done claiming -----------

  private async getNextOrder(): Promise<Claimed | null> {
    const { opts } = this;
    if (opts.max !== undefined && this.claimed >= opts.max) {
      this.stop({ why: 'max' });
      return null;
    }
    this.claimed++; // reserve before awaiting
    const c = await this.claimNext();
    if (!c) this.claimed--;
    else this.events.emit('claimed', c);
    return c;
  }

  private async claimNext(): Promise<Claimed | null> {
    const { opts, deps, log } = this;
    const { shutdown } = deps;
    let idle = Math.min(100, opts.pollMs);
    // This claim's release checks (pipelines), made when a claim first finds nothing due.
    let checks: IdleChecks | undefined;
    // The last Tail look found nothing RUNNING elsewhere: the next claim is the last one.
    let lookedEmpty = false;
    for (;;) {
      if (shutdown.stopping || this.stopping) return null;
      // The list is paused (`waiter pause`, steer.ts): no claim until it is resumed or this waiter told to stop.
      if (deps.pause?.paused) {
        await deps.pause.until(shutdown, () => this.stopping !== undefined);
        continue;
      }
      // One token for all tries of this claim: a retry after a lost answer finds the
      // order the first try took instead of taking a second one.
      const token = randomUUID();
      let tries = 0;
      let at = new Date();
      const c = await retrying(() => deps.kitchen.claim(opts.waiter, opts.leaseMs, (at = new Date()), token, tries++ > 0), { what: 'claim', log, shutdown });
      if (c === 'stopped') return null;
      if (c) return c;
      const check = deps.pipeline ? (checks ??= deps.pipeline.checks(opts.wait)) : undefined;
      const p = check ? await retrying(() => check.next(), { what: 'the release check', log, shutdown }) : 'none';
      if (p === 'stopped') return null;
      if (p === 'released' || p === 'again') continue;
      if (opts.wait || p === 'wait') {
        await shutdown.sleep(idle);
        idle = Math.min(idle * 2, opts.pollMs);
        continue;
      }
      // Orders running on other waiters may yet go stale: not leaving while they run.
      const tail = this.tail ? await retrying(() => this.tail!.wait([...this.held].map((h) => h.id)), { what: 'the running orders check', log, shutdown }) : null;
      if (tail === 'stopped') return null;
      const mine = this.retries.wait(at);
      const sleep = mine === null || tail === null ? (mine ?? tail) : Math.min(mine, tail);
      if (sleep === null) {
        // Leaving after a look that found nothing RUNNING elsewhere, but only once a claim
        // made after it found nothing too: one may have gone back READY in between.
        if (!this.tail || lookedEmpty) return null;
        lookedEmpty = true;
        continue;
      }
      lookedEmpty = false;
      await shutdown.sleep(sleep);
      // The Tail claims again after its sleep anyway: the release check's own claim once
      // more ('again') would be a second claim per look.
      checks?.slept(tail !== null);
    }
  }

  // ---- processOrder: how the attempt ends; never throws for the order's sake --------

  private async processOrder(c: Claimed): Promise<Ran> {
    const lost = this.lostTooOften(c);
    if (lost) return this.handleFailed(c, lost);
    this.events.emit('started', c);
    try {
      const prepared = this.prepare(c);
      // No columns and no --workdir: ready at once, no await on the hot path.
      const p = prepared instanceof Promise ? await prepared : prepared;
      // Stopped while its column names were read: the same as a command the waiter's kill stopped.
      if (p.interrupted) return handleStopped(c, this.deps.shutdown.killAs, { by: this.deps.shutdown.by }, this.opts.retry);
      if (p.error !== undefined) {
        return this.handleFailed(c, { kind: isBoxWorkdirFailure(p.code) ? 'box' : 'refused', error: p.error, ...defined({ workdir: p.workdir }) });
      }
      const tooLong = startProblem([p.file, ...p.args], p.env, this.room);
      if (tooLong) return this.handleFailed(c, { kind: 'refused', error: tooLong, ...defined({ workdir: p.workdir }) });
      // A notice came while it was claimed or prepared: a command started now would only be
      // SIGTERMed at once, with what remains of the box's time; it goes back READY unrun.
      const { shutdown } = this.deps;
      if (shutdown.phase === 'killing' && shutdown.killAs === 'preempt') return handleStopped(c, 'preempt', { by: shutdown.by }, this.opts.retry);
      return await this.attempts.run(c, p);
    } catch (err) {
      // The kitchen failing (reading column names past its retries) is the waiter's
      // reason to stop, as before; anything else preparing this order is its attempt.
      if (err instanceof MongoError || err instanceof KitchenError) {
        this.events.emit('ended', c, undefined);
        throw err;
      }
      return this.handleFailed(c, { kind: 'crashed', error: `could not start the order: ${message(err)}` });
    }
  }

  /** A stale order taken over that has used up its attempts (those given back not counted): not run again (SQS's maxReceiveCount). */
  private lostTooOften(c: Claimed): Failure | undefined {
    if (c.lostBy === undefined) return undefined;
    if (countedAttempt(c) - 1 < Math.max(this.opts.retry.maxAttempts, MIN_LOST_LIMIT)) return undefined;
    const times = c.history.filter((h) => h.result === 'LOST').length;
    return { kind: 'lost', error: `lost ${times} time${times === 1 ? '' : 's'} (last on ${c.lostBy})` };
  }

  // ---- handleFailed: every way an attempt can fail, one branch each (failure.ts) ----

  private handleFailed(c: Claimed, f: Failure): Ran {
    return handleFailed(c, f, this.opts.retry);
  }

  /** What an ended attempt says about this box: a failure of the box or the breaker stops the waiter. */
  private judge(ran: Ran): void {
    if (ran.boxFailure !== undefined) {
      this.log(`waiter: this box cannot run orders (${ran.boxFailure}): stopping; the order is back READY, its attempt not counted`);
      this.stop({ why: 'box', reason: `box failure: ${ran.boxFailure}: stopping this box` });
      return;
    }
    if (ran.failedRun) {
      const n = this.opts.maxFailuresInARow ?? 0;
      if (n > 0 && ++this.failuresInARow >= n) {
        this.log(`waiter: ${n} failures in a row: stopping this box (another box may retry them; --max-failures-in-a-row 0 turns this off)`);
        this.stop({ why: 'breaker', reason: `${n} failures in a row: stopping this box` });
      }
    } else if (ran.finish?.result === 'DONE') this.failuresInARow = 0;
  }

  // ---- record: write how the attempt ended (fenced by the claim) and count it ------

  private async record({ c, finish, boxFailure }: Ran): Promise<void> {
    const { result, log } = this;
    const fin = finish && this.deps.mask ? masked(finish, this.deps.mask) : finish;
    const id = c.id.toHexString();
    const live = this.attempts.takeLive(c);
    await live?.close(); // before the result, so a follower that sees it has all the output
    if (!fin) {
      result.lost++;
      this.events.emit('lost', c, 'stopped');
      return;
    }
    let tries = 0;
    const recorded = await retrying(() => this.deps.kitchen.finish(c, fin, tries++ > 0), { what: `recording ${id}`, log, limitMs: this.opts.leaseMs + 60_000 });
    if (!recorded) {
      result.lost++;
      this.events.emit('lost', c, 'fenced');
      return;
    }
    if (fin.result === 'INTERRUPTED') result.interrupted++;
    else {
      result.delivered++;
      if (fin.status === 'ERROR') result.failed++;
      if (fin.due) this.retries.add(id, fin.due);
    }
    this.events.emit('finished', c, fin, boxFailure);
  }
}
