// `status`'s ETA (issue 25): when the orders that can run now will all be done. Pure: the
// inputs are status's own figures (src/app/status.ts), no query of its own.
//
//   left  = READY due now + stale RUNNING (run again) + live RUNNING ÷ 2 (half done on average)
//   mean  = mean run time of the finishes of the last 10 minutes (of the last 300 read when
//           none: a batch of other orders an hour ago is not this one's)
//   rate  = the measured pace, or, while fewer than max(2 × slots, 30) orders finished in
//           the last minute itself (early in a run, long orders, just after a reset, after a
//           lull), the larger of it and slots ÷ mean (the live waiters' concurrency at work)
//   ETA   = max(left ÷ rate + mean ÷ 2, mean while any is READY or stale): the last orders
//           end one by one, not together; an order still to claim takes a whole run time
//
// measured pace: orders finished in the last minute ÷ the time they had, from the earliest
// start among them (clipped to the minute): a run 20 s old is measured over 20 s, not 60.
// Orders not yet due are left out (they cannot be done before their time: `status`
// reports them apart), and WAITING ones; so is a pace from minutes ago when nothing
// finished lately.

/** A finished order's last attempt (ms since the epoch). */
export interface Finish {
  start: number;
  stop: number;
}

export interface EtaInput {
  now: number;
  /** READY orders due now (READY − notYetDue). */
  ready: number;
  /** RUNNING orders within their lease, and those past it (taken over and run again). */
  running: number;
  stale: number;
  /** Live waiters, and the sum of their --concurrency. */
  waiters: number;
  slots: number;
  /** The last finished orders (any order), as status reads them for the median. */
  recent: readonly Finish[];
  /** Orders finished in the last 10 minutes. */
  finished10m: number;
}

export interface Eta {
  seconds: number | null;
  /** The orders per minute it assumed; null without an ETA. */
  perMinute: number | null;
  /** Why there is none (null when there is one). */
  reason: string | null;
}

const WINDOW_MS = 60_000;
const LONG_WINDOW_MS = 600_000;
/** Finishes that measure a pace well enough to trust it alone. */
const ENOUGH = 30;
/** How many finishes status reads (src/app/status.ts MEDIAN_OF): a window they all fall in may hold more. */
export const RECENT = 300;

export function eta(input: EtaInput): Eta {
  // Counts read one after another while orders move can read READY below 0: none left.
  const i = { ...input, ready: Math.max(0, input.ready) };
  const none = (reason: string): Eta => ({ seconds: null, perMinute: null, reason });
  const live = Math.max(0, i.running - i.stale);
  if (i.ready + i.running === 0) return none('nothing READY');
  if (i.waiters === 0) return none('no live waiters');
  if (i.finished10m === 0 || i.recent.length === 0) return none('no finished orders in the last 10 minutes');
  const mean = meanRunMs(i.recent, i.now);
  const m = measure(i.recent, i.now);
  const slots = Math.max(i.slots, i.waiters);
  // Trusted alone only when the last minute itself saw enough finishes: m may count the
  // newest 30 from up to 10 minutes back, idle minutes after a lull included.
  const inMinute = i.recent.filter((f) => f.stop > i.now - WINDOW_MS && f.stop <= i.now).length;
  const perMs = Math.min(m.finished, inMinute) >= Math.max(2 * slots, ENOUGH) || !(mean > 0) ? m.perMs : Math.max(m.perMs, slots / mean);
  if (!(perMs > 0)) return none('no finished orders in the last 10 minutes');
  const left = i.ready + i.stale + live / 2;
  // Orders still to claim take a whole run time at the least, however many slots are free.
  const ms = Math.max(left / perMs + mean / 2, i.ready + i.stale > 0 ? mean : 0);
  return { seconds: Math.round(ms / 1000), perMinute: Math.round(perMs * 60_000 * 100) / 100, reason: null };
}

/**
 * The mean run time (ms) of the finishes of the last 10 minutes, of all of `recent` when
 * none: a batch of other orders an hour ago is not this one's. NaN when `recent` is empty.
 */
export function meanRunMs(recent: readonly Finish[], now: number): number {
  const lately = recent.filter((f) => f.stop > now - LONG_WINDOW_MS && f.stop <= now);
  const runs = (lately.length > 0 ? lately : recent).map((f) => Math.max(0, f.stop - f.start));
  return runs.reduce((a, b) => a + b, 0) / runs.length;
}

/**
 * The measured pace (orders per ms) and how many finishes it counts: those of the last
 * minute, or of the newest ENOUGH when the minute holds fewer (long orders; at most 10
 * minutes back), over the time they had: from the window's start, or from the earliest
 * start among them when the run began inside it (a run 20 s old is measured over 20 s).
 * `recent` holds only the newest few hundred: a window they all fall in starts at the
 * oldest of them.
 */
export function measure(recent: readonly Finish[], now: number, cap = RECENT): { perMs: number; finished: number } {
  const newest = recent.filter((f) => f.stop <= now).sort((a, b) => b.stop - a.stop);
  const last = newest.at(-1);
  let since = now - WINDOW_MS;
  let edge = false; // since is a finish's stop: the count is of those after it
  const inMinute = newest.filter((f) => f.stop > since).length;
  if (last && inMinute === newest.length && newest.length >= cap && last.stop > since) [since, edge] = [last.stop, true];
  else if (inMinute < ENOUGH) {
    const nth = newest[ENOUGH];
    since = Math.max(now - LONG_WINDOW_MS, nth ? nth.stop : -Infinity);
    edge = Boolean(nth) && nth!.stop >= now - LONG_WINDOW_MS;
  }
  const lately = newest.filter((f) => f.stop > since);
  if (lately.length === 0) return { perMs: 0, finished: 0 };
  const from = edge ? since : Math.max(since, Math.min(...lately.map((f) => f.start)));
  return { perMs: lately.length / Math.max(1, now - from), finished: lately.length };
}
