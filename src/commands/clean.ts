import type { Argv } from 'yargs';
import { duration, print, state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { checkClean, cleanOrders, type CleanRequest } from '../app/clean.js';
import { counted } from '../words.js';

export const describe =
  "Delete the orders of the list (only those of one state with --status); --outputs frees their live output, result files and finished ones' checkpoints, and keeps them";

export function builder(y: Argv) {
  return y
    .option('status', { type: 'string', describe: 'Only orders in this state (READY, RUNNING, DONE, ERROR, WAITING, CANCELLED, HELD)' })
    .option('outputs', {
      type: 'boolean',
      describe: 'Keep the orders; delete only their live output (waiter logs), result files (waiter gather) and, of finished ones (DONE, ERROR, CANCELLED), checkpoints',
    })
    .option('older-than', { type: 'string', describe: 'With --outputs: only of orders that finished longer ago than this (e.g. 7d)' });
}

export type CleanOptions = CleanRequest;

export function options(argv: Record<string, unknown>): CleanOptions {
  const o: CleanOptions = argv.status === undefined ? {} : { status: state('status', argv.status) };
  if (argv.outputs) o.outputs = true;
  if (argv['older-than'] !== undefined) {
    // Its place is refused before its value is read.
    if (!o.outputs) checkClean({ ...o, olderThanMs: 0 });
    o.olderThanMs = duration('older-than', argv['older-than']);
  }
  return o;
}

export async function run(g: Globals, o: CleanOptions, io: IO): Promise<CommandResult> {
  const now = new Date();
  const r = await withKitchen(g, (k) => cleanOrders(k, o, now));
  if ('orders' in r) {
    print(io.stdout, `Cleaned ${counted(r.orders, 'order')}.`);
    return {};
  }
  const { orders, slots, files, checkpoints } = r.outputs;
  const of = orders === undefined ? 'every order' : counted(orders, 'order');
  const also = [files ? counted(files, 'result file') : '', checkpoints ? counted(checkpoints, 'checkpoint') : ''].filter(Boolean);
  const tail = also.length === 0 ? '' : also.length === 1 ? ` and ${also[0]}` : `, ${also[0]} and ${also[1]}`;
  print(io.stdout, `Freed the output of ${of} (${counted(slots, 'document')})${tail}; the orders are kept.`);
  return {};
}
