// release (waiter release, POST /api/release): HELD orders back to the state they were
// held from (issue 26): READY (due then, or at their `at` when later), or WAITING on what
// they waited for; then the release check frees those whose orders finished meanwhile.
// Only HELD orders qualify: an id of another is refused, nothing written.
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import type { Steered } from '../order.js';
import { inStates } from '../kitchen/steer-plans.js';
import { heldFromWaiting } from '../kitchen/hold-plans.js';
import { selectionOf, type Selection } from './selection.js';
import { DRY_RUN_IDS, checkedReason } from './steer.js';

export interface ReleaseRequest extends Selection {
  /** Say what would change, change nothing. */
  dryRun?: boolean;
  /** Why: kept in `released` (as hold's reason in `held`). */
  reason?: string;
  /** Who asks: user@host, or "api <client address>". */
  by: string;
}

export interface ReleaseReport {
  /** Orders released (with a dry run: that would be). */
  released: number;
  /** Of them, back READY. */
  ready: number;
  /** Of them, WAITING again on what they waited for (those whose orders are done are then released READY too). */
  waiting: number;
  /** Selected but not HELD (by --where, --failed-with; or no longer held when written): left alone. */
  notHeld: number;
  dryRun: boolean;
  /** A dry run: the first ids it would release. */
  ids?: string[];
}

export async function releaseOrders(k: Kitchen, r: ReleaseRequest, now = new Date()): Promise<ReleaseReport> {
  const reason = checkedReason(r.reason, 'release');
  const selected = await selectionOf(k, r, 'release', { states: ['HELD'], word: 'held' });
  const held = inStates(selected, ['HELD']);
  const n = held ? await k.steer.count(held) : 0;
  // Ids are all HELD (refused otherwise), --status is HELD only: the rest of a --where or --failed-with.
  const notHeld = r.ids?.length || r.status ? 0 : (await k.steer.count(selected)) - n;
  if (!held || n === 0) {
    throw new UsageError(`release: no held order in that selection${notHeld > 0 ? ` (${notHeld.toLocaleString('en-US')} not held, left alone)` : ''}: nothing changed`);
  }
  if (r.dryRun) {
    const waiting = await k.steer.count(heldFromWaiting(held));
    const ids = (await k.steer.firstIds(held, DRY_RUN_IDS)).map((id) => id.toHexString());
    return { released: n, ready: n - waiting, waiting, notHeld, dryRun: true, ids };
  }
  const s: Steered = { by: r.by, at: now, ...(reason ? { reason } : {}) };
  const { ready, waiting } = await k.steer.releaseHeld(held, s, now);
  // WAITING again: what they wait for may have finished while they were held.
  await k.pipeline.releaseAll();
  return { released: ready + waiting, ready, waiting, notHeld: notHeld + Math.max(0, n - ready - waiting), dryRun: false };
}
