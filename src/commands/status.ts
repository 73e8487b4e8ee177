import type { Argv } from 'yargs';
import { STATES } from '../order.js';
import { print, withKitchen, type CommandResult, type Globals, type IO } from './common.js';

export const describe = 'Show how many orders are in each state';

export function builder(y: Argv) {
  return y.option('json', { type: 'boolean', describe: 'Print one JSON object: {"READY":n,"RUNNING":n,"DONE":n,"ERROR":n,"total":n,"stale":n,"notYetDue":n,"nextDue":iso|null}' });
}

export interface StatusOptions {
  json: boolean;
}

export function options(argv: Record<string, unknown>): StatusOptions {
  return { json: Boolean(argv.json) };
}

export async function run(g: Globals, o: StatusOptions, io: IO): Promise<CommandResult> {
  const counts = await withKitchen(g, (k) => k.counts());
  if (o.json) {
    print(io.stdout, JSON.stringify(counts));
    return {};
  }
  const rows: [string, number][] = STATES.map((s) => [s, counts[s]]);
  rows.push(['total', counts.total]);
  const width = Math.max(...rows.map(([, n]) => String(n).length));
  for (const [label, n] of rows) {
    const note =
      label === 'RUNNING' && counts.stale > 0
        ? `  (${counts.stale} stale)`
        : label === 'READY' && counts.notYetDue > 0
          ? `  (${counts.notYetDue} not yet due, the next at ${counts.nextDue?.toISOString()})`
          : '';
    print(io.stdout, `${label.padEnd(8)} ${String(n).padStart(width)}${note}`);
  }
  return {};
}
