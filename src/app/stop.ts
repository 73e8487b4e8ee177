// stop waiters from anywhere (waiter stop, POST /api/waiters/stop; issue 26): the
// request goes on the live waiters' registry documents; each sees it with its next
// registry write, stops claiming, finishes its running orders (or with `now` puts them
// back READY at once) and exits 0, "stopped by <by>" in the registry.
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { StopTarget } from '../kitchen/fleet-plans.js';

export type { StopTarget } from '../kitchen/fleet-plans.js';

export interface StopRequest {
  target: StopTarget;
  now: boolean;
  by: string;
  reason?: string;
}

/** Asks the target's live waiters to stop; how many. None live: a UsageError (exit 2, 400), nothing written. */
export async function stopWaiters(k: Pick<Kitchen, 'control'>, r: StopRequest, at = new Date()): Promise<{ asked: number }> {
  const asked = await k.control.askToStop(r.target, { by: r.by, at, now: r.now, ...(r.reason ? { reason: r.reason } : {}) }, at);
  if (asked === 0) throw new UsageError(noneLive(r.target));
  return { asked };
}

function noneLive(t: StopTarget): string {
  if ('name' in t) return `no live waiter named '${t.name}' (waiter waiters lists them)`;
  if ('host' in t) return `no live waiter on host '${t.host}' (waiter waiters lists them)`;
  return 'no live waiter to stop';
}
