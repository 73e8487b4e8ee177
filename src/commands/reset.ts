// waiter reset [ids…] [--where name=value] [--failed-with TEXT] [--status S]: argv -> a
// ResetRequest -> src/app/reset.ts -> one line with exact counts.
import type { Argv } from 'yargs';
import type { State } from '../order.js';
import { duration, print, state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { counted } from '../words.js';
import { RESETTABLE, RESET_BY_DEFAULT, resetOrders, type ResetRequest } from '../app/reset.js';
import { selectionArgs, selectionBuilder } from './selection.js';

export const describe = 'Put ERROR and stale RUNNING orders back to READY (CANCELLED ones with --status CANCELLED); ids, --where or --failed-with: only those';

export function builder(y: Argv) {
  return selectionBuilder(y, 'reset')
    .option('status', { type: 'string', describe: 'Only reset orders in this state (ERROR, RUNNING, or CANCELLED: never reset unless named)' })
    .option('force', { type: 'boolean', describe: 'Also reset RUNNING orders whose waiter is still alive' })
    .option('older-than', { type: 'string', describe: 'Reset RUNNING orders started longer ago than this (e.g. 2h), alive or not' });
}

export type ResetOptions = ResetRequest;

export function options(argv: Record<string, unknown>): ResetOptions {
  const statuses: State[] = argv.status === undefined ? [...RESET_BY_DEFAULT] : [state('status', argv.status, RESETTABLE)];
  // --status is reset's own (the states it takes); the selection narrows them to some orders.
  const o: ResetOptions = { ...selectionArgs(argv, 'reset'), statuses, force: Boolean(argv.force) };
  if (argv['older-than'] !== undefined) o.olderThanMs = duration('older-than', argv['older-than']);
  return o;
}

export async function run(g: Globals, o: ResetOptions, io: IO): Promise<CommandResult> {
  const now = new Date();
  const { reset, leftAlone } = await withKitchen(g, (k) => resetOrders(k, o, now));
  print(io.stdout, leftAlone > 0 ? `Reset ${counted(reset, 'order')} (${leftAlone.toLocaleString('en-US')} still running, left alone)` : `Reset ${counted(reset, 'order')}`);
  return {};
}
