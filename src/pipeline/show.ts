// `show <id>` of an order that waits (or waited) for others: what for, and their states.
import type { Kitchen } from '../kitchen.js';
import type { Order, State } from '../order.js';
import { ObjectId } from 'mongodb';
import { blocks } from '../kitchen/waiting.js';

const orderIdOf = (hex: string) => ObjectId.createFromHexString(hex);

export interface WaitReport {
  /** add --after: each order waited for and its state ('missing' once cleaned). */
  after?: { id: string; status: State | 'missing'; onFailed?: true }[];
  /** --after-any: DONE, ERROR or CANCELLED releases. */
  any?: boolean;
  /** --after-all: the barrier, and how many orders below it are not DONE (of them ERROR or CANCELLED). */
  barrier?: { id: string; unfinished: number; failed: number; onFailed?: true };
}
// onFailed: a WAITING order waited for, or the orders below a barrier, that failed
// orders hold back through other WAITING ones (PipelineQueries.blocked): no ERROR in sight, yet nothing can run.

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
  // Why a WAITING order waits on WAITING ones or a barrier with no ERROR below: the blocked set (O(WAITING on ids)), asked only then.
  const waitsOnWaiting = r.after?.some((a) => a.status === 'WAITING') || (r.barrier && r.barrier.unfinished > 0 && r.barrier.failed === 0);
  if (o.status === 'WAITING' && waitsOnWaiting) {
    const b = await k.pipeline.blocked();
    for (const a of r.after ?? []) if (a.status === 'WAITING' && b.ids.has(a.id)) a.onFailed = true;
    // A parent held by a blocked barrier (not on ids) is blocked too: it is marked through its barrier.
    const held = (r.after ?? []).filter((a) => a.status === 'WAITING' && !a.onFailed);
    if (held.length > 0 && b.barriers.size > 0) {
      for (const p of await k.pipeline.barriersOf(held.map((a) => orderIdOf(a.id)))) if (b.barriers.has(p.barrier)) held.find((a) => a.id === p.id)!.onFailed = true;
    }
    if (r.barrier && r.barrier.failed === 0 && b.barriers.has(r.barrier.id)) r.barrier.onFailed = true;
  }
  return r;
}

/** The human lines of show. */
export function waitLines(o: Order, w: WaitReport): string[] {
  const lines: string[] = [];
  const waiting = o.status === 'WAITING';
  if (w.after) {
    const rule = w.any ? 'released when all have finished (DONE, ERROR or CANCELLED)' : 'released when all are DONE';
    lines.push(`${'after'.padEnd(10)}${w.after.length} order(s), ${rule}:`);
    for (const a of w.after) {
      const why =
        waiting && a.status === 'ERROR' && !w.any
          ? '  (failed: holds this order back; reset it)'
          : waiting && a.status === 'CANCELLED' && !w.any
            ? '  (cancelled: holds this order back)'
            : waiting && a.status === 'HELD'
              ? '  (held: this order waits for its release and its run)'
              : waiting && a.onFailed
                ? '  (waits on failed orders itself: holds this order back; reset them)'
                : a.status === 'missing'
                  ? '  (no longer in the list: holds nothing back)'
                  : '';
      lines.push(`  ${a.id}  ${a.status}${waiting && blocks(a.status === 'missing' ? undefined : a.status, Boolean(w.any)) && !why ? '  (not yet)' : why}`);
    }
  }
  if (w.barrier) {
    const b = w.barrier;
    const state =
      b.unfinished === 0
        ? 'all DONE'
        : `${b.unfinished} not DONE${b.failed ? `, ${b.failed} of them ERROR or CANCELLED (they hold this order back)` : b.onFailed ? ', some WAITING on failed orders (they hold this order back; reset those)' : ''}`;
    lines.push(`${'after all'.padEnd(10)}every order added before barrier ${b.id}: ${state}`);
  }
  return lines;
}
