// Keeping a claim's lease alive while its command runs, and knowing how much of it is
// left (the slot waits for a record when the lease is past half: see Waiter.slot).
import { message } from '../errors.js';
import type { Claimed, LeaseAnswer, LeaseTaken } from '../order.js';
import type { Kitchen } from '../kitchen.js';
import type { Stop, StopReason } from './stop.js';
import type { ProgressFiles } from './progress.js';

/** The attempt's stop reason for each heartbeat answer that says the order is no longer ours to run. */
const STOP_FOR: Record<Exclude<LeaseAnswer, 'ours'>, StopReason> = { lost: 'lost', cancelled: 'cancel', held: 'hold' };

export class Leases {
  /** When each running claim's lease ends, as last extended (claim, then each heartbeat). */
  private readonly ends = new WeakMap<Claimed, number>();

  constructor(
    private readonly kitchen: Pick<Kitchen, 'heartbeat'>,
    private readonly leaseMs: number,
    private readonly heartbeatMs: number,
    private readonly log: (line: string) => void,
    /** The commands' progress files: read at each beat, what they say sent with it (no write of its own). */
    private readonly progress?: Pick<ProgressFiles, 'read'>,
  ) {}

  /** Milliseconds left of this claim's lease (negative once it ran out). */
  left(c: Claimed): number {
    return (this.ends.get(c) ?? +c.start + this.leaseMs) - Date.now();
  }

  /**
   * Heartbeats every --heartbeat until the returned function is called. A heartbeat
   * that finds the order no longer ours (reset, taken over, cancelled) stops the attempt with the
   * reason its answer maps to; a heartbeat failing is logged and the next one tries again.
   */
  keep(c: Claimed, stop: Pick<Stop, 'stop'>): () => void {
    const id = c.id.toHexString();
    let ended = false;
    const beat = setInterval(() => {
      const sent = Date.now();
      // The file read is bounded (ProgressFiles.read: a small read, given up after a moment) and never throws.
      const read = this.progress ? this.progress.read(c) : Promise.resolve(undefined);
      read
        .then((progress) => this.kitchen.heartbeat(c, this.leaseMs, new Date(sent), progress))
        .then(
          (found: LeaseAnswer | LeaseTaken) => {
            const answer = typeof found === 'string' ? found : found.answer;
            if (answer === 'ours') this.ends.set(c, sent + this.leaseMs);
            // A heartbeat answered after the attempt ended (and perhaps after finish()
            // recorded it) says nothing about the attempt: ignore it.
            else if (!ended) stop.stop(STOP_FOR[answer], undefined, typeof found === 'string' ? undefined : found.by);
          },
          (err: unknown) => this.log(`waiter: heartbeat for ${id} failed, will retry: ${message(err)}`),
        );
    }, this.heartbeatMs);
    return () => {
      ended = true;
      clearInterval(beat);
    };
  }
}
