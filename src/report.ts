// What `status --json`, `waiters --json` print and the HTTP API serves: the fleet
// view as plain JSON-able objects, from the kitchen's queries (no queries of its own).
import type { Kitchen } from './kitchen.js';
import type { PriorityCount } from './kitchen/priorities.js';
import { RECENT, eta, type Finish } from './eta.js';
import { namedFields, type Counts, type Order } from './order.js';
import { EXITED_SHOWN_MS, cutArguments, median, settleDue, settleStale, staleWindow, waiterState, type WaiterDoc, type WaiterState } from './fleet.js';

/** Finished orders whose run times make the median. */
export const MEDIAN_OF = RECENT;

export type StatusReport = Omit<Counts, 'nextDue'> & {
  /** The soonest `due` of a READY order not yet due (ISO), or null. */
  nextDue: string | null;
  /** Orders finished (DONE + ERROR, by `stop`) per minute, over the last 1 and 10 minutes. */
  pace1m: number;
  pace10m: number;
  /** Median run time of the last MEDIAN_OF finished orders; null when none has finished. */
  medianRunSeconds: number | null;
  /** Live waiters: not ended, seen within their lease; and the sum of their --concurrency. */
  waiters: number;
  slots: number;
  /**
   * When the orders due now and those running will be done (src/eta.ts; orders not yet
   * due are not counted: notYetDue says how many); null without an estimate.
   */
  etaSeconds: number | null;
  eta: string | null;
  /**
   * Why there is no ETA (null when there is one): `nothing READY` (and nothing running),
   * `nothing due yet` (every READY order waits for its time), `no live waiters` (nobody is working: a pace from the last minutes would
   * promise a time that slides later at every call), or `no finished orders in the last
   * 10 minutes` (no pace).
   */
  etaReason: string | null;
  /** The orders per minute the ETA assumed (src/eta.ts), null without one. */
  etaPace: number | null;
  /** READY orders per priority, highest first (issue 15); `status` shows them when more than one is in use. */
  readyByPriority?: PriorityCount[];
  /** WAITING orders held back by an order in ERROR (src/pipeline/): they wait for a reset. */
  waitingOnFailed: number;
  /** When these figures were read (ISO): the page and the API say how old an answer is. */
  asOf: string;
};

export async function statusReport(k: Kitchen, now = new Date()): Promise<StatusReport> {
  const [counts, last1m, last10m, recent, live, byPriority, waiting] = await Promise.all([
    k.counts(now),
    k.fleet.finishedSince(new Date(+now - 60_000)),
    k.fleet.finishedSince(new Date(+now - 600_000)),
    k.fleet.recentFinishes(MEDIAN_OF),
    k.fleet.liveWaiters(now),
    k.fleet.readyByPriority(),
    k.pipeline.summary(),
  ]);
  const pace1m = last1m;
  const pace10m = Math.round((last10m / 10) * 100) / 100;
  const m = median(recent.map((f: Finish) => f.stop - f.start));
  const e = eta({
    now: +now,
    ready: Math.max(0, counts.READY - counts.notYetDue),
    running: counts.RUNNING,
    stale: counts.stale,
    waiters: live.waiters,
    slots: live.slots,
    recent,
    finished10m: last10m,
  });
  return {
    ...counts,
    nextDue: counts.nextDue?.toISOString() ?? null,
    pace1m,
    pace10m,
    medianRunSeconds: m === null ? null : Math.round(m) / 1000,
    waiters: live.waiters,
    slots: live.slots,
    etaSeconds: e.seconds,
    eta: e.seconds === null ? null : new Date(+now + e.seconds * 1000).toISOString(),
    etaReason: e.reason === 'nothing READY' && counts.READY > 0 ? 'nothing due yet' : e.reason,
    etaPace: e.perMinute,
    readyByPriority: byPriority,
    waitingOnFailed: waiting.onFailed,
    asOf: now.toISOString(),
  };
}

export interface WaiterReport {
  /** The random instance id (two processes with one --name are two waiters). */
  id: string;
  name: string;
  host: string;
  pid: number;
  state: WaiterState;
  /** Ids of the orders it runs, as of `seen`. */
  running: string[];
  /** The first of them, with its arguments (cut short). */
  current?: { order: string; arguments: string[] };
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
    if (orders[0]) w.current = { order: orders[0]._id.toHexString(), arguments: cutArguments(orders[0].arguments ?? []) };
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
  };
}

/** An order as users see it: no claim token (internal to its waiter), `fields` {name: value} instead of the columns id. */
export type OrderReport = Omit<Order, 'claim' | 'columns' | 'prio'> & { fields?: Record<string, string> };

/** What `show --json`, `extract --json` and the API print for an order; `names`: its columns document's names, if any. */
export function orderReport(o: Order, names?: readonly string[] | null): OrderReport {
  // claim and prio are internal (the fence, the claim's sort key); `priority` is the user's;
  // wait and hold are the pipeline's index keys (`after` and `barrier` say the same).
  const { claim: _claim, columns: _columns, prio: _prio, wait: _wait, hold: _hold, ...rest } = o;
  return names ? { ...rest, fields: namedFields(names, o.arguments ?? []) } : rest;
}

/** orderReport() of many orders, with one read of the list's column names (a handful of documents) when any has some. */
export async function orderReports(k: Kitchen, orders: readonly Order[]): Promise<OrderReport[]> {
  const all = orders.some((o) => o.columns) ? await k.allColumns() : new Map<string, string[]>();
  return orders.map((o) => orderReport(o, o.columns ? all.get(o.columns) : undefined));
}
