// reset: ERROR and stale RUNNING orders back to READY (waiter reset, POST /api/reset), and
// CANCELLED ones when named; then the release check, so what waited on them is never left behind.
// Ids, --where, --failed-with (cancel's selection, src/app/selection.ts) narrow it to some orders.
// HELD orders are never reset (not in RESETTABLE): an id of one is refused, they are released.
import type { Kitchen } from '../kitchen.js';
import type { State } from '../order.js';
import { selectionGiven, selectionOf, type Selection } from './selection.js';

/** The states reset takes (--status, the API's status). */
export const RESETTABLE: readonly State[] = ['ERROR', 'RUNNING', 'CANCELLED'];
/** Without --status: a cancel is a user's decision, undone only by naming it (--status CANCELLED). */
export const RESET_BY_DEFAULT: readonly State[] = ['ERROR', 'RUNNING'];

export interface ResetRequest extends Omit<Selection, 'status'> {
  statuses: State[];
  /** Also RUNNING orders whose waiter is still alive. */
  force: boolean;
  /** RUNNING orders started longer ago than this, alive or not. */
  olderThanMs?: number;
}

export async function resetOrders(k: Kitchen, r: ResetRequest, now = new Date()): Promise<{ reset: number; leftAlone: number }> {
  // No selection: every order in `statuses`, as before. With one, its refusals first (an id in
  // another state than `statuses`: exit 2, nothing changed), then the statuses within it. A
  // part given but empty (ids [], where []) is refused, never read as none (selectionGiven).
  const sel: Selection = { ...(r.ids ? { ids: r.ids } : {}), ...(r.where ? { where: r.where } : {}), ...(r.failedWith !== undefined ? { failedWith: r.failedWith } : {}) };
  const within = selectionGiven(sel, 'reset') ? await selectionOf(k, sel, 'reset', { states: r.statuses }) : undefined;
  const done = await k.reset({
    statuses: r.statuses,
    force: r.force,
    now,
    ...(r.olderThanMs !== undefined ? { startedBefore: new Date(+now - r.olderThanMs) } : {}),
    ...(within ? { within } : {}),
  });
  if (r.statuses.includes('CANCELLED')) done.reset += await k.steer.resetCancelled(now, within);
  // The self-healing check (src/pipeline/): a release lost with its waiter is made now. WAITING orders are never reset.
  await k.pipeline.releaseAll();
  return done;
}
