// waiter reset [ids…] [--where name=value] [--failed-with TEXT] [--status S] [--dry-run]: argv
// -> a ResetRequest -> src/app/reset.ts -> one line with exact counts.
import type { Argv } from 'yargs';
import { duration, print, state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { RESETTABLE, resetOrders, type ResetReport, type ResetRequest } from '../app/reset.js';
import { selectionArgs, selectionBuilder } from './selection.js';
import { steerLine } from './steer.js';

export const describe = 'Put ERROR and stale RUNNING orders back to READY (CANCELLED ones with --status CANCELLED); ids, --where or --failed-with: only those';

export function builder(y: Argv) {
  return selectionBuilder(y, 'reset')
    .option('status', { type: 'string', describe: 'Only reset orders in this state (ERROR, RUNNING, or CANCELLED: never reset unless named)' })
    .option('force', { type: 'boolean', describe: 'Also reset RUNNING orders whose waiter is still alive' })
    .option('older-than', { type: 'string', describe: 'Reset RUNNING orders started longer ago than this (e.g. 2h), alive or not' })
    .option('dry-run', { type: 'boolean', describe: 'Print how many orders would be reset and the first ids; change nothing' });
}

export type ResetOptions = ResetRequest;

export function options(argv: Record<string, unknown>): ResetOptions {
  // --status is reset's own (the states it takes); the selection narrows them to some orders.
  // Named, it is a selection too: none to reset in it is refused (exit 2).
  const o: ResetOptions = { ...selectionArgs(argv, 'reset'), force: Boolean(argv.force) };
  if (argv.status !== undefined) o.statuses = [state('status', argv.status, RESETTABLE)];
  if (argv['older-than'] !== undefined) o.olderThanMs = duration('older-than', argv['older-than']);
  if (argv['dry-run']) o.dryRun = true;
  return o;
}

export async function run(g: Globals, o: ResetOptions, io: IO): Promise<CommandResult> {
  const now = new Date();
  const r = await withKitchen(g, (k) => resetOrders(k, o, now));
  print(io.stdout, resetLine(r));
  return {};
}

/** `Reset 3 orders (2 still running, left alone)`, or with a dry run `Would reset 3 orders (…): <ids> and 1 more; nothing changed`. */
export function resetLine(r: ResetReport): string {
  const alone = r.leftAlone ? `${r.leftAlone.toLocaleString('en-US')} still running, left alone` : '';
  return steerLine({ would: 'reset', did: 'Reset' }, { changed: r.reset, dryRun: r.dryRun, ...(r.ids ? { ids: r.ids } : {}) }, [alone]);
}
