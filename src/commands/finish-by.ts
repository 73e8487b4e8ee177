// status --finish-by <time|duration>: the option and its line (src/sizing.ts does the sums).
import { span } from '../fleet.js';
import type { FinishBy } from '../sizing.js';
import type { StatusReport } from '../app/status.js';
import { deadline } from '../values.js';
import { counted } from '../words.js';

export const finishByOption = {
  type: 'string',
  describe:
    'How many more waiters of the current shape (slots per live waiter) finish the orders due now by this time: 18:00 (local, its next coming; 18:00Z for UTC), 2026-12-07T18:00Z, or a duration from now (3h); from the measured pace, or says why it cannot tell. --json: finishBy {at, waitersNeeded, more, reason, basis}',
} as const;

/**
 * The time --finish-by names, as of `now`: read at the door (a bad value is exit 2 before
 * the kitchen is reached), and again as of status's first read (`3h` is three hours from then).
 */
export function finishByAt(argv: Record<string, unknown>, now = new Date()): ((now: Date) => Date) | undefined {
  const value = argv['finish-by'];
  if (value === undefined) return undefined;
  deadline('finish-by', value, now);
  return (at) => deadline('finish-by', value, at);
}

/** status's line for it: the answer and what it rests on, or why there is none. */
export function finishByLine(f: FinishBy, r: StatusReport, now: Date): string {
  const b = f.basis;
  const ms = Date.parse(f.at) - +now;
  const head = `finish by ${f.at.replace(/\.\d+Z$/, 'Z')} (${ms > 0 ? `in ${span(ms)}` : `${span(-ms)} ago`}): `;
  const out = [r.notYetDue > 0 ? `${r.notYetDue} not yet due` : '', r.WAITING > 0 ? `${r.WAITING} WAITING` : '', r.HELD > 0 ? `${r.HELD} HELD` : ''].filter(Boolean);
  const later = out.length ? `; ${out.join(', ')} not counted` : '';
  // Too soon: the two figures that say so.
  const soon = f.reason?.startsWith('too soon') ? ` (${span((b.meanRunSeconds ?? 0) * 1000)} per order, ${span(ms)} left)` : '';
  if (f.waitersNeeded === null) return head + (f.more === 0 ? `no more waiters: ${f.reason}` : `cannot say: ${f.reason}${soon}`) + later;
  const shape = `${b.slotsPerWaiter} slot${b.slotsPerWaiter === 1 ? '' : 's'} each`;
  const basis = `${counted(b.left, 'order')} left at ${b.perWaiterPace}/min per waiter, ${span((b.meanRunSeconds ?? 0) * 1000)} per order on average`;
  const answer =
    f.more! > 0
      ? `${counted(f.more!, 'more waiter')}, ${f.waitersNeeded} in all (${shape}, as the ${b.waiters} live)`
      : `no more waiters: the ${counted(b.waiters, 'live one')} ${b.waiters === 1 ? 'is' : 'are'} enough (${f.waitersNeeded} would do)`;
  return `${head}${answer}: ${basis}${later}`;
}
