// waiter edit <id…> | --status S | --where name=value | --failed-with TEXT, with --priority N
// and/or --at TIME: argv -> an EditRequest -> src/app/edit.ts -> one line with exact counts.
import type { Argv } from 'yargs';
import { EDITABLE } from '../order.js';
import { editOrders, type EditReport, type EditRequest } from '../app/edit.js';
import { moment, print, priority, withKitchen, type CommandResult, type Globals, type IO } from './common.js';
import { steerBuilder, steerLine, steerOptions, type Verb } from './steer.js';

export const describe = `Change the priority or --at of orders not yet taken (${EDITABLE.join(', ')}): the next claims follow at once`;

const EDIT: Verb = { verb: 'edit', past: 'edited', states: EDITABLE };

export function builder(y: Argv) {
  return steerBuilder(y, EDIT)
    .option('priority', { type: 'string', describe: 'Their new priority: claimed before orders of a lower one (a whole number; 0 is the default)' })
    .option('at', { type: 'string', describe: 'Not to be taken before this time: +30m, +2h, or 2026-12-01T06:00:00Z (a WAITING or HELD order: once released)' });
}

export type EditOptions = EditRequest;

export function options(argv: Record<string, unknown>, now = new Date()): EditOptions {
  const o: EditOptions = steerOptions(argv, EDIT);
  // add's and load's parsers: the same range (MAX_PRIORITY) and horizon (HORIZON_YEARS).
  if (argv.priority !== undefined) o.priority = priority('priority', argv.priority);
  if (argv.at !== undefined) o.at = moment('at', argv.at, now);
  return o;
}

export async function run(g: Globals, o: EditOptions, io: IO): Promise<CommandResult> {
  const r = await withKitchen(g, (k) => editOrders(k, o));
  print(io.stdout, editLine(r));
  return {};
}

/** `Edited 3 orders (1 running, left alone; 2 finished, left alone)`. */
export function editLine(r: EditReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = [
    r.running ? `${n(r.running)} running, left alone` : '',
    r.finished ? `${n(r.finished)} finished, left alone` : '',
    r.meanwhile ? `${n(r.meanwhile)} taken by a waiter (or held, released) meanwhile, left alone` : '',
  ];
  return steerLine({ would: 'edit', did: 'Edited' }, { ...r, changed: r.edited }, parts);
}
