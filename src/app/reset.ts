// reset: ERROR and stale RUNNING orders back to READY (waiter reset, POST /api/reset), and
// CANCELLED ones when named; then the release check, so what waited on them is never left behind.
import type { Kitchen } from '../kitchen.js';
import type { State } from '../order.js';

/** The states reset takes (--status, the API's status). */
export const RESETTABLE: readonly State[] = ['ERROR', 'RUNNING', 'CANCELLED'];
/** Without --status: a cancel is a user's decision, undone only by naming it (--status CANCELLED). */
export const RESET_BY_DEFAULT: readonly State[] = ['ERROR', 'RUNNING'];

export interface ResetRequest {
  statuses: State[];
  /** Also RUNNING orders whose waiter is still alive. */
  force: boolean;
  /** RUNNING orders started longer ago than this, alive or not. */
  olderThanMs?: number;
}

export async function resetOrders(k: Kitchen, r: ResetRequest, now = new Date()): Promise<{ reset: number; leftAlone: number }> {
  const done = await k.reset({ statuses: r.statuses, force: r.force, now, ...(r.olderThanMs !== undefined ? { startedBefore: new Date(+now - r.olderThanMs) } : {}) });
  if (r.statuses.includes('CANCELLED')) done.reset += await k.steer.resetCancelled(now);
  // The self-healing check (src/pipeline/): a release lost with its waiter is made now. WAITING orders are never reset.
  await k.pipeline.releaseAll();
  return done;
}
