// The waiter's part in pipelines (issue 18), hooked into src/deliver/loop.ts with a
// few lines: after it records a finished order, the release of its dependants is
// queued (never awaited before the next claim); when a claim finds nothing due, the
// self-healing check runs, and says whether a waiter without --wait is to wait on.
import { MongoError, type ObjectId } from 'mongodb';
import { message } from '../errors.js';
import type { PipelineQueries } from '../kitchen/pipeline.js';

/** What a claim that found nothing due is to do: claim again now, claim once more before leaving (see idle), wait and claim again, or go on as before. */
export type Idle = 'released' | 'again' | 'wait' | 'none';

/** The fault hook of the tests: the waiter dies (SIGKILL) right after recording a finish, before releasing. */
export const KILL_BEFORE_RELEASE = 'WAITER_TEST_KILL_BEFORE_RELEASE';

/** How often a waiter that saw no WAITING order looks again before it releases after each finish. */
const RECHECK_MS = 5_000;
/**
 * The full sweep (releaseAll: O(WAITING on ids) reads) on a waiter's first idle poll,
 * then SWEEP_FIRST_MS later, doubling up to SWEEP_MAX_MS while it releases nothing: a
 * fleet of idle waiters polling a big blocked pipeline reads it once a minute each, not
 * on every poll. It only makes good what was lost (a waiter killed between a finish and
 * its release), so late is fine; a sweep that released something starts again at the first.
 */
export const SWEEP_FIRST_MS = 1_000;
export const SWEEP_MAX_MS = 60_000;

export class Releaser {
  private readonly pending = new Set<Promise<void>>();
  /** Whether the list had WAITING orders when last asked; per-finish releases run only then. */
  private seen = false;
  private askedAt = 0;
  private told = '';
  /** Orders the background releases freed since the last idle(): the claim that found nothing may have missed them. */
  private freed = 0;
  /** Whether this waiter polls with --wait (known from its first idle()): only without it does a finish bring the next "all blocked?" near. */
  private waits?: boolean;
  private sweptAt = -Infinity;
  private sweepEvery = SWEEP_FIRST_MS;
  /**
   * The last check without --wait found every WAITING order held back by failed ones and
   * said so ('none'); nothing of ours has finished or been released since. While READY or
   * RUNNING orders remain, the waiter does not leave on 'none' (src/deliver/tail.ts waits
   * for the RUNNING ones): the checks after it answer 'none' again, without the
   * "can still be released" line or the walk, until the picture changes.
   */
  private settled = false;

  constructor(
    private readonly q: Pick<PipelineQueries, 'releaseFor' | 'releaseAll' | 'releaseLowest' | 'anyWaiting' | 'anyActive' | 'blocked' | 'summary'>,
    private readonly log: (line: string) => void,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * An order this waiter recorded DONE or ERROR: release what waited for it, in the
   * background. Costs nothing on a list without WAITING orders (asked at most every
   * RECHECK_MS, one key); a failure is logged: the self-healing check makes it good.
   */
  finished(id: ObjectId): void {
    if (this.env[KILL_BEFORE_RELEASE]) process.kill(process.pid, 'SIGKILL');
    this.settled = false;
    // Without --wait, the next "all blocked?" within SWEEP_FIRST_MS: this finish may be what blocks them.
    if (this.waits === false) this.sweepEvery = SWEEP_FIRST_MS;
    const p = this.releaseAfter(id)
      .catch((err: unknown) => this.log(`waiter: releasing the orders waiting for ${id.toHexString()} failed (the next idle check does it): ${message(err)}`))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async releaseAfter(id: ObjectId): Promise<void> {
    let all = false;
    if (!this.seen && Date.now() - this.askedAt >= RECHECK_MS) {
      this.askedAt = Date.now();
      // WAITING orders appeared since: they may wait for orders finished before, so all of them are checked once.
      all = this.seen = await this.q.anyWaiting();
    }
    if (!this.seen) return;
    const n = all ? await this.q.releaseAll() : await this.q.releaseFor(id);
    this.freed += n;
    if (n > 0) this.log(`waiter: ${id.toHexString()} finished: released ${n} WAITING order(s)`);
  }

  /**
   * A claim found nothing due: release what can be (an earlier release lost with its
   * waiter, a barrier). Every poll: one key (anything WAITING?) and the lowest barrier;
   * the full sweep and the "all blocked?" walk only when due (SWEEP_FIRST_MS..SWEEP_MAX_MS),
   * or before a waiter without --wait exits. 'released': claim again at once. Without
   * --wait, 'wait' while WAITING orders remain that READY or RUNNING ones may still
   * release (said once on stderr); when none are WAITING, or only ones nothing can
   * release now (nothing READY or RUNNING, or every WAITING order held back by failed
   * orders, directly or through other WAITING ones: said once), 'again' the first time:
   * the check sees the list a moment after the claim did, and orders released in between
   * (by a release of ours whose count is not in yet, or another waiter's) are READY with
   * none WAITING, or leave only blocked ones in view; so the loop claims once more and
   * passes `again` = true to the next check, which then says 'none' (the waiter exits as
   * before) if it finds the same: nothing could be released after the first one looked.
   */
  async idle(wait: boolean, again = false): Promise<Idle> {
    try {
      return await this.check(wait, again);
    } catch (err) {
      // The kitchen failing is the waiter's to ride out or stop on; anything else is the
      // check's (an order whose pipeline fields waiter did not write): not a reason to
      // stop a waiter, so it goes on as on a list without WAITING orders.
      if (err instanceof MongoError) throw err;
      this.tell(`waiter: the release check failed, going on without it: ${message(err)}`);
      return 'none';
    }
  }

  private async check(wait: boolean, again: boolean): Promise<Idle> {
    this.waits = wait;
    await Promise.all(this.pending);
    const waiting = await this.q.anyWaiting();
    // WAITING orders new since the last check: their parents' finishes may have skipped their release (see releaseAfter).
    const appeared = waiting && !this.seen;
    // Asked here too, so a waiter stops its per-finish releases once a pipeline is through.
    this.seen = waiting;
    this.askedAt = Date.now();
    // Releases started before that answer came may have freed what it did not see WAITING.
    await Promise.all(this.pending);
    const freed = this.freed;
    this.freed = 0;
    if (appeared || freed > 0 || !waiting) this.settled = false;
    if (!waiting) return freed > 0 ? 'released' : wait || again ? 'none' : 'again';
    const due = appeared || this.now() - this.sweptAt >= this.sweepEvery;
    if (wait) return freed + (await this.heal(due)) > 0 ? 'released' : 'none';
    // Asked before the sweep: an order that finished before this answer has its state in the sweep's reads.
    const active = await this.q.anyActive();
    if (this.settled && active) {
      // Said already: the sweep when due (a release lost with another waiter), and 'none' again.
      if ((await this.heal(due)) === 0) return 'none';
      this.settled = false;
      return 'released';
    }
    this.settled = false;
    // About to exit (nothing READY or RUNNING, or the last check found nothing to wait on): a sweep now.
    const swept = due || again || !active;
    if (freed + (await this.heal(swept)) > 0) return 'released';
    if (active && !(swept && (await this.q.blocked()).all)) {
      this.tell('waiter: nothing due now; waiting: WAITING orders can still be released by READY or RUNNING ones');
      return 'wait';
    }
    if (!again) return 'again';
    // Another waiter's release may have landed between "anything active?" and the sweep's reads: what it freed is READY.
    if (!active && (await this.q.anyActive())) return 'wait';
    const s = await this.q.summary();
    this.tell(
      active
        ? `waiter: nothing due now; ${s.waiting} order(s) still WAITING, ${s.onFailed} of them on failed orders: no READY or RUNNING order can release them (reset the failed ones): not waiting for them`
        : `waiter: ${s.waiting} order(s) still WAITING, ${s.onFailed} of them on failed orders, and nothing READY or RUNNING can release them (reset the failed ones): not waiting for them`,
    );
    this.settled = true;
    return 'none';
  }

  /** The full sweep (`full`) or the lowest barrier; says what it released. */
  private async heal(full: boolean): Promise<number> {
    const n = full ? await this.sweep() : await this.q.releaseLowest();
    if (n > 0) this.log(`waiter: released ${n} WAITING order(s)`);
    return n;
  }

  private async sweep(): Promise<number> {
    const first = this.sweptAt === -Infinity;
    const n = await this.q.releaseAll();
    this.sweptAt = this.now();
    this.sweepEvery = n > 0 || first ? SWEEP_FIRST_MS : Math.min(this.sweepEvery * 2, SWEEP_MAX_MS);
    return n;
  }

  /** The checks of one claim of a slot, from its first that found nothing due until one finds an order: see IdleChecks. */
  checks(wait: boolean): IdleChecks {
    return new IdleChecks(this, wait);
  }

  /** Waits for the releases still in flight (the waiter's end). */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
  }

  private tell(line: string): void {
    if (line !== this.told) this.log(line);
    this.told = line;
  }
}

/**
 * One slot's release checks while its claims find nothing due. It keeps the 'again'
 * of idle(): after a check said 'again', the next check is the one after the claim
 * once more; a sleep on orders running elsewhere (src/deliver/tail.ts) claims again
 * anyway, so the check after it counts as that one too. A new claim that finds an
 * order starts over with new checks.
 */
export class IdleChecks {
  private again = false;

  constructor(
    private readonly releaser: Pick<Releaser, 'idle'>,
    private readonly wait: boolean,
  ) {}

  async next(): Promise<Idle> {
    const p = await this.releaser.idle(this.wait, this.again);
    this.again = p === 'again';
    return p;
  }

  /** The slot slept before claiming again: on orders running elsewhere (`tail`), or to poll. */
  slept(tail: boolean): void {
    this.again = tail;
  }
}
