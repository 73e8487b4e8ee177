// waiter hold <id…> | --status S | --where name=value | --failed-with TEXT: argv -> a
// HoldRequest -> src/app/hold.ts -> one line with exact counts (as cancel's).
import type { Argv } from 'yargs';
import { HOLDABLE } from '../order.js';
import { holdOrders, type HoldReport, type HoldRequest } from '../app/hold.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { steerBuilder, steerLine, steerOptions, stoppedParts, type Verb } from './steer.js';

export const describe = 'Hold orders (READY, WAITING or RUNNING: a running one is stopped by its waiter within one heartbeat, and runs again once released) until waiter release';

const HOLD: Verb = { verb: 'hold', past: 'held', states: HOLDABLE };

export function builder(y: Argv) {
  return steerBuilder(y, HOLD);
}

export type HoldOptions = HoldRequest;

export function options(argv: Record<string, unknown>): HoldOptions {
  return steerOptions(argv, HOLD);
}

export async function run(g: Globals, o: HoldOptions, io: IO): Promise<CommandResult> {
  const r = await withKitchen(g, (k) => holdOrders(k, o));
  print(io.stdout, holdLine(r));
  return {};
}

/** `Held 3 orders (1 running: its waiter stops it within one heartbeat; 2 already held, left alone)`. */
export function holdLine(r: HoldReport): string {
  const p = stoppedParts(r, 'holding');
  const already = r.already ? `${r.already.toLocaleString('en-US')} already held, left alone` : '';
  return steerLine({ would: 'hold', did: 'Held' }, { ...r, changed: r.held }, [p.running, p.stale, p.finished, already, p.busy]);
}
