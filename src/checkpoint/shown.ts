// What show and logs say of checkpoints: which checkpoint an attempt resumed from.
import type { Order } from '../order.js';

/** The attempt whose checkpoint attempt `attempt` of `o` started from: from its history entry, or the order itself while it runs. */
export function resumedFrom(o: Pick<Order, 'status' | 'attempts' | 'resumed' | 'history'>, attempt: number): number | undefined {
  if (o.status === 'RUNNING' && attempt === o.attempts) return o.resumed;
  return [...(o.history ?? [])].reverse().find((a) => a.attempt === attempt)?.resumed;
}
