// What cancel, hold and release share on the command line: the selection's options
// (ids | --status | --where | --failed-with, --dry-run, --reason), their parsing into a
// request, and the one line that says what was (or would be) changed.
import type { Argv } from 'yargs';
import { InputError, UsageError } from '../errors.js';
import { orderId, type State } from '../order.js';
import type { SteerRequest } from '../app/steer.js';
import { whereOf } from '../app/selection.js';
import { cliUser } from '../app/who.js';
import { counted } from '../words.js';
import { state } from './common.js';

/** A steering command's words: `cancel`, `cancelled`, the states --status takes. */
export interface Verb {
  verb: string;
  past: string;
  states: readonly State[];
}

export function steerBuilder(y: Argv, v: Verb) {
  const Verb = v.verb[0]!.toUpperCase() + v.verb.slice(1);
  return y
    .positional('ids', { type: 'string', array: true, describe: `The orders to ${v.verb} (24 hex digits each)` })
    .option('status', { type: 'string', describe: `${Verb} the orders in this state (${v.states.join(', ')})` })
    .option('where', {
      type: 'string',
      array: true,
      describe: 'Only orders whose named column (load --header, add --field) equals the value: name=value; or 1=value for the first argument (repeatable: all must hold)',
    })
    .option('failed-with', { type: 'string', describe: 'Only orders whose error contains this text (literally, not a pattern)' })
    .option('dry-run', { type: 'boolean', describe: `Print how many orders would be ${v.past} and the first ids; change nothing` })
    .option('reason', { type: 'string', describe: 'Why: kept with the order and shown by show' });
}

export function steerOptions(argv: Record<string, unknown>, v: Verb): SteerRequest {
  const ids = ((argv.ids as unknown[] | undefined) ?? []).map((x) => {
    try {
      return orderId(String(x).trim());
    } catch (err) {
      // An id that cannot be one is refused like an unknown one: exit 2, nothing changed.
      throw err instanceof InputError ? new UsageError(`${v.verb}: ${err.message}`) : err;
    }
  });
  const o: SteerRequest = { by: cliUser() };
  if (ids.length) o.ids = ids;
  if (argv.status !== undefined) o.status = state('status', argv.status, v.states);
  const where = (argv.where as unknown[] | undefined) ?? [];
  if (where.length) o.where = where.map((w) => whereOf(String(w)));
  if (argv['failed-with'] !== undefined) {
    const t = String(argv['failed-with']);
    if (t === '') throw new UsageError('--failed-with is empty: give some text of the error');
    o.failedWith = t;
  }
  if (argv['dry-run']) o.dryRun = true;
  if (argv.reason !== undefined && String(argv.reason).trim() !== '') o.reason = String(argv.reason);
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
