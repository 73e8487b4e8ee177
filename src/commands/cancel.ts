// waiter cancel <id…> | --status S | --where name=value | --failed-with TEXT: argv -> a
// CancelRequest -> src/app/cancel.ts -> one line with exact counts.
import type { Argv } from 'yargs';
import { CANCELLABLE } from '../order.js';
import { cancelOrders, type CancelReport, type CancelRequest } from '../app/cancel.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { steerBuilder, steerLine, steerOptions, stoppedParts, type Verb } from './steer.js';

export const describe = 'Cancel orders (READY, WAITING, HELD or RUNNING: a running one is stopped by its waiter within one heartbeat); they stay in the list as CANCELLED';

const CANCEL: Verb = { verb: 'cancel', past: 'cancelled', states: CANCELLABLE };

export function builder(y: Argv) {
  return steerBuilder(y, CANCEL).option('with-dependants', {
    type: 'boolean',
    describe: 'Also cancel the orders that wait on these (add --after, --after-all), WAITING or held, transitively',
  });
}

export type CancelOptions = CancelRequest;

export function options(argv: Record<string, unknown>): CancelOptions {
  const o: CancelOptions = steerOptions(argv, CANCEL);
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
  const p = stoppedParts(r, 'cancelling');
  const dependants = r.dependants ? `${r.dependants.toLocaleString('en-US')} waiting on them` : '';
  return steerLine({ would: 'cancel', did: 'Cancelled' }, { ...r, changed: r.cancelled }, [p.running, p.stale, dependants, p.finished, p.busy]);
}
