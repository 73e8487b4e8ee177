// stop waiters from anywhere (waiter stop, POST /api/waiters/stop; issue 26): the
// request goes on the live waiters' registry documents; each sees it with its next
// registry write, stops claiming, finishes its running orders (or with `now` puts them
// back READY at once) and exits 0, "stopped by <by>" in the registry.
import { UsageError } from '../errors.js';
import { waiterState } from '../fleet.js';
import type { Kitchen } from '../kitchen.js';
import type { StopTarget } from '../kitchen/fleet-plans.js';

export type { StopTarget } from '../kitchen/fleet-plans.js';

export interface StopRequest {
  target: StopTarget;
  now: boolean;
  by: string;
  reason?: string;
}

/**
 * Asks the target's live waiters to stop; how many. None live: a UsageError (exit 2, 400),
 * nothing written, saying what the registry holds of the target instead (a waiter that
 * exited, or STALE): read only then, so a stop that finds someone costs one round trip.
 */
export async function stopWaiters(k: Pick<Kitchen, 'control' | 'fleet'>, r: StopRequest, at = new Date()): Promise<{ asked: number }> {
  const asked = await k.control.askToStop(r.target, { by: r.by, at, now: r.now, ...(r.reason ? { reason: r.reason } : {}) }, at);
  if (asked === 0) throw new UsageError(await noneLive(k, r.target, at));
  return { asked };
}

async function noneLive(k: Pick<Kitchen, 'fleet'>, t: StopTarget, now: Date): Promise<string> {
  if ('name' in t) {
    const last = (await k.fleet.waitersNamed([t.name])).at(-1);
    if (!last) return `no live waiter named '${t.name}' (waiter waiters lists them)`;
    if (last.ended) return `waiter '${t.name}' exited at ${last.ended.toISOString()}${last.reason ? ` (${last.reason})` : ''}: nothing to stop`;
    // Back since the stop's write (a waiter cut off that answers again): not STALE any more.
    if (waiterState(last, now) === 'STALE') return `waiter '${t.name}' is STALE (not seen since ${last.seen.toISOString()}): nothing to stop`;
    return `no live waiter named '${t.name}' when asked (waiter waiters lists them)`;
  }
  if ('host' in t) {
    const there = (await k.fleet.listWaiters()).filter((w) => w.host === t.host);
    const exited = there.filter((w) => w.ended).length;
    const stale = there.length - exited;
    const found = [...(stale ? [`${stale} STALE`] : []), ...(exited ? [`${exited} exited`] : [])];
    return `no live waiter on host '${t.host}' (${found.length ? `${found.join(', ')}; waiter waiters --all lists them` : 'waiter waiters lists them'})`;
  }
  return 'no live waiter to stop';
}
