// waiter cancel <id…> | --status S | --where name=value | --failed-with TEXT: argv -> a
// CancelRequest -> src/app/cancel.ts -> one line with exact counts.
import type { Argv } from 'yargs';
import { InputError, UsageError } from '../errors.js';
import { CANCELLABLE, orderId } from '../order.js';
import { cancelOrders, type CancelReport, type CancelRequest } from '../app/cancel.js';
import { whereOf } from '../app/selection.js';
import { cliUser } from '../app/who.js';
import { counted } from '../words.js';
import { print, state, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Cancel orders (READY, WAITING or RUNNING: a running one is stopped by its waiter within one heartbeat); they stay in the list as CANCELLED';

export function builder(y: Argv) {
  return y
    .positional('ids', { type: 'string', array: true, describe: 'The orders to cancel (24 hex digits each)' })
    .option('status', { type: 'string', describe: `Cancel the orders in this state (${CANCELLABLE.join(', ')})` })
    .option('where', {
      type: 'string',
      array: true,
      describe: 'Only orders whose named column (load --header, add --field) equals the value: name=value; or 1=value for the first argument (repeatable: all must hold)',
    })
    .option('failed-with', { type: 'string', describe: 'Only orders whose error contains this text (literally, not a pattern)' })
    .option('dry-run', { type: 'boolean', describe: 'Print how many orders would be cancelled and the first ids; change nothing' })
    .option('reason', { type: 'string', describe: 'Why: kept with the order and shown by show' })
    .option('with-dependants', { type: 'boolean', describe: 'Also cancel the WAITING orders that wait on these (add --after, --after-all), transitively' });
}

export type CancelOptions = CancelRequest;

export function options(argv: Record<string, unknown>): CancelOptions {
  const ids = ((argv.ids as unknown[] | undefined) ?? []).map((x) => {
    try {
      return orderId(String(x).trim());
    } catch (err) {
      // An id that cannot be one is refused like an unknown one: exit 2, nothing changed.
      throw err instanceof InputError ? new UsageError(`cancel: ${err.message}`) : err;
    }
  });
  const o: CancelOptions = { by: cliUser() };
  if (ids.length) o.ids = ids;
  if (argv.status !== undefined) o.status = state('status', argv.status, CANCELLABLE);
  const where = (argv.where as unknown[] | undefined) ?? [];
  if (where.length) o.where = where.map((w) => whereOf(String(w)));
  if (argv['failed-with'] !== undefined) {
    const t = String(argv['failed-with']);
    if (t === '') throw new UsageError('--failed-with is empty: give some text of the error');
    o.failedWith = t;
  }
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
