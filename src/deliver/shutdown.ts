// Graceful shutdown: the first signal stops claiming and lets running orders finish;
// a second signal (or the grace period running out) kills them.
import { MAX_TIMER_MS } from '../values.js';

export type Phase = 'running' | 'draining' | 'killing';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class Shutdown {
  phase: Phase = 'running';
  /** The first signal received, which sets the exit status (129 SIGHUP, 130 SIGINT, 143 SIGTERM). */
  signal?: NodeJS.Signals;
  private readonly waiters = new Set<() => void>();
  private readonly killers = new Set<() => void>();
  private graceTimer?: NodeJS.Timeout;
  /** What the waiter is waiting for, for the message on the first signal. */
  describe: () => string = () => 'running orders';

  constructor(private readonly graceMs?: number) {}

  /** Called for each SIGINT/SIGTERM/SIGHUP. */
  receive(signal: NodeJS.Signals): void {
    if (this.phase === 'running') {
      this.signal = signal;
      this.phase = 'draining';
      for (const wake of this.waiters) wake();
      if (this.graceMs !== undefined) this.graceTimer = setTimeout(() => this.kill(), this.graceMs);
    } else {
      this.kill();
    }
  }

  private kill(): void {
    if (this.phase === 'killing') return;
    this.phase = 'killing';
    clearTimeout(this.graceTimer);
    for (const k of this.killers) k();
  }

  get stopping(): boolean {
    return this.phase !== 'running';
  }

  /** Run fn when it is time to kill running orders (now, if it already is). Returns an unsubscribe. */
  onKill(fn: () => void): () => void {
    if (this.phase === 'killing') fn();
    this.killers.add(fn);
    return () => this.killers.delete(fn);
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
