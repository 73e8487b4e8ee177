// `show <id>` of an order that waits (or waited) for others: what for, and their states.
import type { Kitchen } from '../kitchen.js';
import type { Order, State } from '../order.js';
import { blocks } from './queries.js';

export interface WaitReport {
  /** add --after: each order waited for and its state ('missing' once cleaned). */
  after?: { id: string; status: State | 'missing' }[];
  /** --after-any: DONE or ERROR releases. */
  any?: boolean;
  /** --after-all: the barrier, and how many orders below it are not DONE (of them in ERROR). */
  barrier?: { id: string; unfinished: number; failed: number };
}

/** What the order waits for now (or waited for), read from the kitchen: one find by _id, or two counts below a barrier. */
export async function waitReport(k: Kitchen, o: Order): Promise<WaitReport | undefined> {
  if (!o.after?.length && !o.barrier) return undefined;
  const r: WaitReport = {};
  if (o.after?.length) {
    const states = await k.pipeline.statesOf(o.after);
    r.after = o.after.map((id) => ({ id: id.toHexString(), status: states.get(id.toHexString()) ?? 'missing' }));
    if (o.any) r.any = true;
  }
  if (o.barrier) r.barrier = { id: o.barrier.toHexString(), ...(await k.pipeline.barrierState(o.barrier)) };
  return r;
}

/** The human lines of show. */
export function waitLines(o: Order, w: WaitReport): string[] {
  const lines: string[] = [];
  const waiting = o.status === 'WAITING';
  if (w.after) {
    const rule = w.any ? 'released when all have finished (DONE or ERROR)' : 'released when all are DONE';
    lines.push(`${'after'.padEnd(10)}${w.after.length} order(s), ${rule}:`);
    for (const a of w.after) {
      const why = waiting && a.status === 'ERROR' && !w.any ? '  (failed: holds this order back; reset it)' : a.status === 'missing' ? '  (no longer in the list: holds nothing back)' : '';
      lines.push(`  ${a.id}  ${a.status}${waiting && blocks(a.status === 'missing' ? undefined : a.status, Boolean(w.any)) && !why ? '  (not yet)' : why}`);
    }
  }
  if (w.barrier) {
    const b = w.barrier;
    const state = b.unfinished === 0 ? 'all DONE' : `${b.unfinished} not DONE${b.failed ? `, ${b.failed} of them ERROR (they hold this order back; reset them)` : ''}`;
    lines.push(`${'after all'.padEnd(10)}every order added before barrier ${b.id}: ${state}`);
  }
  return lines;
}
