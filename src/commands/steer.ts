// What cancel, hold, release and edit share on the command line: the selection's options
// (./selection.ts: ids | --status | --where | --failed-with) with --dry-run and --reason,
// their parsing into a request, and the one line that says what was (or would be) changed.
import type { Argv } from 'yargs';
import type { State } from '../order.js';
import type { SteerRequest } from '../app/steer.js';
import { cliUser } from '../app/who.js';
import { counted } from '../words.js';
import { selectionArgs, selectionBuilder } from './selection.js';

/** A steering command's words: `cancel`, `cancelled`, the states --status takes. */
export interface Verb {
  verb: string;
  past: string;
  states: readonly State[];
}

export function steerBuilder(y: Argv, v: Verb) {
  return selectionBuilder(y, v.verb, v.states)
    .option('dry-run', { type: 'boolean', describe: `Print how many orders would be ${v.past} and the first ids; change nothing` })
    .option('reason', { type: 'string', describe: 'Why: kept with the order and shown by show' });
}

/** The request of argv: the selection (its refusals: exit 2), who asks, --dry-run, --reason (as given: an empty one is refused by the use case). */
export function steerOptions(argv: Record<string, unknown>, v: Verb): SteerRequest {
  const o: SteerRequest = { ...selectionArgs(argv, v.verb, v.states), by: cliUser() };
  if (argv['dry-run']) o.dryRun = true;
  if (argv.reason !== undefined) o.reason = String(argv.reason);
  return o;
}

const n = (x: number) => x.toLocaleString('en-US');

/** What a line counts: the orders changed (or that would be), and what it says of them. */
export interface LineCounts {
  changed: number;
  dryRun: boolean;
  ids?: string[];
  /** Of `changed`, orders not selected but found from them (cancel --with-dependants): not among the ids. */
  dependants?: number;
}

/**
 * `Cancelled 3 orders (1 running: …; 2 already finished, left alone)`, or with a dry run
 * `Would cancel 3 orders (…): <ids> and 1 more; nothing changed`. `parts`: what it says in
 * brackets, in order, empty ones left out.
 */
export function steerLine(words: { would: string; did: string }, r: LineCounts, parts: string[]): string {
  const said = parts.filter(Boolean);
  const head = `${counted(r.changed, 'order')}${said.length ? ` (${said.join('; ')})` : ''}`;
  if (!r.dryRun) return `${words.did} ${head}`;
  const ids = r.ids ?? [];
  const more = r.changed - ids.length - (r.dependants ?? 0);
  const list = ids.length ? `: ${ids.join(', ')}${more > 0 ? ` and ${n(more)} more` : ''}${r.dependants ? ' (and the dependants)' : ''}` : '';
  return `Would ${words.would} ${head}${list}; nothing changed`;
}

/** The parts of a cancel's or a hold's line: running, stale, finished, busy (`ing`: cancelling, holding). */
export function stoppedParts(
  r: { dryRun: boolean; running: number; stale: number; finished: number; busy: number },
  ing: string,
): { running: string; stale: string; finished: string; busy: string } {
  if (r.dryRun) return { running: r.running ? `${n(r.running)} running` : '', stale: '', finished: r.finished ? `${n(r.finished)} finished, left alone` : '', busy: '' };
  return {
    running: r.running ? `${n(r.running)} running: ${r.running === 1 ? 'its waiter stops it' : 'their waiters stop them'} within one heartbeat` : '',
    stale: r.stale ? `${n(r.stale)} ${r.stale === 1 ? 'was stale: its waiter is' : 'were stale: their waiters are'} gone` : '',
    finished: r.finished ? `${n(r.finished)} already finished, left alone` : '',
    busy: r.busy ? `${n(r.busy)} taken over while ${ing}, left alone: try again` : '',
  };
}
