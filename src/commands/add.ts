import type { Argv } from 'yargs';
import { checkColumnNames } from '../csv.js';
import { UsageError } from '../errors.js';
import { argvProblem } from '../limits.js';
import { waitOptions } from '../pipeline/wait.js';
import { addOne, type AddRequest } from '../app/add.js';
import { moment, print, priority, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Add one order with these arguments, READY (or WAITING with --after, until what it waits for is done) (use -- before arguments that start with -)';

export function builder(y: Argv) {
  return y
    .positional('args', { type: 'string', array: true, describe: "The order's arguments" })
    .option('field', { type: 'string', array: true, describe: 'A named argument, name=value (repeat it; instead of positional arguments): {name} in deliver' })
    .option('unique', { type: 'boolean', describe: 'Add nothing if an order with these arguments is already in the list' })
    .option('at', { type: 'string', describe: 'Not to be taken before this time: +30m, +2h, or 2026-12-01T06:00:00Z' })
    .option('priority', { type: 'string', describe: 'Claimed before orders of a lower priority (a whole number, default 0)' })
    .option('after', { type: 'string', array: true, describe: 'WAITING until these orders (ids, comma-separated; in the list now) are DONE' })
    .option('after-any', { type: 'string', array: true, describe: 'WAITING until these orders have finished, DONE or ERROR' })
    .option('after-all', { type: 'boolean', describe: 'WAITING until every order in the list now is DONE' });
}

/** add's options that take a value (src/cli.ts must not mistake the value for the order's arguments). */
export const valueFlags = ['--at', '--field', '--priority', '--after', '--after-any'];

export type AddOptions = AddRequest;

export function options(argv: Record<string, unknown>, rest: string[]): AddOptions {
  const o = fieldsOf(argv, rest);
  const tooLong = argvProblem(o.args, (i) => (o.names ? `--field ${o.names[i]}` : `argument ${i + 1}`));
  if (tooLong) throw new UsageError(`add: ${tooLong}; nothing added`);
  if (argv.priority !== undefined) o.priority = priority('priority', argv.priority);
  const wait = waitOptions(argv);
  if (wait) o.wait = wait;
  return argv.at === undefined ? o : { ...o, at: moment('at', argv.at) };
}

function fieldsOf(argv: Record<string, unknown>, rest: string[]): AddOptions {
  const args = [...((argv.args as unknown[] | undefined) ?? []), ...rest].map(String);
  const fields = ((argv.field as unknown[] | undefined) ?? []).map(String);
  const unique = Boolean(argv.unique);
  if (fields.length === 0) return { args, unique };
  if (args.length > 0) throw new UsageError('add: give the arguments either as --field name=value or positionally, not both');
  const names: string[] = [];
  const values: string[] = [];
  for (const f of fields) {
    const eq = f.indexOf('=');
    if (eq < 1) throw new UsageError(`--field: '${f}' is not name=value`);
    names.push(f.slice(0, eq));
    values.push(f.slice(eq + 1));
  }
  try {
    checkColumnNames(names, '--field');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { args: values, names, unique };
}

export async function run(g: Globals, o: AddOptions, io: IO): Promise<CommandResult> {
  const added = await withKitchen(g, (k) => addOne(k, o));
  if (!added) print(io.stdout, 'Added nothing: an order with these arguments is already in the list');
  // With --after…, its state as read after the add: what it waits for may be done already (READY at once).
  else print(io.stdout, `Added order ${added.id.toHexString()}${o.wait ? ` (${added.status})` : ''}`);
  return {};
}
