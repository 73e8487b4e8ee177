// What every subcommand shares: the global options, opening the kitchen, printing.
// The typed parsing of option values lives below both commands and serve (src/values.ts).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { Kitchen } from '../kitchen.js';
import { withoutSecrets } from '../kitchen/connect.js';

export { duration, durationText, moment, positiveInt, priority, state, timerDuration } from '../values.js';

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
    kitchen: kitchenOf(argv, env, () => pick('kitchen', 'WAITER_KITCHEN', DEFAULT_KITCHEN)),
    db: pick('db', 'WAITER_DB', 'waiter'),
    list: pick('list', 'WAITER_LIST', 'orders'),
    name: pick('name', 'WAITER_NAME', `${hostname()}/${process.pid}`),
  };
  if (!/^[^/\\. "$*<>:|?]+$/.test(g.db)) throw new UsageError(`--db: invalid database name '${g.db}'`);
  if (!/^[^$\0]+$/.test(g.list) || g.list.startsWith('system.')) throw new UsageError(`--list: invalid list name '${g.list}'`);
  return g;
}

/**
 * The kitchen: -k, else --kitchen-file, else the file WAITER_KITCHEN_FILE names, else
 * WAITER_KITCHEN, else the default. A file keeps the URI (and its password) out of ps
 * and out of the environment; one that cannot be read is a usage error, never the default.
 * With both variables set, WAITER_KITCHEN must name the file's kitchen (as written, or
 * with its secrets shown as ***, as deliver gives it to its orders): two different
 * kitchens are a usage error, not a silent pick.
 */
function kitchenOf(argv: Record<string, unknown>, env: NodeJS.ProcessEnv, plain: () => string): string {
  if (argv.kitchen !== undefined && argv['kitchen-file'] !== undefined) throw new UsageError('--kitchen and --kitchen-file: give one of them');
  if (argv.kitchen !== undefined) return plain();
  if (argv['kitchen-file'] !== undefined)
    return readKitchenFile(
      `--kitchen-file ${String(argv['kitchen-file'])}`,
      String(argv['kitchen-file']),
      '--kitchen-file is empty (an unset variable?): give a path or leave the option out',
    );
  const path = env.WAITER_KITCHEN_FILE;
  if (path === undefined) return plain();
  const uri = readKitchenFile(`WAITER_KITCHEN_FILE ${path}`, path, 'WAITER_KITCHEN_FILE is set but empty: give it a path or unset it');
  const named = env.WAITER_KITCHEN;
  if (named !== undefined && named !== uri && named !== withoutSecrets(uri)) {
    throw new UsageError('WAITER_KITCHEN and WAITER_KITCHEN_FILE name different kitchens: unset one of them');
  }
  return uri;
}

const READ_ERRORS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'a folder, not a file' };

function readKitchenFile(what: string, path: string, blank: string): string {
  if (path.trim() === '') throw new UsageError(blank);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new UsageError(`${what}: cannot read it (${READ_ERRORS[code] ?? (code || (err as Error).message)})`);
  }
  const uri = text.trim();
  if (uri === '') throw new UsageError(`${what}: the file is empty (it should hold the kitchen's URI)`);
  if (uri.includes('\n')) throw new UsageError(`${what}: more than one line (it should hold the kitchen's URI alone)`);
  return uri;
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
