import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { duration, print, state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import type { State } from '../order.js';
import { clean, cleanOutputs } from '../kitchen/clean.js';
import { counted } from '../words.js';

export const describe = 'Delete the orders of the list (only those of one state with --status); --outputs frees their live output and result files and keeps them';

export function builder(y: Argv) {
  return y
    .option('status', { type: 'string', describe: 'Only orders in this state (READY, RUNNING, DONE, ERROR, WAITING)' })
    .option('outputs', { type: 'boolean', describe: 'Keep the orders; delete only their live output (waiter logs) and result files (waiter gather)' })
    .option('older-than', { type: 'string', describe: 'With --outputs: only of orders that finished longer ago than this (e.g. 7d)' });
}

export interface CleanOptions {
  status?: State;
  outputs?: boolean;
  olderThanMs?: number;
}

export function options(argv: Record<string, unknown>): CleanOptions {
  const o: CleanOptions = argv.status === undefined ? {} : { status: state('status', argv.status) };
  if (argv.outputs) o.outputs = true;
  if (argv['older-than'] !== undefined) {
    if (!o.outputs) throw new UsageError('--older-than goes with --outputs (clean deletes orders by state only)');
    o.olderThanMs = duration('older-than', argv['older-than']);
  }
  return o;
}

export async function run(g: Globals, o: CleanOptions, io: IO): Promise<CommandResult> {
  if (o.outputs) {
    const before = o.olderThanMs !== undefined ? new Date(Date.now() - o.olderThanMs) : undefined;
    const r = await withKitchen(g, (k) => cleanOutputs(k, { ...(o.status ? { status: o.status } : {}), ...(before ? { before } : {}) }));
    const of = r.orders === undefined ? 'every order' : counted(r.orders, 'order');
    print(io.stdout, `Freed the output of ${of} (${counted(r.slots, 'document')})${r.files ? ` and ${counted(r.files, 'result file')}` : ''}; the orders are kept.`);
    return {};
  }
  const n = await withKitchen(g, (k) => clean(k, o.status));
  print(io.stdout, `Cleaned ${counted(n, 'order')}.`);
  return {};
}
