// The selection options steering commands share (cancel, hold, release, edit, reset): <ids…>, --where,
// --failed-with, and --status where the command takes one. argv -> a Selection
// (src/app/selection.ts checks it against the list).
import type { Argv } from 'yargs';
import { InputError, UsageError } from '../errors.js';
import { orderId, type State } from '../order.js';
import { whereOf, type Selection } from '../app/selection.js';
import { state } from './common.js';

/** The positional ids, --where and --failed-with (and --status unless the command has its own), described for `verb` ("cancel"). */
export function selectionBuilder(y: Argv, verb: string, statuses?: readonly State[]): Argv {
  const ids = y.positional('ids', { type: 'string', array: true, describe: `The orders to ${verb} (24 hex digits each)` });
  const withStatus = statuses
    ? ids.option('status', { type: 'string', describe: `${verb[0]!.toUpperCase()}${verb.slice(1)} the orders in this state (${statuses.join(', ')})` })
    : ids;
  return withStatus
    .option('where', {
      type: 'string',
      array: true,
      describe: 'Only orders whose named column (load --header, add --field) equals the value: name=value; or 1=value for the first argument (repeatable: all must hold)',
    })
    .option('failed-with', { type: 'string', describe: 'Only orders whose error contains this text (literally, not a pattern)' });
}

/** The Selection of argv: ids (a malformed one refused like an unknown one: exit 2), --where, --failed-with, and --status among `statuses` when given. */
export function selectionArgs(argv: Record<string, unknown>, verb: string, statuses?: readonly State[]): Selection {
  const ids = ((argv.ids as unknown[] | undefined) ?? []).map((x) => {
    try {
      return orderId(String(x).trim());
    } catch (err) {
      throw err instanceof InputError ? new UsageError(`${verb}: ${err.message}`) : err;
    }
  });
  const s: Selection = {};
  // yargs gives [] with no id at all: the shell leaves nothing of an empty $(…) to tell apart.
  if (ids.length) s.ids = ids;
  if (statuses && argv.status !== undefined) s.status = state('status', argv.status, statuses);
  // A bare --where (yargs: []) is refused, not dropped: dropped, `reset --where` reset every order.
  const where = argv.where as unknown[] | undefined;
  if (where !== undefined && where.length === 0)
    throw new UsageError(`${verb}: --where is empty: give name=value (a named column) or 1=value (an argument's place): nothing changed`);
  if (where) s.where = where.map((w) => whereOf(String(w)));
  if (argv['failed-with'] !== undefined) {
    const t = String(argv['failed-with']);
    // Empty text is in every error: it would select every failed order.
    if (t === '') throw new UsageError(`${verb}: --failed-with is empty: give some text of the error: nothing changed`);
    s.failedWith = t;
  }
  return s;
}
