// What `waiters --json` prints and GET /api/waiters serves: the registry, with what
// a STALE waiter ran settled from the orders.
import type { Kitchen } from '../kitchen.js';
import type { JobProgress } from '../order.js';
import { pausedReport } from './pause.js';
import { EXITED_SHOWN_MS, cutArguments, settleDue, settleStale, staleWindow, waiterState, type WaiterDoc, type WaiterState } from '../fleet.js';

export interface WaiterReport {
  /** The random instance id (two processes with one --name are two waiters). */
  id: string;
  name: string;
  host: string;
  pid: number;
  state: WaiterState;
  /** Ids of the orders it runs, as of `seen`. */
  running: string[];
  /** The first of them, with its arguments (cut short) and, when its command wrote one, its progress (WAITER_PROGRESS). */
  current?: { order: string; arguments: string[]; progress?: JobProgress };
  delivered: number;
  failed: number;
  /** A STALE waiter beside another of its name: its counts are those of its last write, it may have done more. */
  countsAtLeast?: true;
  command: string[];
  concurrency: number;
  /** Its --lease and --heartbeat, in seconds. */
  leaseSeconds: number;
  heartbeatSeconds: number;
  started: string;
  /** Its last write; for a STALE waiter, its last sign of life (settleStale): UP is seen - started. */
  seen: string;
  ended?: string;
  reason?: string;
  /** The list's pause as its document holds it (`waiter pause`): it claims nothing until resumed. Only while not ended. */
  paused?: { by: string; at: string; reason?: string };
  /** `waiter stop` asked it to stop (with --now: interrupting its orders). Only while not ended. */
  stop?: { by: string; at: string; now: boolean; reason?: string };
}

/**
 * The registry, oldest first; waiters that exited more than an hour ago only with `all`.
 * A STALE waiter's RUNNING and NOW come from the orders (RUNNING under its name, less
 * those a live waiter of the same name says it runs, each given to the one of its name
 * whose life holds the order's start): it may have claimed orders after its last write,
 * and finished the ones that write named. Its counts and last sign of life too
 * (settleStale), read for all STALE waiters at once, and written back to its document
 * once they can no longer change (settleDue): a dead waiter costs a query only until then.
 */
export async function waitersReport(k: Pick<Kitchen, 'fleet'>, opts: { all: boolean; now?: Date }): Promise<WaiterReport[]> {
  const now = opts.now ?? new Date();
  const docs = await k.fleet.listWaiters(opts.all ? undefined : new Date(+now - EXITED_SHOWN_MS));
  const reports = docs.map((w) => waiterReport(w, now));
  const stale = reports.filter((w) => w.state === 'STALE');
  if (stale.length === 0) return reports;
  const byId = new Map(docs.map((d) => [d._id, d]));
  const open = stale.filter((w) => !byId.get(w.id)!.settled);
  const names = (ws: readonly WaiterReport[]) => [...new Set(ws.map((w) => w.name))];
  // All of the registry for those names (--all or not): a restart under its name bounds what is its.
  const [held, everyone] = await Promise.all([k.fleet.runningOf(names(stale)), k.fleet.waitersNamed(names(open))]);
  const alive = new Set(reports.filter((w) => w.state !== 'STALE').flatMap((w) => w.running));
  const mine = new Map<string, typeof held>(stale.map((w) => [w.id, []]));
  for (const o of held) {
    if (alive.has(o._id.toHexString())) continue;
    // The one of its name that had started by the order's start, the latest of them.
    const start = o.start ? +o.start : Infinity;
    const owner = stale.filter((w) => w.name === o.waiter && +byId.get(w.id)!.started <= start).at(-1);
    if (owner) mine.get(owner.id)!.push(o);
  }
  for (const w of stale) {
    const orders = mine.get(w.id)!;
    w.running = orders.map((o) => o._id.toHexString());
    if (orders[0])
      w.current = { order: orders[0]._id.toHexString(), arguments: cutArguments(orders[0].arguments ?? []), ...(orders[0].progress ? { progress: orders[0].progress } : {}) };
    else delete w.current;
  }
  const wins = new Map(open.map((w) => [w.id, staleWindow(byId.get(w.id)!, everyone)]));
  const found = open.length
    ? await k.fleet.attemptsOf(
        names(open),
        [...wins.values()],
        open.flatMap((w) => (byId.get(w.id)!.recording ?? []).map((r) => r.order)),
      )
    : [];
  const settle: Parameters<typeof k.fleet.settleWaiters>[0] = [];
  for (const w of stale) {
    const doc = byId.get(w.id)!;
    const win = wins.get(w.id);
    const s = doc.settled ?? settleStale(doc, win!, found, mine.get(w.id));
    if (win && settleDue(doc, win, now)) settle.push({ id: doc._id, seen: doc.seen, settled: s });
    Object.assign(w, { delivered: s.delivered, failed: s.failed, seen: new Date(s.seen).toISOString() }, s.atLeast ? { countsAtLeast: true } : {});
  }
  // Only saves later calls their queries: a kitchen that refuses the write (a read-only
  // user) gets the same answer, read again next time.
  await k.fleet.settleWaiters(settle).catch(() => undefined);
  return reports;
}

/** What `waiters` shows, PAUSED and STOPPING included: the registry's states and the metrics' labels (src/serve/metrics.ts). */
export const SHOWN_STATES = ['PROCESSING', 'IDLE', 'PAUSED', 'STOPPING', 'STALE', 'EXITED'] as const;
export type ShownState = (typeof SHOWN_STATES)[number];

/** STOPPING (`waiter stop` asked it) or PAUSED (the list is) over a live waiter's PROCESSING/IDLE; --json keeps the state and says `stop`/`paused`. */
export function shownState(w: Pick<WaiterReport, 'state' | 'stop' | 'paused'>): ShownState {
  if (w.state !== 'PROCESSING' && w.state !== 'IDLE') return w.state;
  return w.stop ? 'STOPPING' : w.paused ? 'PAUSED' : w.state;
}

export function waiterReport(w: WaiterDoc, now: Date): WaiterReport {
  return {
    id: w._id,
    name: w.name,
    host: w.host,
    pid: w.pid,
    state: waiterState(w, now),
    running: w.running ?? [],
    ...(w.current ? { current: w.current } : {}),
    delivered: w.delivered,
    failed: w.failed,
    command: w.command,
    concurrency: w.concurrency,
    leaseSeconds: w.lease / 1000,
    heartbeatSeconds: w.heartbeat / 1000,
    started: w.started.toISOString(),
    seen: w.seen.toISOString(),
    ...(w.ended ? { ended: w.ended.toISOString(), reason: w.reason ?? '' } : {}),
    ...(w.paused && !w.ended ? { paused: pausedReport(w.paused) } : {}),
    ...(w.stop && !w.ended ? { stop: { ...pausedReport(w.stop), now: w.stop.now } } : {}),
  };
}
