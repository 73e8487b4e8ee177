// Keeping a claim's lease alive while its command runs, and knowing how much of it is
// left (the slot waits for a record when the lease is past half: see Waiter.slot).
import type { Claimed } from '../order.js';
import type { Kitchen } from '../kitchen.js';

export class Leases {
  /** When each running claim's lease ends, as last extended (claim, then each heartbeat). */
  private readonly ends = new WeakMap<Claimed, number>();

  constructor(
    private readonly kitchen: Pick<Kitchen, 'heartbeat'>,
    private readonly leaseMs: number,
    private readonly heartbeatMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Milliseconds left of this claim's lease (negative once it ran out). */
  left(c: Claimed): number {
    return (this.ends.get(c) ?? +c.start + this.leaseMs) - Date.now();
  }

  /**
   * Heartbeats every --heartbeat until the returned function is called. `lost` is
   * called once, when a heartbeat finds the order no longer ours (reset, taken over);
   * a heartbeat failing is logged and the next one tries again.
   */
  keep(c: Claimed, lost: () => void): () => void {
    const id = c.id.toHexString();
    let ended = false;
    let told = false;
    const beat = setInterval(() => {
      const sent = Date.now();
      this.kitchen.heartbeat(c, this.leaseMs, new Date(sent)).then(
        (ours) => {
          if (ours) this.ends.set(c, sent + this.leaseMs);
          // A heartbeat answered after the command ended (and perhaps after finish()
          // recorded it) says nothing about the attempt: ignore it.
          else if (!ended && !told) {
            told = true;
            lost();
          }
        },
        (err: unknown) => this.log(`waiter: heartbeat for ${id} failed, will retry: ${err instanceof Error ? err.message : String(err)}`),
      );
    }, this.heartbeatMs);
    return () => {
      ended = true;
      clearInterval(beat);
    };
  }
}
