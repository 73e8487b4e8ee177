// Graceful shutdown: the first stop (a signal, `waiter stop`) stops claiming and lets
// running orders finish; a second one (or the deadline running out) kills them. A notice
// that the box is going away (preempt(), src/interrupt/) stops claiming and kills at once,
// recorded as 'preempt' (back READY, uncounted), SIGKILL at the notice's kill time. The
// reason is what the registry records ("signal SIGTERM"); the signal,
// set only by receive(), is what exit status it means to the command
// (src/commands/deliver.ts, src/cli.ts): never parsed back out of a reason's text.
import { timerMs, type KillDeadlineMs } from '../run.js';
import type { StopReason } from './stop.js';
import { MAX_TIMER_MS } from '../values.js';

export type Phase = 'running' | 'draining' | 'killing';

/**
 * A drain deadline, in ms: how long running orders may go on after the waiter's first
 * stop before they are killed (each then by its kill deadline, KillDeadlineMs in run.ts:
 * SIGTERM, SIGKILL after --kill-after). undefined: as long as they take. Clamped by timerMs.
 */
export type DrainDeadlineMs = number;

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What the kill stops running attempts as: the waiter's own stop, or the box going away. */
export type KillReason = Extract<StopReason, 'shutdown' | 'preempt'>;

export class Shutdown {
  phase: Phase = 'running';
  /** Why the waiter stops, as first told: "signal SIGTERM". The registry's end reason. */
  reason?: string;
  /** The signal that first stopped the waiter (receive()), else undefined: the command exits as killed by it (128 + its number). */
  signal?: NodeJS.Signals;
  private readonly waiters = new Set<() => void>();
  /** The notice that the box is going away (preempt()): what an interrupted order's error line names. */
  notice?: string;
  /** What the kill records on the attempts it stops (STOPPED in failure.ts). */
  killAs: KillReason = 'shutdown';
  /**
   * When a notice's kill SIGKILLs every command (epoch ms); undefined: --kill-after. A
   * moment, not a duration: a command started later (a claim in flight at the notice)
   * gets what remains of it, not the whole time again.
   */
  private killAt?: number;
  private readonly killers = new Set<(as: KillReason, deadlineMs: KillDeadlineMs | undefined) => void>();
  private graceTimer?: NodeJS.Timeout;
  /** What the waiter is waiting for, for the message on the first signal. */
  describe: () => string = () => 'running orders';

  /** graceMs: the drain deadline of a stop that gives none (--grace). */
  constructor(private readonly graceMs?: DrainDeadlineMs) {}

  /**
   * The first call stops claiming and gives running orders until `deadlineMs` (default
   * the grace) before they are killed; a second call kills them now.
   */
  stop(reason: string, deadlineMs: DrainDeadlineMs | undefined = this.graceMs): void {
    if (this.phase === 'running') {
      this.reason = reason;
      this.phase = 'draining';
      for (const wake of this.waiters) wake();
      if (deadlineMs !== undefined) this.graceTimer = setTimeout(() => this.kill(), timerMs(deadlineMs));
    } else {
      this.kill();
    }
  }

  /**
   * The box is going away (a spot notice): no new claims, and every running command is
   * told now (SIGTERM) and SIGKILLed after `deadlineMs`; their orders are recorded as
   * 'preempt'. Also over a drain under way; after a kill has begun, it changes nothing.
   */
  preempt(notice: string, deadlineMs: KillDeadlineMs): void {
    if (this.phase === 'killing') return;
    this.notice = notice;
    this.reason = this.reason === undefined ? notice : `${this.reason}; then ${notice}`;
    this.killAs = 'preempt';
    this.killAt = Date.now() + timerMs(deadlineMs);
    for (const wake of this.waiters) wake();
    this.kill();
  }

  /** Called for each SIGINT/SIGTERM/SIGHUP. */
  receive(signal: NodeJS.Signals): void {
    if (this.phase === 'running') this.signal = signal;
    this.stop(`signal ${signal}`);
  }

  /** What stopped the waiter, for an interrupted order's error line: the notice, the signal's name ("SIGTERM"), or the reason as told. */
  get by(): string | undefined {
    return this.notice ?? this.signal ?? this.reason;
  }

  private kill(): void {
    if (this.phase === 'killing') return;
    this.phase = 'killing';
    clearTimeout(this.graceTimer);
    for (const k of this.killers) k(this.killAs, this.killDeadlineMs());
  }

  /** What remains until the notice's kill time (0 once past); undefined: --kill-after. */
  private killDeadlineMs(): KillDeadlineMs | undefined {
    return this.killAt === undefined ? undefined : Math.max(0, this.killAt - Date.now());
  }

  get stopping(): boolean {
    return this.phase !== 'running';
  }

  /** Run fn when it is time to kill running orders (now, if it already is), with what to record and the kill deadline. Returns an unsubscribe. */
  onKill(fn: (as: KillReason, deadlineMs: KillDeadlineMs | undefined) => void): () => void {
    if (this.phase === 'killing') fn(this.killAs, this.killDeadlineMs());
    this.killers.add(fn);
    return () => this.killers.delete(fn);
  }

  /** Run fn when the waiter is told to stop (now, if it is already). Returns an unsubscribe. */
  onStop(fn: () => void): () => void {
    if (this.stopping) {
      fn();
      return () => undefined;
    }
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }

  /**
   * Sleeps ms, or less if a stop is requested meanwhile. At most MAX_TIMER_MS (24.8
   * days): Node fires a longer timer at once (a --retry-delay of 30d would spin the
   * loop); every caller looks again after a sleep, so a shorter one is harmless.
   */
  sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      this.waiters.add(done);
    });
  }

  dispose(): void {
    clearTimeout(this.graceTimer);
  }

  /**
   * Wires SIGINT, SIGTERM and SIGHUP of this process to receive(). Returns the unwiring.
   * SIGHUP (the ssh session or terminal closing) too: its default action would end the
   * process at once, leaving orders RUNNING and the kitchen file (jobenv.ts) on disk.
   */
  install(log: (line: string) => void): () => void {
    const handler = (sig: NodeJS.Signals) => {
      this.receive(sig);
      if (this.phase === 'draining') log(`waiter: ${sig}: no new orders; waiting for ${this.describe()} (again to kill them)`);
      else log(`waiter: ${sig}: killing running orders and putting them back READY`);
    };
    for (const sig of SIGNALS) process.on(sig, handler);
    return () => {
      for (const sig of SIGNALS) process.off(sig, handler);
    };
  }
}
