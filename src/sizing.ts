// `status --finish-by` (issue 28): how many waiters of the current shape finish the list
// by a given time. Pure: status's own figures in, no query of its own. It inverts the
// ETA's formula (src/eta.ts) for the number of waiters:
//
//   left   = READY due now + stale RUNNING + live RUNNING ÷ 2       (the ETA's)
//   rate   = the ETA's rate ÷ live waiters                          (orders/min per waiter)
//   shape  = slots ÷ live waiters                                   (--concurrency per waiter)
//   ETA(N) = left ÷ (N × rate) + mean ÷ 2, and at least one mean run time
//   needed = the smallest N with ETA(N) ≤ time left:
//            ceil(left ÷ (rate × (time left − mean ÷ 2)))
//   more   = needed − live waiters, never below 0
//
// The rate per waiter is taken to hold as waiters are added (each brings its slots; the
// kitchen is not the limit); no number of waiters finishes sooner than one run time.

/** What the sizing is computed from: status's figures (src/app/status.ts) and the ETA's mean run time. */
export interface SizingInput {
  now: number;
  /** The time to finish by (ms since the epoch). */
  at: number;
  /** READY orders due now and stale RUNNING ones (status's backlog). */
  backlog: number;
  /** RUNNING orders, stale ones included, and the stale ones. */
  running: number;
  stale: number;
  /** Live waiters and their --concurrency summed. */
  waiters: number;
  slots: number;
  /** The orders per minute the ETA assumed (status's etaPace); null without one. */
  perMinute: number | null;
  /** Why the ETA has no pace (status's etaReason), said when there is none. */
  etaReason: string | null;
  /** The mean run time (ms) the ETA assumed (src/eta.ts meanRunMs); NaN when nothing finished. */
  meanMs: number;
}

/** What the sizing was computed from: `status --json`'s finishBy.basis. */
export interface SizingBasis {
  /** Orders of work left: backlog + half the live RUNNING ones. */
  left: number;
  /** Seconds from now to `at`. */
  secondsLeft: number;
  waiters: number;
  /** The current shape: slots per live waiter (their mean --concurrency). */
  slotsPerWaiter: number | null;
  /** Orders per minute one waiter of that shape finishes, as measured now. */
  perWaiterPace: number | null;
  /** The mean run time of an order (s). */
  meanRunSeconds: number | null;
}

export interface FinishBy {
  /** The time to finish by (ISO). */
  at: string;
  /** Live waiters of the current shape that finish by `at`, the live ones included; null when it cannot be said. */
  waitersNeeded: number | null;
  /** How many to add to the live ones: 0 when they are enough, or when nothing is left to claim; null when it cannot be said. */
  more: number | null;
  /** Why there is no answer (null when there is one). */
  reason: string | null;
  basis: SizingBasis;
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

export function finishBy(i: SizingInput): FinishBy {
  const secondsLeft = Math.round((i.at - i.now) / 1000);
  const left = Math.max(0, i.backlog) + Math.max(0, i.running - i.stale) / 2;
  const perWaiterMin = i.waiters > 0 && i.perMinute !== null && i.perMinute > 0 ? i.perMinute / i.waiters : null;
  const basis: SizingBasis = {
    left,
    secondsLeft,
    waiters: i.waiters,
    slotsPerWaiter: i.waiters > 0 ? round(Math.max(i.slots, i.waiters) / i.waiters, 2) : null,
    perWaiterPace: perWaiterMin === null ? null : round(perWaiterMin, 2),
    meanRunSeconds: Number.isFinite(i.meanMs) ? round(i.meanMs / 1000, 3) : null,
  };
  const out = { at: new Date(i.at).toISOString(), basis };
  const none = (reason: string, more: 0 | null = null): FinishBy => ({ ...out, waitersNeeded: null, more, reason });
  if (i.at <= i.now) return none('the time is past');
  // Nothing a new waiter could take: more would not help, and none are needed.
  if (i.backlog <= 0) return none('nothing left to claim', 0);
  if (i.waiters <= 0) return none('no live waiters (no pace or shape to size from)');
  if (perWaiterMin === null || !Number.isFinite(i.meanMs)) return none(`no pace measured yet (${i.etaReason ?? 'no finished orders in the last 10 minutes'})`);
  const timeMs = i.at - i.now;
  // An order still to claim takes a whole run time however many waiters there are.
  if (timeMs < i.meanMs) return none('too soon: an order takes longer on average than the time left');
  const perWaiterMs = perWaiterMin / 60_000;
  // Within a millionth above a whole number is that number (floating-point noise, not a waiter).
  const needed = Math.max(1, Math.ceil(left / (perWaiterMs * (timeMs - i.meanMs / 2)) - 1e-6));
  return { ...out, waitersNeeded: needed, more: Math.max(0, needed - i.waiters), reason: null };
}
