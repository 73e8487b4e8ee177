// One way to stop an attempt (issue 30): every reason an attempt is cut short goes
// through its Stop, the shape of an AbortController with a typed reason and a deadline.
// The first reason wins; what the attempt then records is decided by that reason alone,
// from one table (STOPPED in failure.ts), so a new reason is a row there and a caller
// of stop() here, not another flag in the loop.

/**
 * Why an attempt was stopped. shutdown: the waiter was told to stop (a signal's second
 * time, the grace running out); lost: a heartbeat found the order no longer ours;
 * timeout: --timeout; cancel, hold: the order was cancelled or held while it ran;
 * preempt: the box is being reclaimed (a spot notice); memory: over --memory-max.
 */
export type StopReason = 'shutdown' | 'lost' | 'timeout' | 'cancel' | 'hold' | 'preempt' | 'memory';

/** Told once, with the reason and the deadline: how long the command may take before it is killed (undefined: --kill-after). */
export type StopListener = (reason: StopReason, deadlineMs: number | undefined) => void;

export class Stop {
  /** The first reason given; undefined while the attempt runs on. */
  reason?: StopReason;
  deadlineMs?: number;
  /** Who stopped it, when someone did (cancel: the canceller), for the log line. */
  by?: string;
  // Made on the first subscription: most attempts are never stopped and pay nothing here.
  private listeners?: Set<StopListener>;

  /** Stops the attempt for `reason`, unless it was stopped already. True when this call stopped it. */
  stop(reason: StopReason, deadlineMs?: number, by?: string): boolean {
    if (this.reason !== undefined) return false;
    this.reason = reason;
    this.deadlineMs = deadlineMs;
    this.by = by;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l(reason, deadlineMs);
    return true;
  }

  get stopped(): boolean {
    return this.reason !== undefined;
  }

  /** Calls `l` once when the attempt is stopped (now, if it is already). Returns the unsubscribe. */
  on(l: StopListener): () => void {
    if (this.reason !== undefined) {
      l(this.reason, this.deadlineMs);
      return () => undefined;
    }
    (this.listeners ??= new Set()).add(l);
    return () => void this.listeners?.delete(l);
  }
}
