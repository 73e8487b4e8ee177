import type { Argv } from 'yargs';
import { print, state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import type { State } from '../order.js';
import { counted } from '../words.js';

export const describe = 'Delete the orders of the list (only those of one state with --status)';

export function builder(y: Argv) {
  return y.option('status', { type: 'string', describe: 'Only delete orders in this state (READY, RUNNING, DONE, ERROR)' });
}

export interface CleanOptions {
  status?: State;
}

export function options(argv: Record<string, unknown>): CleanOptions {
  return argv.status === undefined ? {} : { status: state('status', argv.status) };
}

export async function run(g: Globals, o: CleanOptions, io: IO): Promise<CommandResult> {
  const n = await withKitchen(g, (k) => k.clean(o.status));
  print(io.stdout, `Cleaned ${counted(n, 'order')}.`);
  return {};
}
