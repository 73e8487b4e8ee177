// What every subcommand shares: the global options, opening the kitchen, and the
// typed parsing of option values (each failure a UsageError naming the option).
import { hostname } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import ms from 'ms';
import { UsageError } from '../errors.js';
import { Kitchen } from '../kitchen.js';
import { STATES, isState, type State } from '../order.js';

export const DEFAULT_KITCHEN = 'mongodb://127.0.0.1:27017';

export interface Globals {
  kitchen: string;
  db: string;
  list: string;
  name: string;
}

export interface IO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** What a command reports back to the entry point, which alone turns it into an exit status. */
export interface CommandResult {
  /** Some delivered order ended in ERROR. */
  failedOrders?: boolean;
  /** The command stopped because of this signal. */
  signal?: NodeJS.Signals;
  /** deliver stopped itself: its box cannot run orders, or too many failed in a row. */
  stopped?: 'box' | 'breaker';
}

/**
 * Global options: the flag wins, then the environment variable, then the default.
 * An empty or blank value given is a usage error, never the default: `-l "$LIST" clean`
 * with $LIST unset must not clean the list `orders`.
 */
export function globals(argv: Record<string, unknown>, env: NodeJS.ProcessEnv): Globals {
  const pick = (key: string, envName: string, fallback: string) => {
    const flag = argv[key];
    if (flag !== undefined) {
      const v = String(flag);
      if (v.trim() === '') throw new UsageError(`--${key} is empty (an unset variable?): give a value or leave the option out`);
      return v;
    }
    const v = env[envName];
    if (v === undefined) return fallback;
    if (v.trim() === '') throw new UsageError(`${envName} is set but empty: give it a value or unset it`);
    return v;
  };
  const g = {
    kitchen: pick('kitchen', 'WAITER_KITCHEN', DEFAULT_KITCHEN),
    db: pick('db', 'WAITER_DB', 'waiter'),
    list: pick('list', 'WAITER_LIST', 'orders'),
    name: pick('name', 'WAITER_NAME', `${hostname()}/${process.pid}`),
  };
  if (!/^[^/\\. "$*<>:|?]+$/.test(g.db)) throw new UsageError(`--db: invalid database name '${g.db}'`);
  if (!/^[^$\0]+$/.test(g.list) || g.list.startsWith('system.')) throw new UsageError(`--list: invalid list name '${g.list}'`);
  return g;
}

export async function withKitchen<T>(g: Globals, fn: (k: Kitchen) => Promise<T>): Promise<T> {
  const kitchen = await Kitchen.open({ uri: g.kitchen, db: g.db, list: g.list });
  try {
    return await kitchen.guard('the operation', () => fn(kitchen));
  } finally {
    await kitchen.close().catch(() => undefined);
  }
}

/** A bare number in a duration option means seconds. */
const SECONDS = /^\d+(\.\d+)?$/;

/** A duration such as 500ms, 30s, 5m, 2h; a bare number is seconds. */
export function duration(option: string, value: unknown): number {
  const text = String(value).trim();
  const n = SECONDS.test(text) ? Number(text) * 1000 : ms(text as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${option}: '${text}' is not a duration (try 30s, 5m, 2h)`);
  }
  return n;
}

/** How a duration reads in messages: the user's own words, with "s" for a bare number. */
export function durationText(value: unknown): string {
  const text = String(value).trim();
  return SECONDS.test(text) ? `${text}s` : text;
}

/**
 * A moment for --at: `+<duration>` from now (+90s, +2h), or a date-time Date.parse
 * reads (2026-12-01T06:00:00Z; without a zone, local time).
 */
export function moment(option: string, value: unknown, now = new Date()): Date {
  const text = String(value).trim();
  if (text.startsWith('+')) return new Date(+now + duration(option, text.slice(1)));
  const t = /\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(t)) throw new UsageError(`--${option}: '${text}' is not a time (try +30m or 2026-12-01T06:00:00Z)`);
  return new Date(t);
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

export function print(out: Writable, line: string): void {
  out.write(`${line}\n`);
}
