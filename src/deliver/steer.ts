// What others ask of a running waiter (issue 26), as its registry write reads it back
// (registry.ts): the list paused (`waiter pause`: its slots stop claiming and sleep,
// running orders finish, it does not exit; `resume` wakes them) and a stop (`waiter
// stop`: Shutdown.stop with the asker as the reason, drained, or at once with --now).
import type { Paused, StopAsked } from '../fleet.js';
import type { Asked } from './registry.js';
import type { Shutdown } from './shutdown.js';

/** The list's pause as this waiter last heard it: the slots wait here before each claim. */
export class Pause {
  paused?: Paused;
  private readonly wakers = new Set<() => void>();

  set(p: Paused | undefined): void {
    this.paused = p;
    if (!p) this.wake();
  }

  /** The sleepers look again: the waiter stopped itself (an error, --max), which no shutdown tells them. */
  wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /** Resolves once the list is not paused (at once if it is not), the waiter is told to stop, or `stopped()` (its own stop; wake() says when to look). */
  async until(shutdown: Pick<Shutdown, 'onStop' | 'stopping'>, stopped: () => boolean = () => false): Promise<void> {
    while (this.paused && !shutdown.stopping && !stopped()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.wakers.delete(done);
          off();
          resolve();
        };
        this.wakers.add(done);
        const off = shutdown.onStop(done);
      });
    }
  }
}

/** The reason a stop records ("stopped by alice@laptop", with its --reason). */
export function stopReason(s: Pick<StopAsked, 'by' | 'reason'>): string {
  return `stopped by ${s.by}${s.reason ? ` (${s.reason})` : ''}`;
}

/** Turns what each registry write read back into the pause and the shutdown; says each change once on the log. */
export function steering(pause: Pause, shutdown: Pick<Shutdown, 'stop' | 'stopping' | 'describe'>, log: (line: string) => void): (asked: Asked) => void {
  let stopped: StopAsked | undefined;
  return ({ paused, stop }) => {
    if (paused && !pause.paused) {
      log(
        `waiter: the list is paused (by ${paused.by} at ${new Date(paused.at).toISOString()}${paused.reason ? `: ${paused.reason}` : ''}): no new orders until \`waiter resume\`; running orders finish`,
      );
    } else if (!paused && pause.paused) log('waiter: the list is resumed: claiming again');
    pause.set(paused);
    if (!stop) return;
    if (!stopped) {
      stopped = stop;
      if (shutdown.stopping && !stop.now) return; // already stopping (a signal): a drain asked now changes nothing
      log(
        stop.now
          ? `waiter: ${stopReason(stop)}, now: killing running orders and putting them back READY`
          : `waiter: ${stopReason(stop)}: no new orders; waiting for ${shutdown.describe()}`,
      );
      shutdown.stop(stopReason(stop), stop.now ? 0 : undefined);
    } else if (stop.now && !stopped.now) {
      // A later `stop --now` on a waiter already draining: kill what runs, as a second signal does.
      stopped = stop;
      log(`waiter: ${stopReason(stop)}, now: killing running orders and putting them back READY`);
      shutdown.stop(stopReason(stop), 0);
    }
  };
}
