// What every subcommand shares: the global options, opening the kitchen, printing.
// The typed parsing of option values lives below both commands and serve (src/values.ts).
import { hostname } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { Kitchen } from '../kitchen.js';

export { duration, durationText, moment, positiveInt, priority, state, timer } from '../values.js';

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

export function print(out: Writable, line: string): void {
  out.write(`${line}\n`);
}
