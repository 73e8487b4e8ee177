// Typed parsing of option values, shared by the commands and serve's API (each
// failure a UsageError naming the option). Below both: it imports neither.
import ms from 'ms';
import { UsageError } from './errors.js';
import { MAX_PRIORITY, STATES, isState, type State } from './order.js';

/** A bare number in a duration option means seconds. */
const SECONDS = /^\d+(\.\d+)?$/;

/**
 * How far ahead --at may be, and how long any duration: further is a typo, not a plan
 * (and far enough on, now + it is no date at all: stored, it read as 1970, due at once).
 */
export const HORIZON_YEARS = 10;
export const HORIZON_MS = HORIZON_YEARS * 365.25 * 86_400_000;

/** --at or "at" beyond HORIZON_YEARS ahead (serve's API words it as its own). */
export class BeyondHorizon extends UsageError {}

/** A duration such as 500ms, 30s, 5m, 2h; a bare number is seconds. At most HORIZON_YEARS. */
export function duration(option: string, value: unknown): number {
  const text = String(value).trim();
  const n = parseDuration(text);
  if (n === undefined) throw new UsageError(`--${option}: '${text}' is not a duration (try 30s, 5m, 2h)`);
  if (n > HORIZON_MS) throw new UsageError(`--${option}: '${text}' is longer than ${HORIZON_YEARS} years`);
  return n;
}

/** The longest a timer (setTimeout, setInterval, AbortSignal.timeout) waits: 2^31-1 ms, ~24.8 days; Node fires a longer one after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration a timer waits for: whole ms (rounded up: some of Node's options take no fraction), at most MAX_TIMER_MS. */
export function timerDuration(option: string, value: unknown): number {
  const n = Math.ceil(duration(option, value));
  if (n > MAX_TIMER_MS) throw new UsageError(`--${option}: at most ${Math.floor(MAX_TIMER_MS / 86_400_000)} days`);
  return n;
}

function parseDuration(text: string): number | undefined {
  if (text === '') return undefined; // ms('') throws rather than saying no
  const n = SECONDS.test(text) ? Number(text) * 1000 : ms(text as ms.StringValue);
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** How a duration reads in messages: the user's own words, with "s" for a bare number. */
export function durationText(value: unknown): string {
  const text = String(value).trim();
  return SECONDS.test(text) ? `${text}s` : text;
}

/**
 * A moment for --at: `+<duration>` from now (+90s, +2h), or a date-time Date.parse
 * reads (2026-12-01T06:00:00Z; without a zone, local time); at most HORIZON_YEARS ahead.
 */
export function moment(option: string, value: unknown, now = new Date()): Date {
  const text = String(value).trim();
  const plus = text.startsWith('+') ? parseDuration(text.slice(1)) : undefined;
  const t = plus !== undefined ? +now + plus : /\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(t)) throw new UsageError(`--${option}: '${text}' is not a time (try +30m or 2026-12-01T06:00:00Z)`);
  if (t - +now > HORIZON_MS) throw new BeyondHorizon(`--${option}: '${text}' is more than ${HORIZON_YEARS} years ahead (the furthest --${option} can be)`);
  return new Date(t);
}

const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2}))?(z)?$/i;

/**
 * A time to finish by (status --finish-by): a clock time (18:00, 18:00:30; local, or UTC
 * with Z) taken as its next coming, a date-time or +duration as --at reads them (a past
 * date-time is returned as it is: the caller says it is past), or a duration from now (3h).
 */
export function deadline(option: string, value: unknown, now = new Date()): Date {
  const text = String(value).trim();
  const clock = CLOCK.exec(text);
  if (clock) {
    const [h, m, s] = [clock[1], clock[2], clock[3] ?? '0'].map(Number) as [number, number, number];
    if (h > 23 || m > 59 || s > 59) throw new UsageError(`--${option}: '${text}' is not a time of day`);
    const at = new Date(now);
    if (clock[4]) at.setUTCHours(h, m, s, 0);
    else at.setHours(h, m, s, 0);
    // Passed today: the same time tomorrow (by the calendar: a DST change keeps 18:00 at 18:00).
    if (+at <= +now) {
      if (clock[4]) at.setUTCDate(at.getUTCDate() + 1);
      else at.setDate(at.getDate() + 1);
    }
    return at;
  }
  if (text.startsWith('+') || /\d{4}-\d{2}-\d{2}/.test(text)) return moment(option, text, now);
  if (parseDuration(text) === undefined) throw new UsageError(`--${option}: '${text}' is not a time or a duration (try 18:00, 2026-12-07T18:00Z or 3h)`);
  return new Date(+now + duration(option, text));
}

/** load/add --priority: a whole number within ±MAX_PRIORITY; higher is claimed first. */
export function priority(option: string, value: unknown): number {
  const text = String(value).trim();
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || Math.abs(n) > MAX_PRIORITY) {
    throw new UsageError(`--${option}: '${String(value)}' is not a whole number from -${MAX_PRIORITY.toLocaleString('en-US')} to ${MAX_PRIORITY.toLocaleString('en-US')}`);
  }
  return n;
}

export function positiveInt(option: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${option}: '${String(value)}' is not a whole number ≥ 1`);
  return n;
}

export function state(option: string, value: unknown, allowed: readonly State[] = STATES): State {
  const s = String(value).toUpperCase();
  if (!isState(s) || !allowed.includes(s)) throw new UsageError(`--${option}: '${String(value)}' is not one of ${allowed.join(', ')}`);
  return s;
}
