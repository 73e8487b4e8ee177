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
// onFailed: a WAITING or held order waited for, or the orders below a barrier, that failed
// orders hold back through WAITING or held ones (PipelineQueries.blocked): no ERROR in sight, yet nothing can run.

/** A WAITING order waits now; one held from WAITING will once released (a hold kept its `after` and `barrier`); others no more. */
function waitsOn(o: Order): 'now' | 'released' | undefined {
  return o.status === 'WAITING' ? 'now' : o.status === 'HELD' && o.held?.from === 'WAITING' ? 'released' : undefined;
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
  // Why it waits on WAITING or HELD ones or a barrier with no ERROR below: the blocked set (O(WAITING on ids + HELD)), asked only then.
  const onOthers = r.after?.some((a) => a.status === 'WAITING' || a.status === 'HELD') || (r.barrier && r.barrier.unfinished > 0 && r.barrier.failed === 0);
  if (waitsOn(o) && onOthers) {
    const b = await k.pipeline.blocked();
    for (const a of r.after ?? []) if ((a.status === 'WAITING' && b.ids.has(a.id)) || (a.status === 'HELD' && b.held.has(a.id))) a.onFailed = true;
    // A parent held by a blocked barrier (not on ids) is blocked too: it is marked through its barrier.
    const onBarrier = (r.after ?? []).filter((a) => a.status === 'WAITING' && !a.onFailed);
    if (onBarrier.length > 0 && b.barriers.size > 0) {
      for (const p of await k.pipeline.barriersOf(onBarrier.map((a) => orderIdOf(a.id)))) if (b.barriers.has(p.barrier)) onBarrier.find((a) => a.id === p.id)!.onFailed = true;
    }
    if (r.barrier && r.barrier.failed === 0 && b.barriers.has(r.barrier.id)) r.barrier.onFailed = true;
  }
  return r;
}

/** The human lines of show. */
export function waitLines(o: Order, w: WaitReport): string[] {
  const lines: string[] = [];
  // What holds it back, said of a WAITING order, and of a held one (it will wait once released); of a released or finished one, nothing.
  const when = waitsOn(o);
  const waiting = when !== undefined;
  const holds = when === 'now' ? 'holds this order back' : 'will hold this order back once released';
  if (w.after) {
    const rule = w.any ? 'released when all have finished (DONE, ERROR or CANCELLED)' : 'released when all are DONE';
    lines.push(`${'after'.padEnd(10)}${w.after.length} order(s), ${rule}:`);
    for (const a of w.after) {
      const why =
        waiting && a.status === 'ERROR' && !w.any
          ? `  (failed: ${holds}; reset it)`
          : waiting && a.status === 'CANCELLED' && !w.any
            ? `  (cancelled: ${holds})`
            : waiting && a.status === 'HELD' && a.onFailed
              ? `  (held, and waits on failed orders itself: ${holds}; reset them)`
              : waiting && a.status === 'HELD'
                ? when === 'now'
                  ? '  (held: this order waits for its release and its run)'
                  : '  (held too: once released, this order waits for its release and its run)'
                : waiting && a.onFailed
                  ? `  (waits on failed orders itself: ${holds}; reset them)`
                  : a.status === 'missing'
                    ? '  (no longer in the list: holds nothing back)'
                    : '';
      lines.push(`  ${a.id}  ${a.status}${waiting && blocks(a.status === 'missing' ? undefined : a.status, Boolean(w.any)) && !why ? '  (not yet)' : why}`);
    }
  }
  if (w.barrier) {
    const b = w.barrier;
    const they = when === 'now' ? 'they hold this order back' : 'they will hold this order back once released';
    const why = !waiting ? '' : b.failed ? ` (${they})` : b.onFailed ? ', some waiting on failed orders' : '';
    const state =
      b.unfinished === 0 ? 'all DONE' : `${b.unfinished} not DONE${b.failed ? `, ${b.failed} of them ERROR or CANCELLED${why}` : why && `${why} (${they}; reset those)`}`;
    lines.push(`${'after all'.padEnd(10)}every order added before barrier ${b.id}: ${state}`);
  }
  return lines;
}
