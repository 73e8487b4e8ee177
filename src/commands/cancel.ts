// waiter cancel <id…> | --status S | --where name=value | --failed-with TEXT: argv -> a
// CancelRequest -> src/app/cancel.ts -> one line with exact counts.
import type { Argv } from 'yargs';
import { CANCELLABLE } from '../order.js';
import { cancelOrders, type CancelReport, type CancelRequest } from '../app/cancel.js';
import { cliUser } from '../app/who.js';
import { counted } from '../words.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { selectionArgs, selectionBuilder } from './selection.js';

export const describe = 'Cancel orders (READY, WAITING or RUNNING: a running one is stopped by its waiter within one heartbeat); they stay in the list as CANCELLED';

export function builder(y: Argv) {
  return selectionBuilder(y, 'cancel', CANCELLABLE)
    .option('dry-run', { type: 'boolean', describe: 'Print how many orders would be cancelled and the first ids; change nothing' })
    .option('reason', { type: 'string', describe: 'Why: kept with the order and shown by show' })
    .option('with-dependants', { type: 'boolean', describe: 'Also cancel the WAITING orders that wait on these (add --after, --after-all), transitively' });
}

export type CancelOptions = CancelRequest;

export function options(argv: Record<string, unknown>): CancelOptions {
  const o: CancelOptions = { ...selectionArgs(argv, 'cancel', CANCELLABLE), by: cliUser() };
  if (argv['dry-run']) o.dryRun = true;
  if (argv.reason !== undefined && String(argv.reason).trim() !== '') o.reason = String(argv.reason);
  if (argv['with-dependants']) o.withDependants = true;
  return o;
}

export async function run(g: Globals, o: CancelOptions, io: IO): Promise<CommandResult> {
  const r = await withKitchen(g, (k) => cancelOrders(k, o));
  print(io.stdout, cancelLine(r));
  return {};
}

/** `Cancelled 3 orders (1 running: its waiter stops it within one heartbeat; 2 already finished, left alone)`. */
export function cancelLine(r: CancelReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  if (r.dryRun) {
    const parts = [
      r.running ? `${n(r.running)} running` : '',
      r.dependants ? `${n(r.dependants)} waiting on them` : '',
      r.finished ? `${n(r.finished)} finished, left alone` : '',
    ].filter(Boolean);
    const ids = r.ids ?? [];
    const more = r.cancelled - ids.length - r.dependants;
    return `Would cancel ${counted(r.cancelled, 'order')}${parts.length ? ` (${parts.join('; ')})` : ''}: ${ids.join(', ')}${more > 0 ? ` and ${n(more)} more` : ''}${r.dependants ? ' (and the dependants)' : ''}; nothing changed`;
  }
  const parts = [
    r.running ? `${n(r.running)} running: ${r.running === 1 ? 'its waiter stops it' : 'their waiters stop them'} within one heartbeat` : '',
    r.stale ? `${n(r.stale)} ${r.stale === 1 ? 'was stale: its waiter is' : 'were stale: their waiters are'} gone` : '',
    r.dependants ? `${n(r.dependants)} waiting on them` : '',
    r.finished ? `${n(r.finished)} already finished, left alone` : '',
    r.busy ? `${n(r.busy)} taken over while cancelling, left alone: try again` : '',
  ].filter(Boolean);
  return `Cancelled ${counted(r.cancelled, 'order')}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}
