// One way to stop an attempt (issue 30): every reason an attempt is cut short goes
// through its Stop, the shape of an AbortController with a typed reason and a deadline.
// The first reason decides the kill; what the attempt then records is decided by one
// table (STOPPED in failure.ts), from the first reason unless the order was found no
// longer ours meanwhile (see recordAs), so a new reason is a row there and a caller of
// stop() here, not another flag in the loop.
import { timerMs, type KillDeadlineMs } from '../run.js';

/**
 * Why an attempt was stopped. shutdown: the waiter was told to stop (a signal's second
 * time, the grace running out); lost: a heartbeat found the order no longer ours;
 * timeout: --timeout; cancel, hold: the order was cancelled or held while it ran;
 * preempt: the box is being reclaimed (a spot notice); memory: over --memory-max.
 */
export type StopReason = 'shutdown' | 'lost' | 'timeout' | 'cancel' | 'hold' | 'preempt' | 'memory';

/** The reasons that mean "this order is not ours any more": whoever holds it now (or the canceller) writes it, never this waiter. */
export type GoneReason = Extract<StopReason, 'lost' | 'cancel' | 'hold'>;

const GONE: ReadonlySet<StopReason> = new Set<GoneReason>(['lost', 'cancel', 'hold']);

/**
 * Told with a reason and its kill deadline (undefined: --kill-after): on the first stop,
 * and again with a later call's when it brings the kill forward or first says the order is gone.
 */
export type StopListener = (reason: StopReason, deadlineMs: KillDeadlineMs | undefined) => void;

export class Stop {
  /** The first reason given: it decides the kill. Undefined while the attempt runs on. */
  reason?: StopReason;
  /**
   * The first reason saying the order is not ours any more, even one given after another
   * reason: a timeout then a lost lease must not record, collect or count a failure for
   * an order another waiter (or the canceller) now owns.
   */
  gone?: GoneReason;
  /** Who stopped it, when someone did (cancel: the canceller), for the log line. */
  by?: string;
  /** The shortest kill deadline given so far (clamped), from when it was given. */
  deadlineMs?: KillDeadlineMs;
  /** When that deadline runs out (epoch ms). */
  private killAt?: number;
  // Made on the first subscription: most attempts are never stopped and pay nothing here.
  private listeners?: Set<StopListener>;

  /**
   * Stops the attempt for `reason`, unless it was stopped already. True when this call
   * stopped it. Once stopped, a later call can still bring the kill forward (a shorter
   * deadline than any before; against --kill-after, unknown here, any is passed on and
   * terminate() keeps the sooner) and say the order is gone.
   */
  stop(reason: StopReason, deadlineMs?: KillDeadlineMs, by?: string): boolean {
    const deadline = deadlineMs === undefined ? undefined : timerMs(deadlineMs);
    const gone = this.gone === undefined && GONE.has(reason);
    if (gone) this.gone = reason as GoneReason;
    const first = this.reason === undefined;
    const sooner = deadline !== undefined && (first || this.killAt === undefined || Date.now() + deadline < this.killAt);
    if (sooner) {
      this.deadlineMs = deadline;
      this.killAt = Date.now() + deadline;
    }
    if (by !== undefined && (first || gone)) this.by = by;
    if (first) this.reason = reason;
    if (first || sooner || gone) this.tell(reason, sooner ? deadline : undefined);
    return first;
  }

  /** The reason whose STOPPED row says what is recorded: the order being gone, else the first reason. */
  get recordAs(): StopReason | undefined {
    return this.gone ?? this.reason;
  }

  get stopped(): boolean {
    return this.reason !== undefined;
  }

  /** Calls `l` when the attempt is stopped (now, if it is already), and again when a later stop brings the kill forward or finds the order gone. Returns the unsubscribe. */
  on(l: StopListener): () => void {
    if (this.reason !== undefined) {
      l(this.reason, this.deadlineMs);
      if (this.gone !== undefined && this.gone !== this.reason) l(this.gone, undefined);
    }
    (this.listeners ??= new Set()).add(l);
    return () => void this.listeners?.delete(l);
  }

  private tell(reason: StopReason, deadlineMs: number | undefined): void {
    if (this.listeners) for (const l of [...this.listeners]) l(reason, deadlineMs);
  }
}
