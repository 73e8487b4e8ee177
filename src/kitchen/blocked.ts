// Which waiting orders failed orders hold back (PipelineQueries.blocked, src/kitchen/pipeline.ts):
// the fixpoint over what blocked() read, pure but for one check it asks back (heldBetween).
import type { ObjectId } from 'mongodb';
import type { State } from '../order.js';
import { FAILED } from './pipeline-plans.js';

/** The orders failed orders hold back, directly or through waiting ones: see PipelineQueries.blocked. */
export interface Blocked {
  /** WAITING orders on ids (add --after/--after-any), by hex id. */
  ids: Set<string>;
  /** HELD orders held from WAITING (on ids or a barrier), by hex id: released, they would wait on failed orders. */
  held: Set<string>;
  /** Barriers (load/add --after-all), by hex id: all their orders. */
  barriers: Set<string>;
  /** Every WAITING order is blocked (and some is): nothing but a reset lets what is left run. */
  all: boolean;
}

/** An order that waits, or will once released: WAITING on ids, or HELD from WAITING. */
export interface Node {
  _id: ObjectId;
  after?: ObjectId[];
  any?: boolean;
  /** Its barrier: `hold` of a WAITING order, `barrier` of a held one (its hold was removed). */
  barrier?: ObjectId;
  held: boolean;
}

export interface Read {
  /** The WAITING orders on ids and the HELD ones held from WAITING. */
  nodes: readonly Node[];
  /** The states (and barriers) of what they wait for, by hex id. */
  parents: ReadonlyMap<string, { status: State; hold?: ObjectId }>;
  /** Barriers WAITING orders wait on ({hold: 1}); then those only held orders have. */
  waiting: readonly ObjectId[];
  more: readonly ObjectId[];
  /** Of those, the barriers with an ERROR or CANCELLED order below them. */
  failedBelow: ReadonlySet<string>;
  /** Whether a WAITING order of barrier `lower` lies below barrier `hold` (one key). */
  between(lower: ObjectId, hold: ObjectId): Promise<boolean>;
}

/**
 * Transitively: an order is blocked by an ERROR or CANCELLED order it waits for (unless
 * --after-any), by a blocked WAITING or held-from-WAITING one it waits for, or by its blocked
 * barrier; a barrier by a failed order below it, a blocked order on ids or held one below
 * it, or a WAITING order of a blocked barrier below it. A HELD order is no failure: what
 * waits only on held orders is not blocked (it runs once they are released and done).
 */
export async function blockedOf(r: Read): Promise<Blocked> {
  const out: Blocked = { ids: new Set(), held: new Set(), barriers: new Set(r.failedBelow), all: false };
  const barriers = [...r.waiting, ...r.more];
  const barrierBlocked = (b?: ObjectId) => b !== undefined && out.barriers.has(b.toHexString());
  const parentBlocked = (hex: string) => {
    const p = r.parents.get(hex);
    if (p?.status === 'WAITING') return out.ids.has(hex) || barrierBlocked(p.hold);
    return p?.status === 'HELD' && out.held.has(hex);
  };
  const tried = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const w of r.nodes) {
      const hex = w._id.toHexString();
      const set = w.held ? out.held : out.ids;
      if (set.has(hex)) continue;
      const failed = (id: ObjectId) => {
        const p = r.parents.get(id.toHexString());
        return (p !== undefined && FAILED.includes(p.status) && !w.any) || parentBlocked(id.toHexString());
      };
      if (barrierBlocked(w.barrier) || (w.after ?? []).some(failed)) {
        set.add(hex);
        changed = true;
      }
    }
    for (const hold of barriers) {
      const x = hold.toHexString();
      if (out.barriers.has(x)) continue;
      let held = [...out.ids, ...out.held].some((id) => id < x);
      for (const lower of barriers) {
        const pair = `${lower.toHexString()}<${x}`;
        if (held || lower.toHexString() >= x || !out.barriers.has(lower.toHexString()) || tried.has(pair)) continue;
        tried.add(pair);
        held = await r.between(lower, hold);
      }
      if (held) {
        out.barriers.add(x);
        changed = true;
      }
    }
  }
  // Something WAITING blocked, and nothing WAITING else: orders released meanwhile (by another waiter) leave none, and are not "all blocked".
  const onIds = r.nodes.filter((w) => !w.held);
  out.all = (out.ids.size > 0 || r.waiting.some(barrierBlocked)) && r.waiting.every(barrierBlocked) && onIds.every((w) => out.ids.has(w._id.toHexString()));
  return out;
}
