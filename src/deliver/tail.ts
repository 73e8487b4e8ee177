// The end of a run (issue 25): a waiter without --wait does not leave while orders run
// on other waiters. One of those may be on a box that died (a spot instance reclaimed):
// its order goes stale when its lease runs out, and someone must still be there to take
// it over (the claim takes stale orders first). So when a claim finds nothing, the loop
// asks here whether to leave or how long to sleep before claiming again. --leave-early
// (no Tail) leaves as soon as nothing can be claimed now.
import type { ObjectId } from 'mongodb';
import type { TailQueries } from '../kitchen/tail.js';
import { counted } from '../words.js';

/** The shortest sleep between two looks (a lease that already ended but is not takeable: an older waiter's order). */
export const MIN_SLEEP_MS = 250;

/** What a claim that found nothing is to do: sleep this many ms and claim again, or nothing RUNNING elsewhere (null). */
export type TailWait = number | null;

export class Tail {
  private told = false;

  constructor(
    private readonly q: Pick<TailQueries, 'nextLease' | 'summary'>,
    private readonly pollMs: number,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * After a claim found nothing. Orders RUNNING on other waiters (not `held`, this
   * waiter's own until recorded): sleep until the soonest of their leases ends (it may
   * be stale then), at most --poll (to see them finish). None: null; the loop leaves
   * only after a claim made after such a look found nothing too (one may have gone back
   * READY, a retry or an interrupt, between the claim and the look).
   */
  async wait(held: readonly ObjectId[]): Promise<TailWait> {
    const end = await this.q.nextLease(held);
    if (!end) {
      this.told = false;
      return null;
    }
    if (!this.told) await this.tell(held);
    return Math.min(this.pollMs, Math.max(MIN_SLEEP_MS, +end - this.now() + 10));
  }

  /** Once per stretch of waiting: what it waits for, and how to leave instead. */
  private async tell(held: readonly ObjectId[]): Promise<void> {
    const s = await this.q.summary(held);
    if (s.count === 0 || !s.last) return; // finished in between: the next look says so
    this.told = true;
    const plural = s.count === 1 ? 'its lease ends' : 'their leases end';
    this.log(
      `waiter: nothing due now; waiting for ${counted(s.count, 'order')} RUNNING on other waiters (${plural} by ${s.last.toISOString()} unless renewed; a stale one is taken over); --leave-early to exit now`,
    );
  }
}
