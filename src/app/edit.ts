// edit (waiter edit, POST /api/edit): a new priority or --at for orders not yet claimed
// (EDITABLE: READY, WAITING, HELD), in a few updateMany over the selection (editPlan).
// A RUNNING or finished order is never changed: refused by id, left alone (counted) by a
// --where or --failed-with selection.
import { UsageError } from '../errors.js';
import type { Kitchen } from '../kitchen.js';
import { EDITABLE, MAX_PRIORITY, STATES, type Steered } from '../order.js';
import { HORIZON_MS, HORIZON_YEARS } from '../values.js';
import { inStates } from '../kitchen/steer-plans.js';
import type { EditAsk } from '../kitchen/edit-plans.js';
import { FINISHED, oneOf, selectionOf, type Selection } from './selection.js';
import { DRY_RUN_IDS, checkedReason } from './steer.js';

export interface EditRequest extends Selection, EditAsk {
  /** Say what would change, change nothing. */
  dryRun?: boolean;
  /** Why: kept trimmed; empty or only spaces is refused; at most MAX_REASON characters (kept as edited.reason). */
  reason?: string;
  /** Who asks: user@host, or "api <client address>". */
  by: string;
}

export interface EditReport {
  /** Orders edited (with a dry run: that would be). */
  edited: number;
  /** Selected but RUNNING (claimed: its attempt keeps what it was claimed with): left alone. */
  running: number;
  /** Selected but finished (DONE, ERROR, CANCELLED): left alone. */
  finished: number;
  /** Counted editable, then claimed (or released and claimed, or held or released by hand) before the write reached them: left alone. */
  meanwhile: number;
  dryRun: boolean;
  /** A dry run: the first ids it would edit. */
  ids?: string[];
}

export async function editOrders(k: Kitchen, r: EditRequest, now = new Date()): Promise<EditReport> {
  // Checked here, for the CLI (exit 2) and the API (400) alike, before anything is read or written.
  if (r.priority === undefined && r.at === undefined) throw new UsageError('edit: give --priority N or --at TIME (or both): nothing changed');
  if (r.priority !== undefined && (!Number.isInteger(r.priority) || Math.abs(r.priority) > MAX_PRIORITY)) {
    throw new UsageError(
      `edit: --priority ${r.priority} is not a whole number from -${MAX_PRIORITY.toLocaleString('en-US')} to ${MAX_PRIORITY.toLocaleString('en-US')}: nothing changed`,
    );
  }
  if (r.at !== undefined && (Number.isNaN(+r.at) || +r.at - +now > HORIZON_MS)) {
    throw new UsageError(`edit: --at is more than ${HORIZON_YEARS} years ahead (the furthest --at can be): nothing changed`);
  }
  const reason = checkedReason(r.reason, 'edit');
  const selected = await selectionOf(k, r, 'edit', { states: EDITABLE });
  const editable = inStates(selected, EDITABLE);
  const n = editable ? await k.steer.count(editable) : 0;
  // Left alone and said so: a selection by --where or --failed-with reaches RUNNING and finished orders too.
  const byIdsOrStatus = Boolean(r.status || r.ids?.length);
  const finished = byIdsOrStatus ? 0 : await k.steer.count(inStates(selected, FINISHED)!);
  const others = STATES.filter((x) => !EDITABLE.includes(x) && !FINISHED.includes(x));
  const running = byIdsOrStatus ? 0 : await k.steer.count(inStates(selected, others)!);
  if (n === 0) {
    const alone = [running ? `${running.toLocaleString('en-US')} running` : '', finished ? `${finished.toLocaleString('en-US')} finished` : ''].filter(Boolean).join(', ');
    throw new UsageError(`edit: no order to edit in that selection (only ${oneOf(EDITABLE)} ones are)${alone ? ` (${alone}, left alone)` : ''}: nothing changed`);
  }
  if (r.dryRun) {
    return { edited: n, running, finished, meanwhile: 0, dryRun: true, ids: (await k.steer.firstIds(editable!, DRY_RUN_IDS)).map((id) => id.toHexString()) };
  }
  const s: Steered = { by: r.by, at: now, ...(reason ? { reason } : {}) };
  const ask: EditAsk = { ...(r.priority !== undefined ? { priority: r.priority } : {}), ...(r.at ? { at: r.at } : {}) };
  const edited = await k.steer.edit(selected, ask, s);
  // The release check, after the writes: an --at moved into the past frees a WAITING order
  // whose orders are done now, and one a release racing this edit missed (its write is
  // fenced by the `at` it read, releaseAt) is released here, to the edited at.
  if (ask.at) await k.pipeline.releaseAll();
  return { edited, running, finished, meanwhile: Math.max(0, n - edited), dryRun: false };
}
