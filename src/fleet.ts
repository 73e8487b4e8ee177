// The waiter registry's document and what readers derive from it. Pure: no I/O.
//
// Each `deliver` process keeps one document in `<list>.waiters`, written at start,
// every --heartbeat and at exit (src/deliver/registry.ts). Nobody cleans up after a
// waiter killed with -9: its state is derived from `seen` and its lease, the same
// clock as an order's lease.
import type { Attempt, JobProgress, Order } from './order.js';

export const WAITER_STATES = ['PROCESSING', 'IDLE', 'STALE', 'EXITED'] as const;
export type WaiterState = (typeof WAITER_STATES)[number];

/** The registry document of one deliver process. */
export interface WaiterDoc {
  /** A random instance id: two processes given the same --name are two documents. */
  _id: string;
  name: string;
  host: string;
  pid: number;
  /** The command and its own arguments, as given to deliver. */
  command: string[];
  concurrency: number;
  /** The process's --lease and --heartbeat, in ms. */
  lease: number;
  heartbeat: number;
  started: Date;
  /** Last written; `expires` = seen + lease (indexed: live waiters are counted from it). */
  seen: Date;
  expires: Date;
  /** Ids (hex) of the orders it runs now, as of `seen`. */
  running: string[];
  /** The first of them with its arguments (cut short) and its command's progress (as last read), for the NOW column. */
  current?: { order: string; arguments: string[]; progress?: JobProgress };
  /** Orders recorded (DONE, ERROR, or READY for a retry), and of those left in ERROR. */
  delivered: number;
  failed: number;
  /**
   * Orders whose result was being written at `seen` (ended, not yet counted above): a
   * STALE waiter's counts settle them from the orders (settleStale). Only when some.
   */
  recording?: { order: string; stop: Date }[];
  /**
   * A dead waiter's counts and last sign of life from the orders (settleStale), written
   * once by a reader when they can no longer change (settleDue); its own next write, if it
   * was only slow, clears it.
   */
  settled?: Settled;
  /** Set once it has ended, with how: empty list, --max, a signal, a kitchen error, `waiter stop`. */
  ended?: Date;
  reason?: string;
  /**
   * Set by others, never by its own write (which $sets its fields only, so these survive
   * and come back with it, src/deliver/registry.ts): the list's pause, copied onto every
   * waiter not ended (`waiter pause`, removed by `resume`), and `waiter stop`'s request.
   */
  paused?: Paused;
  stop?: StopAsked;
}

/** Who paused the list, when, why: `<list>.control`'s `paused`, and each waiter's copy. */
export interface Paused {
  /** user@host for the CLI, "api <client address>" for the API. */
  by: string;
  at: Date;
  reason?: string;
}

/** `waiter stop`'s request on a waiter's document: it stops at its next registry write; `now`: interrupting its running orders. */
export interface StopAsked {
  by: string;
  at: Date;
  now: boolean;
  reason?: string;
}

/** The list's control document (`<list>.control`, _id 'list'): not a waiter, in a collection of its own so no fleet query can take it for one. */
export interface ControlDoc {
  _id: 'list';
  paused?: Paused;
}

/** Exited waiters older than this are hidden unless --all. */
export const EXITED_SHOWN_MS = 60 * 60 * 1000;

/**
 * EXITED once it has ended; STALE when not seen for longer than its lease (killed,
 * frozen, cut off from the kitchen); else PROCESSING when it runs orders, IDLE when
 * it runs none (e.g. --wait on an empty list).
 */
export function waiterState(w: Pick<WaiterDoc, 'seen' | 'lease' | 'running' | 'ended'>, now: Date): WaiterState {
  if (w.ended) return 'EXITED';
  if (+now - +w.seen > w.lease) return 'STALE';
  return w.running.length > 0 ? 'PROCESSING' : 'IDLE';
}

/**
 * Where a STALE waiter's results after its last write can be: attempts under its name
 * that ended after `seen` and at most a lease later (alive, it would have written again
 * within a heartbeat), or before another process of its name started (a restart). When
 * a process of the same name was already running beside it, attempts after `seen`
 * cannot be told apart: `ambiguous`, and its counts stay those of its last write.
 */
export function staleWindow(w: WaiterDoc, all: readonly WaiterDoc[]): { from: Date; to: Date; ambiguous: boolean } {
  let to = +w.seen + w.lease;
  let ambiguous = false;
  for (const o of all) {
    if (o._id === w._id || o.name !== w.name) continue;
    if (+o.started > +w.seen) to = Math.min(to, +o.started);
    // Beside it only if it could still be alive after w.seen: a kill -9'd one never ends, but its lease runs out.
    else if ((o.ended ? +o.ended : +o.seen + o.lease) > +w.seen) ambiguous = true;
  }
  return { from: w.seen, to: new Date(to), ambiguous };
}

/** settleStale's answer, as a reader writes it back to the registry (WaiterDoc.settled). */
export interface Settled {
  delivered: number;
  failed: number;
  seen: Date;
  atLeast: boolean;
}

/**
 * A STALE waiter's settled figures are final once its window closed a lease ago: results
 * it wrote are in the orders by then, and alive it would have written again long before
 * (its orders were taken over). Its own next write clears `settled` if it comes back.
 */
export function settleDue(w: Pick<WaiterDoc, 'lease'>, win: { to: Date }, now: Date): boolean {
  return +now > +win.to + w.lease;
}

/** What settleStale reads of an order. */
export type AttemptsOf = Pick<Order, '_id' | 'status' | 'history' | 'waiter' | 'heartbeat'>;

/**
 * A STALE waiter's counts and when it was last seen, from the orders: its registry
 * document says what it had recorded at `seen`; each result it recorded later is an
 * attempt in an order's history, under its name (DONE or ERROR: INTERRUPTED and LOST
 * ones are not counted as delivered), either in its window (staleWindow) or one it
 * was writing at `seen` (`recording`: that order, that stop). Failed: the order's last
 * attempt, and the order still ERROR. Last seen: the latest of `seen`, those attempts'
 * stops and the heartbeats of the orders it holds (`held`).
 */
export function settleStale(w: WaiterDoc, win: { from: Date; to: Date; ambiguous: boolean }, orders: readonly AttemptsOf[], held: readonly AttemptsOf[] = []): Settled {
  const writing = new Map((w.recording ?? []).map((r) => [r.order, +new Date(r.stop)]));
  let delivered = w.delivered;
  let failed = w.failed;
  let last = +w.seen;
  const counted = new Set<string>();
  for (const o of orders) {
    const id = o._id.toHexString();
    if (counted.has(id)) continue;
    counted.add(id);
    const history: Attempt[] = o.history ?? [];
    history.forEach((a, i) => {
      if (a.waiter !== w.name || (a.result !== 'DONE' && a.result !== 'ERROR')) return;
      const t = +new Date(a.stop);
      const later = !win.ambiguous && t > +win.from && t <= +win.to;
      if (!later && writing.get(id) !== t) return;
      delivered++;
      if (a.result === 'ERROR' && i === history.length - 1 && o.status === 'ERROR') failed++;
      last = Math.max(last, t);
    });
  }
  if (!win.ambiguous) for (const o of held) if (o.heartbeat && +o.heartbeat <= +win.to) last = Math.max(last, +o.heartbeat);
  return { delivered, failed, seen: new Date(last), atLeast: win.ambiguous };
}

/** At most this many characters of an order's arguments are kept on the waiter document. */
export const CURRENT_ARGS_CHARS = 200;

/** The arguments cut to about `max` characters in all (the NOW column needs no more). */
export function cutArguments(args: readonly string[], max = CURRENT_ARGS_CHARS): string[] {
  const out: string[] = [];
  let left = max;
  for (const a of args) {
    if (left <= 0) {
      out.push('…');
      break;
    }
    out.push(a.length > left ? `${a.slice(0, left)}…` : a);
    left -= a.length;
  }
  return out;
}

/** The median of some numbers, or null when there are none. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A span for people: 850ms, 4.2s, 3m05s, 2h07m, 3d04h. */
export function span(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)}s`;
  const two = (n: number) => String(n).padStart(2, '0');
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${two(Math.floor(s % 60))}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${two(m % 60)}m`;
  return `${Math.floor(h / 24)}d${two(h % 24)}h`;
}
